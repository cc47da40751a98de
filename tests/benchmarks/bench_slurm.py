"""Benchmark: the catalogue recipe on a real job system, a single-node Slurm (issue 17, item 5).

Not part of the test run; needs root (it installs packages and starts daemons). In one run it

1. installs Slurm and MUNGE from Debian packages if missing (`apt-get install -y slurm-wlm munge`);
2. renders --tracks tracks with `zsl-core synth` into a throw-away folder;
3. writes a minimal slurm.conf for this host (one node, CPUs from nproc, no accounting, no cgroup
   plugins: proctrack/linuxproc, task/none; its own ports, state and spool under the work folder),
   starts munged (its own key and socket), slurmctld and slurmd as root, in the foreground as
   children of this process, talking over 127.0.0.1;
4. submits an array job, `sbatch --array=0-(n-1)`, whose task i runs
   `zsl-core embed FOLDER --shard i/n --windows 8 --out part-i.npz`, and waits for it (bounded);
5. `zsl-tagger import part-*.npz` into a fresh library (`--db`), `zsl-tagger scan FOLDER` into
   another, and `zsl-tagger search --json` over both: same tracks, same top hits and scores;
6. stops the daemons and removes everything it made (unless --keep).

    python tests/benchmarks/bench_slurm.py --tracks 12 --seconds 60 --shards 3 --out tests/benchmarks/results/slurm.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUERIES = ["calm piano", "electronic", "rock guitar", "jazz", "strings"]


class Failure(Exception):
    pass


def sh(
    cmd: list[str], timeout: float = 120, env: dict | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )
    if check and proc.returncode != 0:
        raise Failure(
            f"{' '.join(cmd[:3])}... exited {proc.returncode}: {(proc.stderr or proc.stdout).strip()[-800:]}"
        )
    return proc


def ensure_slurm(log: list) -> dict:
    need = [
        name
        for name in ("sbatch", "squeue", "scontrol", "slurmctld", "slurmd", "munged")
        if not shutil.which(name) and not os.path.exists(f"/usr/sbin/{name}")
    ]
    if not need:
        return {"installed_now": False}
    started = time.perf_counter()
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    proc = sh(
        ["apt-get", "install", "-y", "--no-install-recommends", "slurm-wlm", "munge"],
        timeout=600,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        sh(["apt-get", "update"], timeout=300, env=env)
        sh(
            ["apt-get", "install", "-y", "--no-install-recommends", "slurm-wlm", "munge"],
            timeout=600,
            env=env,
        )
    log.append(f"installed slurm-wlm munge (missing: {', '.join(need)})")
    return {"installed_now": True, "install_seconds": round(time.perf_counter() - started, 1)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def slurm_version() -> str:
    return sh(["slurmd", "-V"], check=False).stdout.strip()  # sinfo -V wants a config first


def write_conf(work: Path, host: str, cpus: int) -> Path:
    for sub in ("state", "spool", "log", "munge"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    conf = work / "slurm.conf"
    conf.write_text(f"""# written by tests/benchmarks/bench_slurm.py: one node, no accounting, no cgroups
ClusterName=zslbench
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={work}/munge/munge.socket
CredType=cred/munge
StateSaveLocation={work}/state
SlurmdSpoolDir={work}/spool
SlurmctldPidFile={work}/slurmctld.pid
SlurmdPidFile={work}/slurmd.pid
SlurmctldLogFile={work}/log/slurmctld.log
SlurmdLogFile={work}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
MailProg=/bin/true
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
ReturnToService=2
MinJobAge=600
SlurmdTimeout=60
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN
PartitionName=bench Nodes={host} Default=YES MaxTime=INFINITE State=UP
""")
    return conf


class Daemons:
    def __init__(self, work: Path, conf: Path) -> None:
        self.work, self.conf = work, conf
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.env = {**os.environ, "SLURM_CONF": str(conf)}

    def start(self, name: str, cmd: list[str]) -> None:
        out = open(self.work / "log" / f"{name}.stdout", "w")  # the daemon keeps it
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
        )
        self.procs.append((name, proc))
        time.sleep(1.0)
        if proc.poll() is not None:
            raise Failure(f"{name} exited at once ({proc.returncode}): {self.tail(name)}")

    def tail(self, name: str) -> str:
        text = ""
        for path in (self.work / "log" / f"{name}.stdout", self.work / "log" / f"{name}.log"):
            if path.exists():
                text += path.read_text(errors="replace")
        return " | ".join(text.strip().splitlines()[-8:])

    def start_all(self, cpus: int) -> None:
        munge = self.work / "munge"
        key = munge / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        self.start(
            "munged",
            [
                "munged",
                "--foreground",
                "--force",
                f"--socket={munge}/munge.socket",
                f"--key-file={key}",
                f"--pid-file={munge}/munged.pid",
                f"--log-file={self.work}/log/munged.log",
                f"--seed-file={munge}/munged.seed",
            ],
        )
        self.start("slurmctld", ["slurmctld", "-D", "-i", "-f", str(self.conf)])
        self.start("slurmd", ["slurmd", "-D", "-f", str(self.conf)])
        deadline = time.time() + 60
        while time.time() < deadline:
            state = sh(["sinfo", "-h", "-N", "-o", "%T %c"], env=self.env, check=False)
            if state.returncode == 0 and state.stdout.strip().startswith("idle"):
                return
            for name, proc in self.procs:
                if proc.poll() is not None:
                    raise Failure(f"{name} died ({proc.returncode}): {self.tail(name)}")
            time.sleep(1)
        raise Failure(
            f"node not idle after 60 s: sinfo says {state.stdout.strip() or state.stderr.strip()}; "
            f"slurmd: {self.tail('slurmd')}"
        )

    def stop(self) -> list[str]:
        stopped = []
        for name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
            stopped.append(f"{name} (pid {proc.pid}) exit {proc.returncode}")
        self.procs = []
        return stopped


def job_tasks(env: dict, job_id: str) -> list[dict]:
    out = sh(["scontrol", "-o", "show", "job", job_id], env=env, check=False).stdout
    tasks = []
    for line in out.splitlines():
        fields = dict(item.split("=", 1) for item in line.split() if "=" in item)
        if "ArrayTaskId" in fields and fields["ArrayTaskId"].isdigit():
            tasks.append(
                {
                    k: fields.get(k)
                    for k in (
                        "ArrayTaskId",
                        "JobState",
                        "ExitCode",
                        "RunTime",
                        "StartTime",
                        "EndTime",
                        "NodeList",
                    )
                }
            )
    return sorted(tasks, key=lambda t: int(t["ArrayTaskId"]))


def search(cli: str, db: Path, query: str, top: int) -> list[dict]:
    proc = sh(
        [cli, "search", query, "--top", str(top), "--json", "--db", str(db)],
        timeout=300,
        check=False,
    )
    if proc.returncode not in (0, 1):
        raise Failure(f"search {query!r} exited {proc.returncode}: {proc.stderr.strip()[-400:]}")
    text = proc.stdout.strip()
    return json.loads(text) if text else []


def hits(result: list[dict]) -> list[tuple[str, float]]:
    """(path, score) of each hit of `zsl-tagger search --json` (a list of hit objects)."""
    return [(str(row["path"]), round(float(row["score"]), 4)) for row in result]


def tracks_in(db: Path) -> dict[str, bytes]:
    """display path -> its stored seen-label scores (bytes), for every analysed track."""
    conn = sqlite3.connect(db)
    try:
        return {
            r[0]: bytes(r[1])
            for r in conn.execute(
                "SELECT t.display_path, r.seen_scores FROM tracks t JOIN results r ON r.track_id = t.id"
            )
        }
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--shards", type=int, default=3)
    parser.add_argument("--windows", type=int, default=8)
    parser.add_argument("--cpus-per-task", type=int, default=1)
    parser.add_argument(
        "--job-timeout", type=float, default=600.0, help="seconds to wait for the array job"
    )
    parser.add_argument(
        "--work", type=Path, default=None, help="work folder (default: a new temporary one)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON report here")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit(
            "bench_slurm.py runs as root (it installs packages and starts slurmctld/slurmd/munged)"
        )

    work = args.work or Path(tempfile.mkdtemp(prefix="zsl-slurm-"))
    work.mkdir(parents=True, exist_ok=True)
    bindir = Path(sys.executable).parent
    core = shutil.which("zsl-core", path=str(bindir)) or shutil.which("zsl-core")
    tagger = shutil.which("zsl-tagger", path=str(bindir)) or shutil.which("zsl-tagger")
    if core is None or tagger is None:
        raise SystemExit("zsl-core / zsl-tagger not found: pip install -e . first")
    log: list[str] = []
    report: dict = {
        "host": socket.gethostname(),
        "cpus": os.cpu_count(),
        "tracks": args.tracks,
        "track_seconds": args.seconds,
        "shards": args.shards,
        "windows": args.windows,
        "log": log,
    }
    daemons = None
    started_all = time.perf_counter()
    try:
        report["slurm_install"] = ensure_slurm(log)
        report["slurm_version"] = slurm_version()

        t = time.perf_counter()
        sh(
            [
                core,
                "synth",
                "--out",
                str(work / "corpus"),
                "--tracks",
                str(args.tracks),
                "--seconds",
                str(args.seconds),
                "--seed",
                "11",
                "--quiet",
            ],
            timeout=600,
        )
        folder = work / "corpus" / "audio"
        report["synth_seconds"] = round(time.perf_counter() - t, 1)

        host = socket.gethostname().split(".")[0]
        cpus = os.cpu_count() or 1
        conf = write_conf(work, host, cpus)
        daemons = Daemons(work, conf)
        t = time.perf_counter()
        daemons.start_all(cpus)
        report["daemons_up_seconds"] = round(time.perf_counter() - t, 1)
        report["sinfo"] = sh(["sinfo", "-N", "-o", "%N %T %c %P"], env=daemons.env).stdout.strip()
        if shutil.which(
            "ss"
        ):  # where the daemons listen (Slurm binds every address; clients use 127.0.0.1)
            pids = {str(p.pid) for _, p in daemons.procs}
            report["listening"] = [
                line.split()[3] + " " + line.split()[-1].split('"')[1]
                for line in sh(["ss", "-ltnpH"], check=False).stdout.splitlines()
                if any(f"pid={pid}," in line for pid in pids)
            ]

        parts = work / "parts"
        (work / "joblogs").mkdir()
        parts.mkdir()
        script = work / "embed.sbatch"
        script.write_text(f"""#!/bin/bash
#SBATCH --job-name=zsl-embed
#SBATCH --cpus-per-task={args.cpus_per_task}
#SBATCH --output={work}/joblogs/embed-%A_%a.out
export OMP_NUM_THREADS=${{SLURM_CPUS_PER_TASK:-1}}
i=$SLURM_ARRAY_TASK_ID
exec {core} embed {folder} --shard $i/{args.shards} --windows {args.windows} --quiet --out {parts}/part-$i.npz
""")
        t = time.perf_counter()
        submitted = sh(
            ["sbatch", "--parsable", f"--array=0-{args.shards - 1}", str(script)], env=daemons.env
        )
        job_id = submitted.stdout.strip().split(";")[0]
        report["sbatch"] = f"sbatch --parsable --array=0-{args.shards - 1} embed.sbatch -> {job_id}"
        deadline = time.time() + args.job_timeout
        while True:
            queued = sh(
                ["squeue", "-h", "-j", job_id, "-o", "%i %T"], env=daemons.env, check=False
            ).stdout.strip()
            if not queued:
                break
            if time.time() > deadline:
                sh(["scancel", job_id], env=daemons.env, check=False)
                for _ in range(15):  # let the cancelled tasks end before the daemons stop
                    if not sh(
                        ["squeue", "-h", "-j", job_id], env=daemons.env, check=False
                    ).stdout.strip():
                        break
                    time.sleep(1)
                raise Failure(
                    f"array job {job_id} not done after {args.job_timeout:.0f} s (cancelled): {queued}"
                )
            time.sleep(1)
        job_seconds = time.perf_counter() - t
        tasks = job_tasks(daemons.env, job_id)
        report["array_job"] = {
            "job_id": job_id,
            "wall_seconds": round(job_seconds, 1),
            "tracks_per_s": round(args.tracks / job_seconds, 2),
            "tasks": tasks,
        }
        report["task_logs"] = {
            p.name: p.read_text(errors="replace").strip()[-300:]
            for p in sorted((work / "joblogs").iterdir())
        }
        part_files = sorted(parts.glob("part-*.npz"))
        bad = [t for t in tasks if t["JobState"] != "COMPLETED"]
        if bad or len(part_files) != args.shards:
            raise Failure(
                f"array tasks not all completed: {bad or tasks}; parts {len(part_files)}; "
                f"logs {report['task_logs']}"
            )

        slurm_db, direct_db = work / "slurm-library.sqlite3", work / "direct-library.sqlite3"
        t = time.perf_counter()
        imported = sh([tagger, "import", *map(str, part_files), "--db", str(slurm_db)], timeout=300)
        report["import"] = {
            "seconds": round(time.perf_counter() - t, 1),
            "output": imported.stdout.strip(),
        }
        t = time.perf_counter()
        scanned = sh(
            [tagger, "scan", str(folder), "--windows", str(args.windows), "--db", str(direct_db)],
            timeout=900,
            check=False,
        )
        scan_seconds = time.perf_counter() - t
        report["direct_scan"] = {
            "seconds": round(scan_seconds, 1),
            "tracks_per_s": round(args.tracks / scan_seconds, 2),
            "rc": scanned.returncode,
            "output": scanned.stdout.strip()[-300:],
        }
        a, b = tracks_in(slurm_db), tracks_in(direct_db)
        report["same_tracks"] = set(a) == set(b)
        report["identical_seen_scores"] = sum(a[p] == b.get(p) for p in a)
        report["track_counts"] = {"slurm_import": len(a), "direct_scan": len(b)}
        comparisons = []
        for query in QUERIES:
            via_slurm, direct = (
                hits(search(tagger, slurm_db, query, 5)),
                hits(search(tagger, direct_db, query, 5)),
            )
            comparisons.append(
                {
                    "query": query,
                    "same_paths": [p for p, _ in via_slurm] == [p for p, _ in direct],
                    "max_score_diff": max(
                        (abs(x[1] - y[1]) for x, y in zip(via_slurm, direct, strict=False)),
                        default=0.0,
                    ),
                    "hits": len(via_slurm),
                    "top": via_slurm[:3],
                }
            )
        report["searches"] = comparisons
        report["same_top_hits"] = all(c["same_paths"] for c in comparisons)
        report["ok"] = report["same_tracks"] and report["same_top_hits"]
    except (Failure, subprocess.TimeoutExpired, OSError) as exc:
        report["ok"] = False
        report["error"] = str(exc)
    finally:
        if daemons is not None:
            report["stopped"] = daemons.stop()
            if not report.get("ok"):
                report["daemon_logs"] = {
                    n: daemons.tail(n) for n in ("munged", "slurmctld", "slurmd")
                }
        report["total_seconds"] = round(time.perf_counter() - started_all, 1)
        if args.keep:
            report["work"] = str(work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    sys.exit(0 if report.get("ok") else 1)


if __name__ == "__main__":
    main()
