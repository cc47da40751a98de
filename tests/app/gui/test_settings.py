"""app.gui.settings: every setting survives a round trip through QSettings, and a settings file
with bad values (edited by hand, written by an older version) reads as the declared defaults:
the app still starts."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from app.gui.settings import SETTINGS, Settings
from app.options import DEVICE, FIELD, ID3_CONVERT, ID3_NEW_VERSION, PRECISION, TOP_WRITE
from app.routing import DEFAULT_ROUTES
from zsl_core.tags import TagKind

DEFAULTS = {
    "model": "default",
    "vectors": "",
    "device": "auto",
    "precision": "fp32",
    "field": "",
    "id3_version": 4,
    "id3_convert": False,
    "vocabulary": "",
    "top_k": 3,
    "sort": (-1, 0),
    "last_search": "",
    "tab": 0,
    "folders": [],
    "trained_models": [],
}


def values(settings: Settings) -> dict:
    return {name: getattr(settings, name) for name in DEFAULTS}


def test_fresh_settings_are_the_declared_defaults(tmp_path):
    s = Settings(tmp_path / "s.ini")
    assert values(s) == DEFAULTS
    assert s.routes == DEFAULT_ROUTES
    assert s.device == DEVICE.default and s.precision == PRECISION.default
    assert s.top_k == TOP_WRITE.default and s.id3_version == ID3_NEW_VERSION.default
    assert s.id3_convert is ID3_CONVERT.default and s.field == FIELD.default


def test_round_trip(tmp_path):
    path = tmp_path / "s.ini"
    s = Settings(path)
    s.model = "/models/mine"
    s.vectors = "glove"
    s.device = "cpu"
    s.precision = "bf16"
    s.field = "custom:Energy"
    s.id3_version = 3
    s.id3_convert = True
    s.vocabulary = "/words.txt"
    s.top_k = 12
    s.sort = (3, 1)
    s.last_search = "sad piano"
    s.tab = 1
    s.folders = ["/music/a", "/music/b", "/music/a"]
    s.add_trained_model("/models/mine")
    s.routes = {**DEFAULT_ROUTES, TagKind.INSTRUMENT: "grouping"}
    s.sync()
    again = Settings(path)
    assert values(again) == {
        "model": "/models/mine",
        "vectors": "glove",
        "device": "cpu",
        "precision": "bf16",
        "field": "custom:Energy",
        "id3_version": 3,
        "id3_convert": True,
        "vocabulary": "/words.txt",
        "top_k": 12,
        "sort": (3, 1),
        "last_search": "sad piano",
        "tab": 1,
        "folders": ["/music/a", "/music/b"],
        "trained_models": ["/models/mine"],
    }
    assert again.routes[TagKind.INSTRUMENT] == "grouping"


def test_setters_refuse_values_outside_the_choices(tmp_path):
    s = Settings(tmp_path / "s.ini")
    s.device = "tpu"
    s.precision = "fp16"
    s.id3_version = 2  # type: ignore[assignment]  # refused at run time too
    assert (s.device, s.precision, s.id3_version) == ("auto", "fp32", 4)


BAD_INI = """[General]
model=
device=tpu
precision=fp16
field=colour
id3_version=seven
id3_convert=maybe
top=lots
routes=instrument=
vectors=
state\\sort_column=abc
state\\sort_order=9
state\\search=
state\\tab=-4
window\\geometry=not bytes
"""


def test_bad_stored_values_read_as_defaults(tmp_path):
    path = tmp_path / "s.ini"
    path.write_text(BAD_INI)
    s = Settings(path)
    got = values(s)
    assert got == {**DEFAULTS, "sort": (-1, 1)}  # order 9 is clamped to descending
    assert s.routes == DEFAULT_ROUTES
    assert s.window_state() == (None, None)


def test_out_of_range_numbers_are_clamped(tmp_path):
    path = tmp_path / "s.ini"
    path.write_text("[General]\ntop=500\nid3_version=2\nstate\\tab=7\n")
    s = Settings(path)
    assert (s.top_k, s.id3_version, s.tab) == (20, 3, 1)


def test_every_single_value_setting_reads_a_junk_value_without_raising(tmp_path):
    path = tmp_path / "s.ini"
    path.write_text(
        "[General]\n" + "".join(f"{o.name.replace('/', chr(92))}=@@junk\n" for o in SETTINGS)
    )
    s = Settings(path)
    for option in SETTINGS:
        value = s.read(option)
        assert value == option.default or isinstance(value, str), option.name


def test_settings_dialog_opens_on_bad_settings(qtbot, tmp_path):
    pytest.importorskip("pytestqt")
    from app.gui import create_app
    from app.gui.dialogs import SettingsDialog

    create_app()
    path = tmp_path / "s.ini"
    path.write_text(BAD_INI)
    dialog = SettingsDialog(Settings(path))
    qtbot.addWidget(dialog)
    assert dialog.device.currentIndex() == 0 and dialog.precision.currentIndex() == 0
    assert dialog.top_k.value() == 3
    assert (dialog.top_k.minimum(), dialog.top_k.maximum()) == (1, 20)
    assert dialog.apply() == set()  # nothing the user did not change is rewritten differently


def test_library_view_and_columns_round_trip(tmp_path):
    path = tmp_path / "s.ini"
    s = Settings(path)
    assert (s.library_view, s.columns) == ("tracks", [])  # never chosen: the defaults
    s.library_view, s.columns = "albums", ["title", "year"]
    s.sync()
    again = Settings(path)
    assert (again.library_view, again.columns) == ("albums", ["title", "year"])
    again.columns = ["title"]  # one value: INI files store it as a plain string
    again.sync()
    assert Settings(path).columns == ["title"]
    path.write_text("[General]\nstate\\library_view=shelves\n")
    assert Settings(path).library_view == "tracks"


def test_settings_say_how_a_vocabulary_file_declares_kinds(qtbot, tmp_path):
    """A vocabulary file's '# kind:' lines decide where its words are written: the field says
    how (no other place in the window did), and the panel's pointer to the routes names rows
    the dialog has (it named a "Tag kinds" section that does not exist)."""
    pytest.importorskip("pytestqt")
    from app.gui import create_app
    from app.gui.dialogs import SettingsDialog
    from app.gui.track_panel import TrackPanel

    create_app()
    dialog = SettingsDialog(Settings(tmp_path / "s.ini"))
    qtbot.addWidget(dialog)
    tip = dialog.vocabulary.toolTip()
    assert "# kind: mood" in tip and "moods.txt" in tip
    panel = TrackPanel()
    qtbot.addWidget(panel)
    assert "Tag kinds" not in panel.field.toolTip() and "go to" in panel.field.toolTip()
