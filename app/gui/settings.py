"""The user's choices, kept between runs with QSettings (an INI file in the user config folder).

Why a thin typed wrapper: QSettings returns strings (or None) depending on the backend, so
every read here converts and falls back to a sane default, and the rest of the GUI reads
plain Python values. Tests pass their own INI path so they never touch the user's settings.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from app.routing import DEFAULT_ROUTES, parse_routes, routes_to_text

ORGANISATION = "zsl-tagger"
APPLICATION = "zsl-tagger"

FIELDS = ("genre", "mood", "grouping", "comment")
BY_KIND = ""  # the "field" setting that sends each kind of tag to its own field (app.routing)
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("fp32", "bf16", "auto")
DEFAULTS: dict[str, object] = {
    "model": "default",  # "default" or a model folder written by `zsl-core train`
    "vectors": "",  # word-vectors file for unseen words ("" = the model's own)
    "device": "auto",
    "precision": "fp32",  # the built-in model's arithmetic (results are kept per precision)
    "field": BY_KIND,  # "" = each kind to its field by `routes`; else one field for every tag
    "routes": routes_to_text(DEFAULT_ROUTES),  # KIND=FIELD lines (app.routing)
    "id3_version": 4,  # the ID3 version of tags we create
    "id3_convert": False,  # also convert existing ID3 tags to that version (else each file keeps its own)
    "vocabulary": "",  # a text file of candidate words ("" = the shipped vocabulary)
    "top_k": 5,
    "folders": [],
    "trained_models": [],  # model folders the user trained or added, offered in Settings
    # where the user left the window (restored on start)
    "state/sort_column": -1,  # the library table's sort column (-1: library order)
    "state/sort_order": 0,  # Qt.SortOrder: 0 ascending, 1 descending
    "state/search": "",  # the last search
    "state/tab": 0,  # 0 Library, 1 Search results
}


class Settings:
    """Typed access to the persisted settings. `path` (an INI file) is for tests and --settings."""

    def __init__(self, path: str | Path | None = None) -> None:
        if path is None:
            self.qsettings = QSettings(
                QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION
            )
        else:
            self.qsettings = QSettings(str(path), QSettings.Format.IniFormat)

    # --- typed values ------------------------------------------------------------------------
    def _str(self, key: str) -> str:
        value = self.qsettings.value(key, DEFAULTS[key])
        return str(value) if value is not None else str(DEFAULTS[key])

    def _int(self, key: str, low: int, high: int) -> int:
        try:
            value = int(self.qsettings.value(key, DEFAULTS[key]))
        except (TypeError, ValueError):
            return int(DEFAULTS[key])  # type: ignore[arg-type]
        return min(max(value, low), high)

    def _list(self, key: str) -> list[str]:
        value = self.qsettings.value(key, [])
        if value is None or value == "":
            return []
        if isinstance(value, str):
            return [value]
        return [str(v) for v in value if str(v)]

    @property
    def model(self) -> str:
        return self._str("model") or "default"

    @model.setter
    def model(self, value: str) -> None:
        self.qsettings.setValue("model", value or "default")

    @property
    def vectors(self) -> str:
        return self._str("vectors")

    @vectors.setter
    def vectors(self, value: str) -> None:
        self.qsettings.setValue("vectors", value or "")

    @property
    def device(self) -> str:
        value = self._str("device")
        return value if value in DEVICES else "auto"

    @device.setter
    def device(self, value: str) -> None:
        self.qsettings.setValue("device", value if value in DEVICES else "auto")

    @property
    def precision(self) -> str:
        value = self._str("precision")
        return value if value in PRECISIONS else "fp32"

    @precision.setter
    def precision(self, value: str) -> None:
        self.qsettings.setValue("precision", value if value in PRECISIONS else "fp32")

    @property
    def field(self) -> str:
        value = self._str("field")
        return value if value in FIELDS or value.startswith("custom:") else BY_KIND

    @property
    def routes(self) -> dict:
        """Which field each kind of tag goes to (defaults for lines that do not parse)."""
        try:
            return parse_routes(self._list("routes"))
        except ValueError:
            return dict(DEFAULT_ROUTES)

    @routes.setter
    def routes(self, value: dict) -> None:
        self.qsettings.setValue("routes", routes_to_text(value))

    @property
    def id3_convert(self) -> bool:
        return str(self.qsettings.value("id3_convert", False)).lower() in ("true", "1")

    @id3_convert.setter
    def id3_convert(self, value: bool) -> None:
        self.qsettings.setValue("id3_convert", bool(value))

    @field.setter
    def field(self, value: str) -> None:
        self.qsettings.setValue("field", value)

    @property
    def id3_version(self) -> int:
        return 3 if self._int("id3_version", 3, 4) == 3 else 4

    @id3_version.setter
    def id3_version(self, value: int) -> None:
        self.qsettings.setValue("id3_version", 3 if int(value) == 3 else 4)

    @property
    def vocabulary(self) -> str:
        return self._str("vocabulary")

    @vocabulary.setter
    def vocabulary(self, value: str) -> None:
        self.qsettings.setValue("vocabulary", value or "")

    @property
    def top_k(self) -> int:
        return self._int("top_k", 1, 50)

    @top_k.setter
    def top_k(self, value: int) -> None:
        self.qsettings.setValue("top_k", int(value))

    @property
    def folders(self) -> list[str]:
        return self._list("folders")

    @folders.setter
    def folders(self, value: list[str]) -> None:
        self.qsettings.setValue("folders", list(dict.fromkeys(value)))

    def add_folder(self, folder: str) -> None:
        self.folders = self.folders + [folder]

    @property
    def trained_models(self) -> list[str]:
        return self._list("trained_models")

    def add_trained_model(self, folder: str) -> None:
        self.qsettings.setValue(
            "trained_models", list(dict.fromkeys(self.trained_models + [folder]))
        )

    # --- where the user left the window -----------------------------------------------------
    @property
    def sort(self) -> tuple[int, int]:
        """The library table's (column, order); column -1 is the library's own order."""
        return self._int("state/sort_column", -1, 99), self._int("state/sort_order", 0, 1)

    @sort.setter
    def sort(self, value: tuple[int, int]) -> None:
        column, order = value
        self.qsettings.setValue("state/sort_column", int(column))
        self.qsettings.setValue("state/sort_order", 1 if int(order) else 0)

    @property
    def last_search(self) -> str:
        return self._str("state/search")

    @last_search.setter
    def last_search(self, value: str) -> None:
        self.qsettings.setValue("state/search", value or "")

    @property
    def tab(self) -> int:
        return self._int("state/tab", 0, 1)

    @tab.setter
    def tab(self, value: int) -> None:
        self.qsettings.setValue("state/tab", 1 if int(value) == 1 else 0)

    # --- window ------------------------------------------------------------------------------
    def window_state(self) -> tuple[QByteArray | None, QByteArray | None]:
        geometry = self.qsettings.value("window/geometry")
        state = self.qsettings.value("window/state")
        return (
            geometry if isinstance(geometry, QByteArray) else None,
            state if isinstance(state, QByteArray) else None,
        )

    def save_window_state(self, geometry: QByteArray, state: QByteArray) -> None:
        self.qsettings.setValue("window/geometry", geometry)
        self.qsettings.setValue("window/state", state)

    def sync(self) -> None:
        self.qsettings.sync()
