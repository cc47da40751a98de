#!/usr/bin/env bash
# Build the one-folder desktop bundle dist/zsl-tagger/ with PyInstaller, then (optionally)
# install it for the current user with a menu entry: `bash packaging/build_bundle.sh --install`.
#
# The build venv is .venv-bundle (kept between builds: a rebuild reinstalls only what changed).
# By default torch comes from PyPI, whose Linux wheel is the CUDA build (a ~4 GB bundle that runs
# on CPU and on NVIDIA GPUs). TORCH_INDEX_URL=<a PyTorch wheel index, e.g. its CPU one> installs
# torch/torchaudio from there first, for a smaller CPU-only bundle. See packaging/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

python3 -m venv .venv-bundle
if [ -n "${TORCH_INDEX_URL:-}" ]; then
    .venv-bundle/bin/pip install -q "torch==2.11.0" "torchaudio==2.11.0" --index-url "$TORCH_INDEX_URL"
fi
.venv-bundle/bin/pip install -q . "pyinstaller>=6.10"
.venv-bundle/bin/pyinstaller --noconfirm --clean --log-level WARN --distpath dist \
    --workpath build/pyinstaller packaging/zsl-tagger.spec
# The menu-entry installer travels with the bundle: dist/zsl-tagger/install_desktop.sh.
mkdir -p dist/zsl-tagger/linux
cp packaging/install_desktop.sh dist/zsl-tagger/
cp packaging/linux/org.zsltagger.ZslTagger.desktop packaging/linux/org.zsltagger.ZslTagger.metainfo.xml \
    dist/zsl-tagger/linux/
echo "built dist/zsl-tagger/ ($(du -sh dist/zsl-tagger | cut -f1), $(( $(date +%s) - start )) s);" \
     "run dist/zsl-tagger/zsl-tagger"

if [ "${1:-}" = "--install" ]; then
    bash packaging/install_desktop.sh "$PWD/dist/zsl-tagger/zsl-tagger"
fi
