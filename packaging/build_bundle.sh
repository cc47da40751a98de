#!/usr/bin/env bash
# Build the one-folder desktop bundle dist/zsl-tagger/ with PyInstaller, then (optionally)
# install it for the current user with a menu entry: `bash packaging/build_bundle.sh --install`.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv-bundle
.venv-bundle/bin/pip install -q . "pyinstaller>=6.10"
.venv-bundle/bin/pyinstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller \
    packaging/zsl-tagger.spec
echo "built dist/zsl-tagger/ (run dist/zsl-tagger/zsl-tagger)"

if [ "${1:-}" = "--install" ]; then
    bash packaging/install_desktop.sh "$PWD/dist/zsl-tagger/zsl-tagger"
fi
