"""One search box for text and sound: field filters, text words and sound words in one query.

    artist:muldjord fast          the artist's tracks, ranked by how fast they sound
    genre:rock -live calm         tracks tagged rock, none whose text says "live", calm ones first
    "Sigur Rós"                   a quoted phrase is always text
    muldjord                      a word the model does not know is looked up as text

Why these rules: a listener types names (artists, albums, titles) and sound words ("calm",
"orchestral") into the same box. Names are words the model cannot place, so a word it does not
know is matched as text against title, artist, album, genre, mood and path; every word it
knows is a sound word, ranked by the model. Quotes and `field:` filters say "text" explicitly
(`artist:muse` finds the band, `muse` alone would be a sound word). A leading '-' excludes.
`year:1999` and `year:1990-1999` compare the year as a number (a track without a year never
matches one, and is kept by `-year:`). Filters on fields the index does not hold (`bpm:`) are
refused with one line.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from zsl_core.errors import ZslError

__all__ = ["FIELDS", "TEXT_COLUMNS", "Filter", "SplitQuery", "split_query", "QueryError"]

# Filter names -> the tracks-table columns they look in.
FIELDS: dict[str, tuple[str, ...]] = {
    "artist": ("artist",),
    "album": ("album",),
    "title": ("title",),
    "genre": ("genre",),
    "mood": ("mood",),
    "path": ("display_path",),
    "year": ("year",),
}
NUMERIC = {"year"}  # filters compared as numbers: `year:1999`, `year:1990-1999`
TEXT_COLUMNS = ("title", "artist", "album", "genre", "mood", "display_path")
_FILTER = re.compile(r"^(-?)([a-z]+):(.*)$", re.IGNORECASE | re.DOTALL)
_RANGE = re.compile(r"^(\d{1,4})?\s*(?:(-|\.\.)\s*(\d{1,4})?)?$")


class QueryError(ZslError):
    """A filter that cannot be applied, in one line."""


@dataclass(frozen=True)
class Filter:
    """Keep (or with `negated`, drop) tracks whose `columns` contain `value` (case-insensitive);
    a numeric filter (`low`/`high` set, `year:`) keeps those whose column lies in [low, high]."""

    columns: tuple[str, ...]
    value: str
    negated: bool = False
    low: int | None = None
    high: int | None = None

    @property
    def numeric(self) -> bool:
        return self.low is not None or self.high is not None


@dataclass
class SplitQuery:
    filters: list[Filter] = field(default_factory=list)
    free: str = ""  # the words left for the model (sound words, or text words it does not know)


def split_query(text: str) -> SplitQuery:
    """Separate `field:value` filters, quoted phrases and '-' exclusions from the free words."""
    try:
        tokens = shlex.split(text or "")
    except ValueError:  # an unbalanced quote: take the words as they are
        tokens = (text or "").replace('"', " ").split()
    quoted = set(re.findall(r'"([^"]+)"', text or ""))
    out = SplitQuery()
    free: list[str] = []
    for token in tokens:
        match = _FILTER.match(token)
        if match and match.group(3).strip():
            negated, name, value = (
                match.group(1) == "-",
                match.group(2).lower(),
                match.group(3).strip(),
            )
            if name not in FIELDS:
                raise QueryError(
                    f"cannot filter on '{name}:' (the index holds {', '.join(f + ':' for f in FIELDS)})"
                )
            if name in NUMERIC:
                low, high = _number_range(name, value)
                out.filters.append(Filter(FIELDS[name], value, negated, low, high))
            else:
                out.filters.append(Filter(FIELDS[name], value, negated))
        elif token in quoted:
            out.filters.append(Filter(TEXT_COLUMNS, token))
        elif token.startswith("-") and len(token) > 1:
            out.filters.append(Filter(TEXT_COLUMNS, token[1:], negated=True))
        else:
            free.append(token)
    out.free = " ".join(free)
    return out


def _number_range(name: str, value: str) -> tuple[int | None, int | None]:
    """`1999` -> (1999, 1999); `1990-1999` or `1990..1999` -> (1990, 1999); `1990-` and `-1999`
    leave one end open. QueryError for anything else."""
    match = _RANGE.match(value.strip())
    if not match or not (match.group(1) or match.group(3)):
        raise QueryError(
            f"'{name}:{value}' is not a {name} or a range of them "
            f"(write {name}:1999 or {name}:1990-1999)"
        )
    low = int(match.group(1)) if match.group(1) else None
    high = int(match.group(3)) if match.group(3) else None
    if not match.group(2):  # a single year
        high = low
    if low is not None and high is not None and low > high:
        low, high = high, low
    return low, high


def sql_condition(filters: list[Filter]) -> tuple[str, list[object]]:
    """A WHERE clause (and its parameters) for the filters over the tracks table."""
    clauses: list[str] = []
    params: list[object] = []
    for f in filters:
        if f.numeric:
            column = f.columns[0]
            parts = []
            if f.low is not None:
                parts.append(f"{column} >= ?")
                params.append(int(f.low))
            if f.high is not None:
                parts.append(f"{column} <= ?")
                params.append(int(f.high))
            inside = " AND ".join(parts)
            # a track without the value is in no range: never kept by year:, never dropped by -year:
            clauses.append(
                f"NOT COALESCE({inside}, 0)"
                if f.negated
                else f"({column} IS NOT NULL AND {inside})"
            )
            continue
        escaped = f.value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        any_column = " OR ".join(f"COALESCE({c}, '') LIKE ? ESCAPE '\\'" for c in f.columns)
        clauses.append(f"NOT ({any_column})" if f.negated else f"({any_column})")
        params += [f"%{escaped}%"] * len(f.columns)
    return (" AND ".join(clauses) or "1"), params
