"""The user's choices, kept between runs with QSettings (an INI file in the user config folder).

Why a thin typed wrapper: QSettings returns strings (or None) depending on the backend, so
every read here converts and falls back to a sane default, and the rest of the GUI reads
plain Python values. Tests pass their own INI path so they never touch the user's settings.
The options themselves (key, type, default, choices) are declared once in `app/options.py`
(and `zsl_core/options.py`), shared with the command lines; reading goes through
`Settings.read(option)`, so an edited or old INI file with a bad value falls back to the
declared default instead of stopping the app.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

from app.options import (
    BY_KIND,
    DEVICE,
    DEVICES,
    FIELD,
    ID3_CONVERT,
    ID3_NEW_VERSION,
    MODEL,
    PRECISION,
    PRECISIONS,
    TOP_WRITE,
    VECTORS,
    VOCABULARY,
    Id3Version,
    Option,
)
from app.routing import DEFAULT_ROUTES, parse_routes, routes_to_text
from zsl_core.tag_fields import STANDARD_FIELDS

__all__ = ["Settings", "FIELDS", "BY_KIND", "DEVICES", "PRECISIONS", "SETTINGS"]

ORGANISATION = "zsl-tagger"
APPLICATION = "zsl-tagger"

FIELDS = STANDARD_FIELDS  # what the field menus offer (custom:NAME is typed)

# Where the user left the window (restored on start): GUI-only, declared with the same Option.
# the library table's sort column (-1: the library's own order) and Qt.SortOrder (0, 1)
SORT_COLUMN: Option[int] = Option("state/sort_column", int, -1, low=-1, high=99)
SORT_ORDER: Option[int] = Option("state/sort_order", int, 0, low=0, high=1)
LAST_SEARCH: Option[str] = Option("state/search", str, "")
TAB: Option[int] = Option("state/tab", int, 0, low=0, high=1)  # 0 Library, 1 Search results
LIBRARY_VIEWS = ("tracks", "albums")
# the Library tab shows "tracks" (the flat table) or "albums" (grouped)
LIBRARY_VIEW: Option[str] = Option("state/library_view", str, "tracks", choices=LIBRARY_VIEWS)
COLUMNS_KEY = "state/columns"  # the library's shown columns by key (none stored: the defaults)
# The model before the last switch ("" = none): what File > Switch back restores.
PREVIOUS_MODEL: Option[str] = Option("previous_model", str, "")

# The settings that hold one value, each read through its Option (app.options): a stored value
# of the wrong type falls back to the declared default (or is clamped into range). The lists
# (folders, trained_models) and the routing table (app.routing) have their own readers below.
SETTINGS: tuple[Option[Any], ...] = (
    MODEL,  # "default" or a model folder written by `zsl-core train`
    VECTORS,  # word-vectors file for unseen words ("" = the model's own)
    DEVICE,
    PRECISION,  # the built-in model's arithmetic (results are kept per precision)
    FIELD,  # "" = each kind to its field by `routes`; else one field for every tag
    ID3_NEW_VERSION,  # the ID3 version of tags we create
    ID3_CONVERT,  # also convert existing ID3 tags to that version
    VOCABULARY,  # a text file of candidate words ("" = the shipped vocabulary)
    TOP_WRITE,  # "top": tags proposed per field (as `zsl-tagger write --top`)
    SORT_COLUMN,
    SORT_ORDER,
    LAST_SEARCH,
    TAB,
    LIBRARY_VIEW,
    PREVIOUS_MODEL,
)


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
    def read(self, option: Option[Any]) -> Any:
        """The stored value of `option` as its type; the default when absent or bad."""
        return option.coerce(self.qsettings.value(option.name))

    def write(self, option: Option[Any], value: Any) -> None:
        """Store `value` for `option` (a bad value stores the default, as reading would)."""
        self.qsettings.setValue(option.name, option.coerce(value))

    def _list(self, key: str) -> list[str]:
        value: Any = self.qsettings.value(key, [])  # a list, or one str for one item
        if value is None or value == "":
            return []
        if isinstance(value, str):
            return [value]
        return [str(v) for v in value if str(v)]

    @property
    def model(self) -> str:
        return str(self.read(MODEL) or "default")

    @model.setter
    def model(self, value: str) -> None:
        self.qsettings.setValue(MODEL.name, value or "default")

    @property
    def vectors(self) -> str:
        return str(self.read(VECTORS) or "")

    @vectors.setter
    def vectors(self, value: str) -> None:
        self.qsettings.setValue(VECTORS.name, value or "")

    @property
    def device(self) -> str:
        return str(self.read(DEVICE))

    @device.setter
    def device(self, value: str) -> None:
        self.write(DEVICE, value)

    @property
    def precision(self) -> str:
        return str(self.read(PRECISION))

    @precision.setter
    def precision(self, value: str) -> None:
        self.write(PRECISION, value)

    @property
    def field(self) -> str:
        return str(self.read(FIELD))

    @field.setter
    def field(self, value: str) -> None:
        self.qsettings.setValue(FIELD.name, value)

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
        return bool(self.read(ID3_CONVERT))

    @id3_convert.setter
    def id3_convert(self, value: bool) -> None:
        self.qsettings.setValue(ID3_CONVERT.name, bool(value))

    @property
    def id3_version(self) -> Id3Version:
        return 3 if int(self.read(ID3_NEW_VERSION)) == 3 else 4

    @id3_version.setter
    def id3_version(self, value: Id3Version) -> None:
        self.qsettings.setValue(ID3_NEW_VERSION.name, 3 if int(value) == 3 else 4)

    @property
    def vocabulary(self) -> str:
        return str(self.read(VOCABULARY))

    @vocabulary.setter
    def vocabulary(self, value: str) -> None:
        self.qsettings.setValue(VOCABULARY.name, value or "")

    @property
    def top_k(self) -> int:
        """Tags proposed (ticked, written) per field: the same budget as `zsl-tagger write`."""
        return int(self.read(TOP_WRITE))

    @top_k.setter
    def top_k(self, value: int) -> None:
        self.qsettings.setValue(TOP_WRITE.name, int(value))

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

    @property
    def previous_model(self) -> str:
        return str(self.read(PREVIOUS_MODEL) or "")

    def switch_model(self, model: str) -> None:
        """Make `model` the active one, remembering the current one for `switch_back`."""
        model = model or "default"
        if model != self.model:
            self.write(PREVIOUS_MODEL, self.model)
            if model != "default":
                self.add_trained_model(model)
            self.model = model

    def switch_back(self) -> str | None:
        """Return to the model before the last switch (itself undoable); None if there is none."""
        previous = self.previous_model
        if not previous or previous == self.model:
            return None
        self.switch_model(previous)
        return previous

    # --- where the user left the window -----------------------------------------------------
    @property
    def sort(self) -> tuple[int, int]:
        """The library table's (column, order); column -1 is the library's own order."""
        return int(self.read(SORT_COLUMN)), int(self.read(SORT_ORDER))

    @sort.setter
    def sort(self, value: tuple[int, int]) -> None:
        column, order = value
        self.qsettings.setValue(SORT_COLUMN.name, int(column))
        self.qsettings.setValue(SORT_ORDER.name, 1 if int(order) else 0)

    @property
    def last_search(self) -> str:
        return str(self.read(LAST_SEARCH))

    @last_search.setter
    def last_search(self, value: str) -> None:
        self.qsettings.setValue(LAST_SEARCH.name, value or "")

    @property
    def tab(self) -> int:
        return int(self.read(TAB))

    @tab.setter
    def tab(self, value: int) -> None:
        self.qsettings.setValue(TAB.name, 1 if int(value) == 1 else 0)

    @property
    def columns(self) -> list[str]:
        """The keys of the library columns the user chose to show (`app.gui.models.
        TRACK_COLUMNS`); empty until they choose (the columns' own defaults then)."""
        return self._list(COLUMNS_KEY)

    @columns.setter
    def columns(self, value: list[str]) -> None:
        self.qsettings.setValue(COLUMNS_KEY, [str(v) for v in value])

    @property
    def library_view(self) -> str:
        """The Library tab's view: "tracks" (the flat table) or "albums" (grouped)."""
        return self.read(LIBRARY_VIEW)

    @library_view.setter
    def library_view(self, value: str) -> None:
        self.write(LIBRARY_VIEW, value)

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
