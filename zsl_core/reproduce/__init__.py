"""`zsl-core reproduce`: the paper's two experiments, its controls and its case studies, end to end.

One command turns a corpus folder (a manifest with genre tags, mood tags and OpenMIC-style
instrument likelihoods, as `zsl-core synth` writes it) into results.json, markdown tables in the
layout of the paper's Tables 2-4, case-study tables like Tables 5-7 and SVG figures:

- Experiment 1: genre labels, side information = the instrument-attribute vectors of section 5.1
  (built from the manifest's likelihoods with `vectors.attribute_vectors`).
- Experiment 2: genre + mood + instrument words as tags, side information = the bundled GloVe
  vectors (`resources/vectors`), the paper's "general word semantic space".

- Experiment 1-recipe (when the corpus has genres.csv, label,attribute,value): Experiment 1 with
  that table as side information, which reads no track's annotations.

For each experiment and seed: a fresh seeded split (labels X/Y, tracks A/B/C), then for every
train setup (A-X, B-X, (A+B)-X) these models are scored on every test setup of Tables 2 and 3:

    side        the deep embedding model with the real side information (the paper's model)
    random      the same model with random Gaussian side vectors of the same shape (control:
                what is left when the side information carries no meaning)
    shuffled    the same model with the real vectors reassigned among labels by a derangement
                (control: same values and distribution, only the label -> vector link removed)
    conse       ConSE (Norouzi et al.): a classification model's top-T seen-label probabilities
                as weights of a convex combination of seen-label side vectors
    classifier  the classification model on seen labels only (Table 4)

and generalised zero-shot calibration (calibrated stacking, Chao et al. 2016) is reported beside
the uncalibrated X+Y rows: a constant gamma is subtracted from every seen label's score, with
gamma tuned on held-out validation tracks (the A and B validation parts, which no training
setup trains on) and the test rows then measured WITHOUT those tuning tracks, next to the
uncalibrated model on exactly the same tracks.

Features are computed once per corpus into OUT/cache/<kind> (resumable). The quick preset uses
the frozen pretrained musicnn backbone (only the heads train; a 2-core CPU finishes in minutes);
the full preset trains the paper's audio CNN on mel spectrograms with the paper's recipe.

Modules: `design` (methods, controls, setups, experiments), `presets`, `corpus`,
`track_features`, `controls`, `conse` (every ConSE score comes from `conse.conse_scores`),
`scoring`, `calibration`, `experiments` (one seed of one experiment), `aggregate`, `paper`
(+ paper_tables.json: the paper's Tables 2-4 as data, validated on load), `tables` (markdown),
`case_studies`, `figures` (SVG), `run` (the whole run), `cli`. Progress and failures are logged
(loggers under "zsl_core.reproduce"); `zsl-core reproduce` prints them on stdout.
"""

from __future__ import annotations

from zsl_core.reproduce.aggregate import aggregate, claims
from zsl_core.reproduce.calibration import (
    CALIBRATION_FOLD,
    CALIBRATIONS,
    GAMMA_GRID,
    calibrated_stacking,
    calibration_rows,
    calibration_tracks,
    tune_gamma,
)
from zsl_core.reproduce.case_studies import ARBITRARY_WORDS, case_studies, case_study_markdown
from zsl_core.reproduce.cli import cmd_reproduce, parse_seeds, register
from zsl_core.reproduce.conse import CONSE_TOP_T, conse_embeddings, conse_scores
from zsl_core.reproduce.controls import random_side_like, shuffled_side_like
from zsl_core.reproduce.corpus import Corpus, instrument_tags, load_corpus
from zsl_core.reproduce.design import (
    CONTROLS,
    EXPERIMENT_TITLES,
    EXPERIMENTS,
    GLOVE_FILE,
    GZSL_SETUPS,
    KEY_SETUP,
    METHODS,
    TABLE4_METHODS,
)
from zsl_core.reproduce.experiments import (
    ExperimentData,
    experiment1_data,
    experiment1_recipe_data,
    experiment2_data,
    run_experiment,
)
from zsl_core.reproduce.figures import svg_bar_chart, write_figures
from zsl_core.reproduce.paper import PAPER, PAPER_FILE, load_paper_tables
from zsl_core.reproduce.presets import PRESETS, Preset
from zsl_core.reproduce.run import reproduce, versions
from zsl_core.reproduce.scoring import cosine
from zsl_core.reproduce.tables import markdown_tables
from zsl_core.reproduce.track_features import load_features

__all__ = [
    "ARBITRARY_WORDS",
    "CALIBRATIONS",
    "CALIBRATION_FOLD",
    "CONSE_TOP_T",
    "CONTROLS",
    "EXPERIMENTS",
    "EXPERIMENT_TITLES",
    "GAMMA_GRID",
    "GLOVE_FILE",
    "GZSL_SETUPS",
    "KEY_SETUP",
    "METHODS",
    "PAPER",
    "PAPER_FILE",
    "PRESETS",
    "TABLE4_METHODS",
    "Corpus",
    "ExperimentData",
    "Preset",
    "aggregate",
    "calibrated_stacking",
    "calibration_rows",
    "calibration_tracks",
    "case_studies",
    "case_study_markdown",
    "claims",
    "cmd_reproduce",
    "conse_embeddings",
    "conse_scores",
    "cosine",
    "experiment1_data",
    "experiment1_recipe_data",
    "experiment2_data",
    "instrument_tags",
    "load_corpus",
    "load_features",
    "load_paper_tables",
    "markdown_tables",
    "parse_seeds",
    "random_side_like",
    "register",
    "reproduce",
    "run_experiment",
    "shuffled_side_like",
    "svg_bar_chart",
    "tune_gamma",
    "versions",
    "write_figures",
]
