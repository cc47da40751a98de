"""What the reproduction compares: the zero-shot scorers, the controls, the setups the claims
and calibration are read on, and the experiments with their titles."""

from __future__ import annotations

METHODS = ("side", "random", "shuffled", "conse")  # zero-shot scorers compared in Tables 2 and 3
CONTROLS = ("random", "shuffled")  # the side-information controls of the key claim
TABLE4_METHODS = ("side", "classifier")  # Table 4: deep embedding vs classification model
GZSL_SETUPS = ("B-(X+Y)", "C-(X+Y)", "(B+C)-(X+Y)")
KEY_SETUP = "(B+C)-Y"
EXPERIMENTS = ("exp1", "exp1-recipe", "exp2")
EXPERIMENT_TITLES = {
    "exp1": "Experiment 1: genres with instrument-attribute side information",
    "exp1-recipe": "Experiment 1 with the corpus's own genre -> instrument table (genres.csv) as side information",
    "exp2": "Experiment 2: genre/mood/instrument tags with general word vectors (GloVe)",
}
GLOVE_FILE = ("vectors", "glove-6B-50d.npz")
