"""The `zsl-core` command line: every step of the paper's pipeline, one subcommand each.

    import -> features -> split -> train -> evaluate        (research)
    predict / embed -> search                              (using a model)

Errors are one line on stderr with a non-zero exit code; `--debug` shows the traceback.
The heavy lifting lives in zsl_core.pipeline so that the app and tests call the same code.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from zsl_core import datasets, evaluate, pipeline
from zsl_core.errors import AudioError, ModelError, ZslError
from zsl_core.model_spec import ModelSpec
from zsl_core.options import (
    DEVICE,
    MODEL,
    PRECISION,
    PREDICT_TOP,
    SEARCH_TOP,
    VECTORS,
    WINDOWS,
    add_to_parser,
)
from zsl_core.tag_fields import FOLDER_FIELDS
from zsl_core.tagger import Tagger
from zsl_core.tags import ScoreKind, load_vocabulary
from zsl_core.vectors import WordVectors

EXIT_OK, EXIT_PARTIAL, EXIT_ERROR = 0, 1, 2


# --- subcommands -------------------------------------------------------------------------


def cmd_import(args: argparse.Namespace) -> int:
    report = datasets.ImportReport()
    if args.source == "fma":
        datasets.import_fma(
            args.metadata,
            args.audio,
            openmic_npz=args.openmic,
            genre_field=args.genre_field,
            out=args.out,
            report=report,
        )
    elif args.source == "msd":
        vectors = None
        if args.vectors:
            vectors = WordVectors.load(args.vectors)
        datasets.import_msd(
            args.tags,
            args.audio,
            genre_filter=args.genre_filter,
            vectors=vectors,
            min_tag_count=args.min_tag_count,
            min_score=args.min_score,
            out=args.out,
            report=report,
        )
    else:
        fields = tuple(f.strip() for f in args.fields.split(",") if f.strip())
        datasets.import_folder(
            args.folder,
            fields=fields,
            out=args.out,
            report=report,
            keep_untagged=args.keep_untagged,
        )
    print(report.summary())
    print(f"wrote {args.out}")
    return EXIT_OK


def cmd_features(args: argparse.Namespace) -> int:
    report = pipeline.build_features(
        args.manifest,
        args.cache,
        workers=args.workers,
        max_seconds=args.max_seconds,
        progress=not args.quiet,
    )
    print(report.summary())
    return EXIT_PARTIAL if report.failed else EXIT_OK


def cmd_split(args: argparse.Namespace) -> int:
    split = pipeline.make_split_file(
        args.manifest,
        args.out,
        seen_fraction=args.seen_fraction,
        valid_fraction=args.valid_fraction,
        seed=args.seed,
    )
    counts = split.summary()
    print(json.dumps(counts, indent=2))
    print(f"wrote {args.out}")
    return EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    result = pipeline.train_from_files(
        manifest=args.manifest,
        split_path=args.split,
        setup=args.setup,
        side=args.side,
        model_type=args.model,
        out_dir=args.out,
        cache_dir=args.cache,
        backbone=args.backbone,
        overrides={
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "optimizer": args.optimizer,
            "device": args.device,
            "seed": args.seed,
            "steps_per_epoch": args.steps_per_epoch,
            "patience": args.patience,
            "num_workers": args.num_workers,
        },
        resume=args.resume,
        progress=not args.quiet,
    )
    if result is not None:
        print(result)
    return EXIT_OK


def cmd_evaluate(args: argparse.Namespace) -> int:
    report = pipeline.evaluate_model(
        args.model,
        manifest=args.manifest,
        split_path=args.split,
        cache_dir=args.cache,
        side=args.side,
    )
    print(evaluate.format_report(report))
    if args.json:
        report.save_json(args.json)
        print(f"wrote {args.json}")
    return EXIT_OK


def cmd_predict(args: argparse.Namespace) -> int:
    tagger = ModelSpec(args.model, args.vectors, args.device).load()
    vocabulary = load_vocabulary(args.vocab)
    failed = 0
    results = []
    for path in args.files:
        try:
            prediction = tagger.predict(
                path, top_k=args.top, vocabulary=vocabulary, n_windows=args.windows
            )
        except AudioError as exc:
            failed += 1
            print(f"zsl-core: skipped {exc}", file=sys.stderr)
            continue
        results.append(prediction)
        if not args.json:
            print(path)
            print(
                "  proposed: "
                + (
                    ", ".join(
                        f"{t.tag} ({t.kind.value}) {t.confidence:.2f}"
                        for t in prediction.pick(args.top)
                    )
                    or "-"
                )
            )
            print("  seen:     " + ", ".join(f"{t.tag} {t.score:.3f}" for t in prediction.seen))
            if prediction.unseen:
                print(
                    "  new:      " + ", ".join(f"{t.tag} {t.score:.3f}" for t in prediction.unseen)
                )
    if args.json:
        print(
            json.dumps(
                [
                    {**p.to_dict(), "proposed": [t.to_dict() for t in p.pick(args.top)]}
                    for p in results
                ],
                indent=2,
            )
        )
    elif results:
        print(f"({_score_note(tagger)}; new = a word the model was never trained on)")
    if failed and not results:
        return EXIT_ERROR
    return EXIT_PARTIAL if failed else EXIT_OK


def _score_note(tagger: Tagger) -> str:
    if tagger.seen_score_kind is ScoreKind.PROBABILITY:
        return "scores are probabilities (0-1); a new word's is read off the trained words nearest to it"
    return "scores are cosine similarities (-1..1)"


def cmd_embed(args: argparse.Namespace) -> int:
    from zsl_core import inference  # torch (the index files): only the commands that use them

    files = list(args.files)
    if args.path_list:
        files += inference.read_path_list(args.path_list)
    report = inference.embed_to_index(
        files=files,
        manifest=args.manifest,
        model=args.model,
        out=args.out,
        shard=args.shard,
        n_windows=args.windows,
        vectors=args.vectors,
        progress=not args.quiet,
        device=args.device,
        precision=args.precision,
    )
    print(report)
    return EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    from zsl_core import inference  # torch (the index files): only the commands that use them

    hits, missing = inference.search_index(
        args.query,
        args.index,
        model=args.model,
        top_k=args.top,
        vectors=args.vectors,
        floor=args.floor,
    )
    if missing:
        print(
            f"zsl-core: not a word the model knows, ignored: {', '.join(missing)}", file=sys.stderr
        )
    if not hits and not args.json:
        print("no good match (lower --floor to see weaker ones)")
    if args.json:
        print(
            json.dumps(
                [{"id": h.id, "path": h.path, "score": round(h.score, 4)} for h in hits], indent=2
            )
        )
    else:
        for rank, hit in enumerate(hits, 1):
            print(f"{rank:3d}  {hit.score:.3f}  {hit.path}")
    return EXIT_OK


# --- parser ------------------------------------------------------------------------------


def _add_common(p: argparse.ArgumentParser) -> None:
    # SUPPRESS keeps a subcommand's default from overwriting `zsl-core --debug COMMAND`.
    p.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the full traceback on errors",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zsl-core",
        description="Zero-shot music tagging (Choi et al., ISMIR 2019): build datasets, split, train, "
        "evaluate, tag files and search them by words.",
    )
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    # import
    p = sub.add_parser("import", help="write a manifest from a public dataset or a tagged folder")
    _add_common(p)
    src = p.add_subparsers(dest="source", metavar="SOURCE", required=True)
    q = src.add_parser(
        "fma", help="FMA (fma_metadata) with optional OpenMIC-2018 instrument labels"
    )
    q.add_argument("--metadata", required=True, help="fma_metadata folder (tracks.csv, genres.csv)")
    q.add_argument("--audio", required=True, help="FMA audio folder (000/000002.mp3 ...)")
    q.add_argument(
        "--openmic", help="openmic-2018.npz: keep tracks with instrument labels, add attributes"
    )
    q.add_argument(
        "--genre-field",
        default="genres",
        choices=["genres", "genres_all", "genre_top"],
        help="which tracks.csv genre column becomes the tags",
    )
    q = src.add_parser("msd", help="Million Song Dataset audio with Last.fm tags")
    q.add_argument("--tags", required=True, help="lastfm_tags.db or the Last.fm JSON folder")
    q.add_argument("--audio", required=True, help="audio folder (A/B/C/TRABC....mp3 or flat)")
    q.add_argument(
        "--genre-filter", help="text file, one genre per line (e.g. the Tagtraum ontology)"
    )
    q.add_argument("--vectors", help="keep only tags these word vectors can embed")
    q.add_argument("--min-score", type=float, default=0.0, help="minimum Last.fm tag score (0-100)")
    q.add_argument(
        "--min-tag-count", type=int, default=1, help="drop tags on fewer tracks than this"
    )
    q = src.add_parser("folder", help="a folder of audio files, tags read from their own metadata")
    q.add_argument("folder")
    q.add_argument(
        "--fields", default=",".join(FOLDER_FIELDS), help="metadata fields that become tags"
    )
    q.add_argument("--keep-untagged", action="store_true", help="keep files that have no tags")
    for q in src.choices.values():
        q.add_argument("--out", required=True, help="manifest to write (.jsonl)")
        _add_common(q)
    p.set_defaults(func=cmd_import)

    # features
    p = sub.add_parser("features", help="compute and cache mel spectrograms for a manifest")
    p.add_argument("manifest")
    p.add_argument("--cache", required=True, help="feature cache folder (resumable)")
    p.add_argument(
        "--workers", type=int, default=None, help="decoding processes (default: CPU count)"
    )
    p.add_argument("--max-seconds", type=float, default=None, help="keep only the first S seconds")
    p.add_argument("--quiet", action="store_true")
    _add_common(p)
    p.set_defaults(func=cmd_features)

    # split
    p = sub.add_parser(
        "split", help="the paper's seen/unseen label and A/B/C instance split, saved as JSON"
    )
    p.add_argument("manifest")
    p.add_argument("--out", required=True, help="split file to write (.json)")
    p.add_argument("--seen-fraction", type=float, default=0.8)
    p.add_argument("--valid-fraction", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    _add_common(p)
    p.set_defaults(func=cmd_split)

    # train
    p = sub.add_parser(
        "train", help="train the deep embedding model or the classification baseline"
    )
    p.add_argument("manifest")
    p.add_argument("--split", required=True, help="split file from `zsl-core split`")
    p.add_argument("--setup", default="A-X", choices=["A-X", "B-X", "(A+B)-X"], help="training set")
    p.add_argument(
        "--side",
        default=None,
        help="side information: word:VECTORS_FILE, attributes (from the manifest), "
        "csv:FILE (label,attribute,value), random:DIM (control)",
    )
    p.add_argument("--model", default="embedding", choices=["embedding", "classification"])
    p.add_argument(
        "--backbone",
        default="cnn",
        choices=["cnn", "musicnn"],
        help="audio module: 'cnn' = the paper's CNN trained on mel spectrograms; 'musicnn' = "
        "frozen pretrained musicnn features, only the heads train (minutes on a CPU; "
        "use a separate --cache folder)",
    )
    p.add_argument("--out", required=True, help="model folder to write")
    p.add_argument("--cache", required=True, help="feature cache folder (built if missing)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--optimizer", choices=["sgd", "adam"])
    add_to_parser(p, DEVICE, default=None)  # None: the training config's
    p.add_argument("--seed", type=int)
    p.add_argument("--steps-per-epoch", type=int)
    p.add_argument("--patience", type=int, help="early-stopping patience in epochs")
    p.add_argument("--num-workers", type=int)
    p.add_argument(
        "--resume", action="store_true", help="continue from the model folder's last checkpoint"
    )
    p.add_argument("--quiet", action="store_true")
    _add_common(p)
    p.set_defaults(func=cmd_train)

    # evaluate
    p = sub.add_parser(
        "evaluate", help="every test setup of the paper (Tables 2, 3, 4) for a trained model"
    )
    p.add_argument("model", help="model folder from `zsl-core train`")
    p.add_argument("--manifest", help="default: the one the model was trained from")
    p.add_argument("--split", help="default: the model's split file")
    p.add_argument("--cache", help="default: the model's feature cache")
    p.add_argument("--side", help="default: the model's side information")
    p.add_argument("--json", help="also write the results as JSON here")
    _add_common(p)
    p.set_defaults(func=cmd_evaluate)

    # predict
    p = sub.add_parser("predict", help="seen and unseen tags for audio files")
    p.add_argument("files", nargs="+")
    add_to_parser(p, MODEL)
    add_to_parser(p, VECTORS)
    p.add_argument(
        "--vocab", help="text file of candidate unseen words (default: the built-in vocabulary)"
    )
    add_to_parser(p, PREDICT_TOP)
    add_to_parser(p, WINDOWS)
    add_to_parser(p, DEVICE)
    p.add_argument("--json", action="store_true")
    _add_common(p)
    p.set_defaults(func=cmd_predict)

    # embed
    p = sub.add_parser(
        "embed", help="save track embeddings of files or a manifest (shardable) for search"
    )
    p.add_argument(
        "files", nargs="*", help="audio files, or folders (every audio file under them, sorted)"
    )
    p.add_argument(
        "--list",
        dest="path_list",
        metavar="FILE",
        help="a text file of audio paths, one per line (e.g. from `find`)",
    )
    p.add_argument("--manifest")
    add_to_parser(p, MODEL)
    add_to_parser(p, VECTORS)
    p.add_argument("--out", required=True, help="index file to write (.npz)")
    p.add_argument("--shard", default=None, help="i/n: embed only the i-th of n shards (0-based)")
    add_to_parser(
        p,
        WINDOWS,
        help="analyse N evenly spaced 3-s windows per track (the desktop app uses 8); "
        "default: the whole track",
    )
    add_to_parser(p, DEVICE)
    add_to_parser(p, PRECISION)
    p.add_argument("--quiet", action="store_true")
    _add_common(p)
    p.set_defaults(func=cmd_embed)

    # search
    p = sub.add_parser("search", help="rank indexed tracks by relevance to words")
    p.add_argument("query")
    p.add_argument("--index", required=True, nargs="+", help="index file(s) from `zsl-core embed`")
    add_to_parser(p, MODEL, default=None, help="default: the model that made the index")
    add_to_parser(p, VECTORS)
    add_to_parser(p, SEARCH_TOP)
    p.add_argument(
        "--floor",
        type=float,
        default=None,
        help="lowest relevance shown (default: 0.1 for probabilities, 0.1 for cosines; 0 or "
        "below ranks every track)",
    )
    p.add_argument("--json", action="store_true")
    _add_common(p)
    p.set_defaults(func=cmd_search)

    from zsl_core import synth  # synthetic labelled corpus (FluidSynth)

    synth.add_command(sub, _add_common)

    from zsl_core import reproduce  # the paper's experiments, controls and case studies on a corpus

    reproduce.register(sub)
    return parser


def _check_device(device: str | None) -> None:
    """`--device cuda` on a machine without one: one line before any work starts."""
    if device == "cuda":
        from zsl_core.devices import cuda_available  # torch: only when a GPU is asked for

        if not cuda_available():
            raise ModelError(
                "--device cuda: no CUDA GPU is available here (use --device auto or cpu)"
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "debug", False):
        logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    else:
        # the commands print their own summaries; library log lines would repeat them
        logging.getLogger("zsl_core").addHandler(logging.NullHandler())
    try:
        _check_device(getattr(args, "device", None))
        return int(args.func(args) or 0)
    except ZslError as exc:
        if args.debug:
            raise
        print(f"zsl-core: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("zsl-core: interrupted", file=sys.stderr)
        return 130
    except (OSError, ValueError) as exc:
        if args.debug:
            raise
        print(f"zsl-core: error: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
