"""The desktop program's library layer (no Qt here): metadata in files, index, search.

The GUI and the `zsl-tagger` command line both sit on top of these modules, so everything a
user can do is scriptable and testable without a display.
"""

import os as _os

# numpy's OpenBLAS keeps its own thread pool busy-waiting after every small product (tag scores,
# cosines), and on the few cores of a desktop that steals the CPU from torch's pool: a search over
# 1M tracks measured 39 ms right after a 20 x 1,116 numpy product instead of 20 ms
# (docs/PERFORMANCE.md). The app's numpy products are small, so one BLAS thread costs nothing;
# the heavy work runs in torch. Must be set before numpy is first imported; a user's own
# setting wins.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
