"""The desktop integration files: menu entry, AppStream metadata, icon, bundle recipe."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINUX = ROOT / "packaging" / "linux"
DESKTOP = LINUX / "org.zsltagger.ZslTagger.desktop"
METAINFO = LINUX / "org.zsltagger.ZslTagger.metainfo.xml"
ICON = ROOT / "resources" / "icons" / "zsl-tagger.svg"


def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive in desktop files
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_entry_launches_the_program_with_our_icon():
    entry = desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Exec"].split()[0] == "zsl-tagger"
    assert entry["Terminal"] == "false"
    assert (ROOT / "resources" / "icons" / f"{entry['Icon']}.svg").is_file()
    assert "Audio" in entry["Categories"].split(";")


def test_appstream_metadata_names_the_desktop_entry_and_the_licence():
    component = ET.parse(METAINFO).getroot()
    assert component.get("type") == "desktop-application"
    assert component.findtext("id") + ".desktop" == DESKTOP.name
    assert component.find("launchable").text == DESKTOP.name
    assert component.findtext("project_license") == "MIT"
    assert component.find("provides/binary").text == "zsl-tagger"


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_desktop_entry_passes_the_freedesktop_validator():
    result = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstream not installed")
def test_appstream_metadata_passes_appstreamcli():
    result = subprocess.run(["appstreamcli", "validate", "--no-net", str(METAINFO)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_icon_is_a_valid_svg_that_qt_renders(qapp):
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(ICON))
    assert renderer.isValid()
    assert renderer.defaultSize().width() == renderer.defaultSize().height() == 256


def test_bundle_recipe_and_launcher_are_valid_python():
    for name in ("zsl-tagger.spec", "launcher.py"):
        source = (ROOT / "packaging" / name).read_text(encoding="utf-8")
        compile(source, name, "exec")
    spec = (ROOT / "packaging" / "zsl-tagger.spec").read_text(encoding="utf-8")
    assert '"resources"' in spec and "launcher.py" in spec
