#!/usr/bin/env bash
# Add zsl-tagger to the desktop's application menu for the current user (freedesktop.org layout):
#   bash packaging/install_desktop.sh [PATH_TO_zsl-tagger]
# Default program: the bundle's own binary when this script is the copy inside a bundle
# (dist/zsl-tagger/install_desktop.sh), else the `zsl-tagger` found on PATH (pip install).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ -n "${1:-}" ]; then
    if [ ! -x "$1" ] || [ -d "$1" ]; then
        echo "install_desktop.sh: $1: not an executable program" >&2
        exit 1
    fi
    program="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"  # absolute: the menu runs it from anywhere
elif [ -x "$here/zsl-tagger" ]; then
    program="$here/zsl-tagger"
else
    program="$(command -v zsl-tagger || true)"
fi
if [ -z "$program" ]; then
    echo "install_desktop.sh: no zsl-tagger on PATH; pass the path of the program" >&2
    exit 1
fi
# The icon: the checkout's resources/ (beside packaging/) or the bundle's (_internal/resources/).
icon=""
for candidate in "$here/../resources/icons/zsl-tagger.svg" "$here/_internal/resources/icons/zsl-tagger.svg"; do
    if [ -f "$candidate" ]; then icon="$candidate"; break; fi
done
if [ -z "$icon" ]; then
    echo "install_desktop.sh: zsl-tagger.svg not found beside $here" >&2
    exit 1
fi
data="${XDG_DATA_HOME:-$HOME/.local/share}"
mkdir -p "$data/applications" "$data/icons/hicolor/scalable/apps" "$data/metainfo"
sed "s|^Exec=.*|Exec=\"$program\"|" "$here/linux/org.zsltagger.ZslTagger.desktop" \
    > "$data/applications/org.zsltagger.ZslTagger.desktop"
cp "$icon" "$data/icons/hicolor/scalable/apps/zsl-tagger.svg"
cp "$here/linux/org.zsltagger.ZslTagger.metainfo.xml" "$data/metainfo/"
command -v update-desktop-database >/dev/null && update-desktop-database "$data/applications" || true
echo "installed the menu entry for $program"
