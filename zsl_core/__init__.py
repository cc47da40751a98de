"""zsl_core: the science of zsl-tagger, with no Qt in it.

Data flows one way: audio files -> mel spectrograms (audio.py) -> audio embeddings
(models.py) -> relevance scores against label embeddings built from side information
(vectors.py) -> tags. splits.py, train.py and metrics.py reproduce the paper
"Zero-shot learning for audio-based music classification and tagging" (Choi et al., ISMIR 2019).
"""

__version__ = "0.1.0"
