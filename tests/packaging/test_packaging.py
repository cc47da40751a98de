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


class CaseSensitiveParser(configparser.ConfigParser):
    """Keys are case-sensitive in desktop files (ConfigParser lowercases them)."""

    def optionxform(self, optionstr: str) -> str:
        return optionstr


def desktop_entry() -> configparser.SectionProxy:
    parser = CaseSensitiveParser(interpolation=None)
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
    assert f"{component.findtext('id')}.desktop" == DESKTOP.name
    assert component.findtext("launchable") == DESKTOP.name
    assert component.findtext("project_license") == "MIT"
    assert component.findtext("provides/binary") == "zsl-tagger"


@pytest.mark.skipif(
    shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed"
)
def test_desktop_entry_passes_the_freedesktop_validator():
    result = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstream not installed")
def test_appstream_metadata_passes_appstreamcli():
    result = subprocess.run(
        ["appstreamcli", "validate", "--no-net", str(METAINFO)], capture_output=True, text=True
    )
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


def test_bundle_launcher_turns_spawned_workers_into_workers_before_the_app_starts():
    """The frozen scan spawns its decoders by re-running the bundle's executable: without
    freeze_support() first, each worker would open a second app instead of decoding."""
    source = (ROOT / "packaging" / "launcher.py").read_text(encoding="utf-8")
    assert source.index("multiprocessing.freeze_support()") < source.index("main()")


def test_bundle_recipe_ships_the_resources_where_the_frozen_app_looks_for_them():
    """In the bundle zsl_core's modules sit at the bundle's top (sys._MEIPASS/zsl_core), so
    resources_dir() (the folder beside the zsl_core package) is the collected "resources"."""
    from zsl_core.resources import resources_dir

    assert resources_dir().name == "resources"
    assert resources_dir().parent == (ROOT / "zsl_core").parent
    spec = (ROOT / "packaging" / "zsl-tagger.spec").read_text(encoding="utf-8")
    assert '(str(root / "resources"), "resources")' in spec


def test_bundle_build_outputs_are_not_committed():
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    for path in (".venv-bundle/", "build/", "dist/"):
        assert path in ignored
    script = (ROOT / "packaging" / "build_bundle.sh").read_text(encoding="utf-8")
    assert ".venv-bundle" in script and "--distpath dist" in script and "build/" in script


def test_install_desktop_writes_the_menu_entry_for_the_given_program(tmp_path):
    program = tmp_path / "bundle" / "zsl-tagger"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "share")}
    result = subprocess.run(
        ["bash", str(ROOT / "packaging" / "install_desktop.sh"), str(program)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    entry = (tmp_path / "share" / "applications" / DESKTOP.name).read_text(encoding="utf-8")
    assert f'Exec="{program}"' in entry.splitlines()
    assert (
        tmp_path / "share" / "icons" / "hicolor" / "scalable" / "apps" / "zsl-tagger.svg"
    ).is_file()
    assert (tmp_path / "share" / "metainfo" / METAINFO.name).is_file()

    missing = subprocess.run(
        ["bash", str(ROOT / "packaging" / "install_desktop.sh"), str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert missing.returncode == 1 and "not an executable program" in missing.stderr
