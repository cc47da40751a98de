"""The search controller: the typed query, debounced, run in the library thread; only the
newest search's result is delivered (one typed on since is dropped).

`begin()` hands out the sequence number that makes a result stale, so other searches ("More
like this") share the rule: whichever was asked last is what the results tab shows.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.gui.controllers.library import LibraryController
from app.gui.settings import Settings

SEARCH_DEBOUNCE_MS = 150
SEARCH_TOP = 50


SEARCH_HINT = (
    "Type in the search box above (Ctrl+F): sounds and moods (“calm piano”, “fast guitar”), "
    "names (“artist:muse”) or filters (“genre:rock -live”, “year:1990-1999”)."
)


def shown_weak(result: Any) -> list[Any]:
    """The tracks to list when nothing clears the relevance floor: the closest few, which the
    results line calls weak (`results_info`); none for a query that ranked nothing."""
    return list(getattr(result, "closest", []) or [])


def results_info(query: str, result: Any) -> str:
    """The line above the hits: how many, and what the search said about the words."""
    weak = [] if result.hits else shown_weak(result)
    missing = list(getattr(result, "missing_words", None) or [])
    if weak:
        info = (
            f"No good match for “{query}” · the {len(weak)} closest, all weak "
            "(below the relevance floor)"
        )
        if missing:
            info += f" · ignored: {', '.join(missing)}"
    elif not result.hits:  # not "0 track(s) for ...; no good match"
        info = f"No good match for “{query}”"
        if missing:
            info += f" · not a word the model knows nor in any track's text: {', '.join(missing)}"
    else:
        info = f"{len(result.hits)} track(s) for “{query}”"
        message = getattr(result, "message", None)
        if message:
            info += f" · {message}"
    return info


def failed_text(query: str, message: str) -> str:
    return f"The search for “{query}” failed: {message}"


def no_results_text(query: str, result: Any, library_empty: bool) -> str:
    """What the results area says when a search found nothing: why, and what to try."""
    if result.hits:
        return ""
    if library_empty:
        return (
            "Your library is empty, so there is nothing to search yet.\n"
            "Add a music folder (File ▸ Add music folder, or drop one on this window); every track "
            "is analysed once, then search by sound or name."
        )
    lines = [f"No good match for “{query}”."]
    missing = list(getattr(result, "missing_words", []) or [])
    if missing:
        lines.append(f"Not a word the model knows nor in any track's text: {', '.join(missing)}.")
    lines.append(
        "Try other or fewer words (“calm piano”, “fast guitar”), a name (“artist:muse”), "
        "or clear the search (Esc) to see the library."
    )
    return "\n".join(lines)


class SearchController(QObject):
    """Signals: results(query, SearchResult), failed(query, message), cleared()."""

    results = Signal(str, object)
    failed = Signal(str, str)
    cleared = Signal()

    def __init__(
        self, library: LibraryController, settings: Settings, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.settings = settings
        self.seq = 0
        self.query = ""  # the text typed last (what run() searches for)
        self.last_search: tuple[str, Any] | None = None
        self.last_text = ""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_DEBOUNCE_MS)
        self._timer.timeout.connect(self.run)

    def begin(self) -> int:
        """A new search starts: results of earlier ones are stale from now on."""
        self.seq += 1
        return self.seq

    def is_current(self, seq: int) -> bool:
        return seq == self.seq

    def text_changed(self, text: str) -> None:
        """Typing: search a moment after the last key; an empty box clears the results."""
        self.query = text.strip()
        if not self.query:
            self._timer.stop()
            self.begin()
            self.last_text = ""
            self.settings.last_search = ""
            self.cleared.emit()
            return
        self._timer.start()

    def run(self, query: str | None = None) -> None:
        """Search now (Enter, or the debounce timer) for `query` or the text typed last."""
        if query is not None:
            self.query = query.strip()
        query = self.query
        if not query:
            return
        self._timer.stop()
        seq = self.begin()
        self.settings.last_search = query

        def done(result: Any) -> None:
            if self.is_current(seq):  # else the user typed on; a newer search is coming
                self.last_search = (query, result)
                self.last_text = query
                self.results.emit(query, result)

        def failed(message: str) -> None:
            if self.is_current(seq):
                self.failed.emit(query, message)

        self.library.run(
            lambda library: library.search(query, top_k=SEARCH_TOP), done, "search", failed
        )

    def shutdown(self) -> None:
        self._timer.stop()
        self.begin()
