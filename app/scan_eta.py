"""The time left of a scan or an import as the status bar shows it: steady, not jumping.

The scanner measures throughput once per stored batch (`ScanProgress.batch`), but reports every
track of a batch, and tracks of one batch are stored together: read per report, the ETA falls
fast inside a batch and jumps back up at the next one. `SteadyEta` takes one rate sample per
batch (its last report's, when all of its tracks are counted; read once the next batch
begins), smooths the samples (an exponential moving average), and divides the tracks left by
that rate, so inside a batch the ETA only counts down and across batches it drifts, it does
not jump. No clock: the ETA is a pure function of the reports, so a test drives it by them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the GUI reads reports without loading the scanner
    from app.scanner import ScanProgress

ETA_SMOOTHING = 0.3  # weight of a new batch's rate in the rate the ETA is computed from


class SteadyEta:
    """Feed it every ScanProgress of one scan (`steady(p)`); it returns the report with a
    smoothed rate and the ETA from it. A new scan takes a new SteadyEta."""

    def __init__(self) -> None:
        self.rate: float | None = None  # the smoothed rate, tracks/s; None until measured
        self.batch = 0  # the batch reported last
        self.batch_rate = 0.0  # the rate its last report gave: with all of its tracks counted

    def steady(self, p: ScanProgress) -> ScanProgress:
        if p.batch != self.batch:  # the batch before is stored: its rate is one sample
            if self.batch_rate > 0:
                if self.rate is None:
                    self.rate = self.batch_rate
                else:
                    self.rate += ETA_SMOOTHING * (self.batch_rate - self.rate)
            self.batch = p.batch
        self.batch_rate = p.rate
        left = max(p.total - p.done, 0)
        if self.rate is None:  # no batch measured yet: unknown (or nothing left)
            return replace(p, rate=0.0, eta=None if left else p.eta)
        return replace(p, rate=self.rate, eta=left / self.rate)
