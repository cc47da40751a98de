#!/usr/bin/env bash
# The GPU measurements of issue 17 (item 4) in one go, for a session that has a GPU machine.
#
#   bash tests/benchmarks/gpu_check.sh                      # CUDA, results under $OUT (else /tmp/gpu_check)
#   bash tests/benchmarks/gpu_check.sh --device cpu --quick # the same steps, small, on a CPU (proves the script)
#   bash tests/benchmarks/gpu_check.sh --out DIR --tracks 96 --seconds 120
#
# Steps (each under its own timeout; a failing step prints its error and the rest still run):
#   env     nvidia-smi summary, torch and CUDA versions
#   scan    bench_gpu_scan.py: N generated tracks (half mp3), decode only / model only / Library.scan
#           on --device, GPU utilisation sampled every 200 ms -> is the scan decode-bound?
#   model   bench_model.py: the paper's model, training steps through the real trainer + batched inference
#   data    bench_data.py --device: the training data path against the model step (8 loader workers)
#   ddp     ddp_smoke.py under torchrun, 1 process (NCCL on CUDA, gloo on CPU): 3 epochs
# Then one JSON summary on stdout (also $DIR/summary.json). Budget: about 5-6 minutes on an 8-16-core
# GPU machine with the defaults (the timeouts add up to 8 min at most); --quick takes about 2 min on 2 cores.
set -u

DEVICE=cuda
DIR="${OUT:-/tmp/gpu_check}"
TRACKS=96
SECONDS_PER_TRACK=120
QUICK=0
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE="$2"; shift 2 ;;
    --out) DIR="$2"; shift 2 ;;
    --tracks) TRACKS="$2"; shift 2 ;;
    --seconds) SECONDS_PER_TRACK="$2"; shift 2 ;;
    --quick) QUICK=1; shift ;;
    -h|--help) sed -n 2,20p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
if [ -z "${VIRTUAL_ENV:-}" ] && [ -x "$ROOT/.venv/bin/python" ]; then
  PY="$ROOT/.venv/bin/python"; export PATH="$ROOT/.venv/bin:$PATH"
else
  PY="$(command -v python3 || command -v python)"
fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$DIR"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

if [ "$QUICK" = 1 ]; then
  TRACKS=6; SECONDS_PER_TRACK=30
  MODEL_ARGS=(--steps 5 --tracks 40 --infer-batch 64)
  DATA_ARGS=(--tracks 200 --batches 10 --steps 5 --repeats 1 --workers 0)
  SCAN_ROUNDS=1
else
  MODEL_ARGS=(--steps 200 --tracks 2000 --infer-batch 1024)
  [ "$DEVICE" != cpu ] && MODEL_ARGS+=(--device cpu)  # the CPU rows too: GPU/CPU ratios in one run
  DATA_ARGS=(--workers 8 --batches 400 --steps 200 --repeats 1)
  SCAN_ROUNDS=3
fi

STEPS=()
step() {  # step NAME TIMEOUT_S COMMAND...: stdout -> $DIR/NAME.out, stderr -> $DIR/NAME.err
  local name="$1" limit="$2"; shift 2
  local started=$(date +%s.%N)
  echo "== $name: $*" >&2
  timeout --kill-after 10 "$limit" "$@" > "$DIR/$name.out" 2> "$DIR/$name.err" < /dev/null
  local rc=$?
  local took=$(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $started}")
  if [ $rc -ne 0 ]; then
    echo "!! $name failed (rc $rc after ${took}s$( { [ $rc = 124 ] || [ $rc = 137 ]; } && echo ', timed out')); last lines of its stderr:" >&2
    tail -n 15 "$DIR/$name.err" >&2
  else
    echo "   $name ok in ${took}s" >&2
  fi
  STEPS+=("$name:$rc:$took")
}

env_info() {
  if command -v nvidia-smi > /dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used,utilization.gpu,power.limit,clocks.max.sm \
      --format=csv
    nvidia-smi -L
  else
    echo "nvidia-smi: not found"
  fi
  echo "cpu cores: $(nproc); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
  "$PY" -c 'import json, torch; print(json.dumps({"torch": torch.__version__, "cuda_build": torch.version.cuda,
"cuda_available": torch.cuda.is_available(), "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}))'
}

export -f env_info; export PY
step env 30 bash -c env_info
step scan 180 "$PY" tests/benchmarks/bench_gpu_scan.py --device "$DEVICE" --make "$TRACKS" \
  --seconds "$SECONDS_PER_TRACK" --corpus "$WORK/corpus" --rounds "$SCAN_ROUNDS" --gpu-log "$DIR/gpu_util.csv"
step model 90 "$PY" tests/benchmarks/bench_model.py --device "$DEVICE" "${MODEL_ARGS[@]}"
step data 120 "$PY" tests/benchmarks/bench_data.py --device "$DEVICE" "${DATA_ARGS[@]}"
step ddp 60 "$PY" -m torch.distributed.run --standalone --nproc_per_node 1 \
  tests/benchmarks/ddp_smoke.py "$WORK/ddp" "$DEVICE"

cat "$DIR/env.out" >&2
"$PY" - "$DIR" "$DEVICE" "${STEPS[@]}" <<'EOF' | tee "$DIR/summary.json"
import json, sys
from pathlib import Path

folder, device, steps = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
summary = {"device": device, "folder": str(folder), "steps": {}}
for item in steps:
    name, rc, seconds = item.split(":")
    entry = {"ok": rc == "0", "rc": int(rc), "seconds": float(seconds)}
    lines = (folder / f"{name}.out").read_text(errors="replace").splitlines()
    results = []
    for line in lines:
        line = line.strip()
        if line.startswith("{"):
            try:
                results.append(json.loads(line))
            except ValueError:
                pass
    if results:
        entry["results"] = results if len(results) > 1 else results[0]
    if rc != "0":
        err = (folder / f"{name}.err").read_text(errors="replace").strip().splitlines()
        entry["error"] = err[-1] if err else f"exit status {rc}"
    summary["steps"][name] = entry
scan = summary["steps"].get("scan", {}).get("results")
if isinstance(scan, dict):
    summary["scan_headline"] = {k: scan.get(k) for k in ("bound_by", "scan_vs_decode_only", "scan_vs_model_only")}
    summary["scan_headline"]["tracks_per_s"] = {k: scan[k]["tracks_per_s"]
                                                for k in ("decode_only", "model_only", "library_scan") if k in scan}
    util = scan.get("gpu_utilisation", {}).get("library_scan")
    if util:
        summary["scan_headline"]["gpu_util_during_scan_mean_pct"] = util["util_mean_pct"]
summary["all_ok"] = all(s["ok"] for s in summary["steps"].values())
print(json.dumps(summary, indent=1))
EOF
