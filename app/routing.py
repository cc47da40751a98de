"""Which file field each kind of tag is written to: genres to Genre, moods to Mood, the rest only
where the user sends them.

Why a table: the model proposes instruments ("cello"), eras ("80s") and descriptions ("fast")
as well as genres and moods. Written into Genre they spoil it for every player and for the
user's own "Learn from my library" (the next model would learn "loud" as a genre). So each kind
has a field, or none: instruments, eras and character words are not written unless the user
routes them (`--route instrument=grouping`, or Settings in the app), and one explicit field
(`--field comment`) still sends everything to that field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from app.tagformats import check_field
from zsl_core.tagger import Prediction
from zsl_core.tags import Include, TagKind, TagScore, display_form, tag_key

__all__ = [
    "DEFAULT_ROUTES",
    "Routes",
    "parse_routes",
    "per_field",
    "pick_routed",
    "routes_to_text",
    "route_tags",
    "target_field",
    "written_values",
    "NOT_WRITTEN",
]

Routes = Mapping[TagKind, str | None]
NOT_WRITTEN = "none"
DEFAULT_ROUTES: dict[TagKind, str | None] = {
    TagKind.GENRE: "genre",
    TagKind.MOOD: "mood",
    TagKind.INSTRUMENT: None,
    TagKind.ERA: None,
    TagKind.CHARACTER: None,
    TagKind.OTHER: None,
}


def parse_routes(specs: Iterable[str], base: Routes | None = None) -> dict[TagKind, str | None]:
    """'KIND=FIELD' items ("instrument=grouping", "era=custom:ERA", "mood=none") over `base`
    (default DEFAULT_ROUTES). ValueError with one line for a bad item."""
    routes = dict(DEFAULT_ROUTES if base is None else base)
    for spec in specs:
        kind_text, sep, field = str(spec).partition("=")
        if not sep or not field.strip():
            raise ValueError(f"route {spec!r}: write it as KIND=FIELD, e.g. instrument=grouping")
        kind = TagKind.parse(kind_text)
        field = field.strip()
        routes[kind] = None if field.lower() == NOT_WRITTEN else check_field(field)
    return routes


def routes_to_text(routes: Routes) -> list[str]:
    """The inverse of `parse_routes`, for settings files and messages."""
    return [f"{kind.value}={routes.get(kind) or NOT_WRITTEN}" for kind in TagKind]


def target_field(tag: TagScore, routes: Routes, field: str | None = None) -> str | None:
    """The field a tag is written to: the forced `field`, else its kind's route (None: not
    written). The one routing rule `route_tags` and `written_values` share."""
    return field or routes.get(tag.kind)


def pick_routed(
    prediction: Prediction,
    top_k: int,
    routes: Routes,
    field: str | None = None,
    prior: Mapping[str, float] | None = None,
    min_confidence: float | None = None,
    include: Include = "both",
) -> list[TagScore]:
    """The tags proposed for a write, best first: `Prediction.pick` over the kinds that have a
    field (every kind when `field` forces one), then at most `top_k` per field (`per_field`).

    The one budget the window's ticks, its "Predicted tags" column and `zsl-tagger write` share:
    `top_k` values per field, so that a mood is not crowded out by the genres and instruments
    above it (a top 5 over every kind gave 15 of 305 tracks a mood, per field 93)."""
    kinds = None if field else [kind for kind, target in routes.items() if target]
    picked = prediction.pick(
        top_k=4 * top_k, min_confidence=min_confidence, include=include, kinds=kinds, prior=prior
    )
    return per_field(picked, routes, field, top_k)


def per_field(
    tags: Sequence[TagScore], routes: Routes, field: str | None = None, limit: int | None = None
) -> list[TagScore]:
    """The tags a write keeps, in the order given (best first): those with a field (`target_field`),
    repeats of one written value dropped, at most `limit` per field."""
    kept: list[TagScore] = []
    values: dict[str, set[str]] = {}
    for tag in tags:
        target = target_field(tag, routes, field)
        if not target:
            continue
        keys = values.setdefault(target, set())
        key = tag_key(display_form(tag.tag, tag.kind))
        if key not in keys and (limit is None or len(keys) < limit):
            keys.add(key)
            kept.append(tag)
    return kept


def route_tags(
    tags: Sequence[TagScore], routes: Routes, field: str | None = None, limit: int | None = None
) -> dict[str, list[str]]:
    """The values to write per field, in the order given (best first): each tag goes to its
    kind's field (or to `field` when one is forced), written as listeners write it
    (`display_form`); repeats dropped; at most `limit` values per field (`per_field`)."""
    out: dict[str, list[str]] = {}
    for tag in per_field(tags, routes, field, limit):
        out.setdefault(str(target_field(tag, routes, field)), []).append(
            display_form(tag.tag, tag.kind)
        )
    return out


def written_values(tags: Sequence[TagScore], routes: Routes, field: str | None = None) -> list[str]:
    """The values a write of `tags` puts into some field, best first, as written: the tags whose
    kind has a field (every tag when `field` forces one), in `display_form`, repeats dropped
    (the library table's "Predicted tags" column: what Write would add)."""
    out: list[str] = []
    seen: set[str] = set()
    for tag in tags:
        if not target_field(tag, routes, field):
            continue
        value = display_form(tag.tag, tag.kind)
        if tag_key(value) not in seen:
            seen.add(tag_key(value))
            out.append(value)
    return out


def fields_of(routes: Routes) -> list[str]:
    """The fields some kind is written to, in TagKind order."""
    return list(dict.fromkeys(f for f in (routes.get(k) for k in TagKind) if f))
