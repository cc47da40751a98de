"""Case studies like the paper's Tables 5-7: top tracks for a query, top tags of test tracks,
nearest words before and after training."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from zsl_core import datasets, splits
from zsl_core.reproduce.corpus import Corpus
from zsl_core.reproduce.design import EXPERIMENT_TITLES
from zsl_core.reproduce.experiments import ExperimentData
from zsl_core.reproduce.scoring import cosine, label_embeddings
from zsl_core.vectors import WordVectors

ARBITRARY_WORDS = (
    "lovely",
    "dreamy",
    "gloomy",
    "energetic",
    "romantic",
    "peaceful",
    "aggressive",
    "mellow",
)


def _title(track: datasets.Track | None, track_id: str) -> str:
    meta = track.meta if track is not None and isinstance(track.meta, dict) else {}
    return str(meta.get("title") or track_id)


def case_studies(
    keep: Mapping[str, Any],
    data: ExperimentData,
    corpus: Corpus,
    vectors: WordVectors | None = None,
    vocabulary: Sequence[str] = (),
) -> dict[str, Any]:
    """Tables 5-7 for one trained model (seed 0, (A+B)-X, real side information):

    top_tracks  Table 5: the 5 best tracks for an unseen label and for a word outside the labels
    top_tags    Table 6: the 10 best labels of a few test tracks, unseen ones marked
    neighbours  Table 7: nearest words to a query before training (side-information space) and
                after (the trained label embedding space)
    """
    model, audio, labels = keep["model"], keep["audio"], keep["labels"]
    split: splits.Split = keep["split"]
    ids: list[str] = keep["ids"]
    label_vectors = keep["label_vectors"]
    by_id = {t.id: t for t in corpus.tracks}
    unseen = set(split.unseen)
    scores = cosine(audio, label_vectors)
    out: dict[str, Any] = {}

    # Table 6: C tracks first (only unseen positives), then B
    chosen = [t for t in split.C if t in ids][:2] + [t for t in split.B if t in ids][:1]
    rows = []
    for track_id in chosen:
        i = ids.index(track_id)
        order = np.argsort(-scores[i])[:10]
        rows.append(
            {
                "track": _title(by_id.get(track_id), track_id),
                "id": track_id,
                "true": data.track_tags[track_id],
                "top": [
                    {
                        "label": labels[j],
                        "unseen": labels[j] in unseen,
                        "score": round(float(scores[i, j]), 4),
                        "correct": labels[j] in data.track_tags[track_id],
                    }
                    for j in order
                ],
            }
        )
    out["top_tags"] = rows

    # Table 5: queries = the unseen label with most positives, and a word that is not a label
    counts = {label: sum(label in data.track_tags[t] for t in ids) for label in split.unseen}
    queries: list[tuple[str, np.ndarray, str]] = []
    if counts:
        best = max(counts, key=lambda x: (counts[x], x))
        queries.append((best, label_vectors[labels.index(best)], "unseen label"))
    word_vecs: dict[str, np.ndarray] = {}
    if vectors is not None:
        for word in ARBITRARY_WORDS:
            vec = vectors.embed(word)
            if vec is not None and word not in set(labels):
                word_vecs[word] = vec
                queries.append(
                    (word, label_embeddings(model, vec[None, :])[0], "word outside the labels")
                )
                break
    table5 = []
    for word, vec, kind in queries:
        sims = cosine(audio, vec[None, :])[:, 0]
        order = np.argsort(-sims)[:5]
        table5.append(
            {
                "query": word,
                "kind": kind,
                "tracks": [
                    {
                        "track": _title(by_id.get(ids[i]), ids[i]),
                        "id": ids[i],
                        "tags": data.track_tags[ids[i]],
                        "score": round(float(sims[i]), 4),
                    }
                    for i in order
                ],
            }
        )
    out["top_tracks"] = table5

    # Table 7: nearest words before and after training
    words = list(labels)
    side_rows = [data.side.select(labels).matrix]
    if vectors is not None and vocabulary:
        extra = [w for w in vocabulary if w not in set(words)]
        matrix, found, _ = vectors.embed_many(extra)
        if found:
            words += found
            side_rows.append(matrix)
    before_space = np.concatenate(side_rows).astype(np.float32)
    after_space = label_embeddings(model, before_space)
    neighbours = []
    for word, _, _ in queries:
        if word in words:
            q_before, q_after = before_space[words.index(word)], after_space[words.index(word)]
        elif word in word_vecs:
            q_before, q_after = (
                word_vecs[word],
                label_embeddings(model, word_vecs[word][None, :])[0],
            )
        else:
            continue
        entry = {"query": word, "vocabulary": len(words)}
        for name, space, q in (("before", before_space, q_before), ("after", after_space, q_after)):
            sims = cosine(space, q[None, :])[:, 0]
            nearest = [j for j in np.argsort(-sims) if words[j] != word][:10]
            entry[name] = [words[j] for j in nearest]
        neighbours.append(entry)
    out["neighbours"] = neighbours
    return out


def case_study_markdown(studies: Mapping[str, Any]) -> str:
    lines: list[str] = []
    for exp, study in studies.items():
        lines += [
            f"## Case studies, {EXPERIMENT_TITLES[exp]}",
            "",
            "Model: seed 0, trained on (A+B)-X with the real side information.",
            "",
        ]
        lines += [
            "### Top retrieved tracks for a query (like Table 5)",
            "",
            "| Query | Rank | Track | Score | Its tags |",
            "|---|---|---|---|---|",
        ]
        for q in study["top_tracks"]:
            for rank, t in enumerate(q["tracks"], 1):
                mark = " ✓" if q["query"] in t["tags"] else ""
                lines.append(
                    f"| {q['query']} ({q['kind']}) | {rank} | {t['track']}{mark} | {t['score']:.3f} | "
                    f"{', '.join(t['tags'])} |"
                )
        lines += [
            "",
            "### Top 10 tags of test tracks (like Table 6)",
            "",
            "(unseen) = label never trained on; ✓ = in the track's true tags.",
            "",
        ]
        for row in study["top_tags"]:
            tops = ", ".join(
                f"{x['label']}{' (unseen)' if x['unseen'] else ''}{' ✓' if x['correct'] else ''}"
                for x in row["top"]
            )
            lines.append(f"- **{row['track']}** (true: {', '.join(row['true'])}): {tops}")
        if study["neighbours"]:
            lines += [
                "",
                "### Nearest words before and after training (like Table 7)",
                "",
                "| Query | Side-information space (before) | Trained embedding space (after) |",
                "|---|---|---|",
            ]
            for n in study["neighbours"]:
                lines.append(
                    f"| {n['query']} | {', '.join(n['before'])} | {', '.join(n['after'])} |"
                )
            lines.append(
                f"\nNeighbours are searched among {study['neighbours'][0]['vocabulary']} words "
                "(the experiment's labels plus the shipped vocabulary words the vectors know)."
            )
        lines.append("")
    return "\n".join(lines)
