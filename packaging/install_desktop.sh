#!/usr/bin/env bash
# Add zsl-tagger to the desktop's application menu for the current user (freedesktop.org layout):
#   bash packaging/install_desktop.sh [PATH_TO_zsl-tagger]
# Default program: the `zsl-tagger` found on PATH (pip install) — pass the bundle's binary otherwise.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
program="${1:-$(command -v zsl-tagger || true)}"
if [ -z "$program" ]; then
    echo "install_desktop.sh: no zsl-tagger on PATH; pass the path of the program" >&2
    exit 1
fi
data="${XDG_DATA_HOME:-$HOME/.local/share}"
mkdir -p "$data/applications" "$data/icons/hicolor/scalable/apps" "$data/metainfo"
sed "s|^Exec=.*|Exec=\"$program\"|" "$here/linux/org.zsltagger.ZslTagger.desktop" \
    > "$data/applications/org.zsltagger.ZslTagger.desktop"
cp "$here/../resources/icons/zsl-tagger.svg" "$data/icons/hicolor/scalable/apps/zsl-tagger.svg"
cp "$here/linux/org.zsltagger.ZslTagger.metainfo.xml" "$data/metainfo/"
command -v update-desktop-database >/dev/null && update-desktop-database "$data/applications" || true
echo "installed the menu entry for $program"
