"""Robust baselines: how far is today's number from what is normal for this actor and peers?

We use the modified z-score of Iglewicz and Hoaglin (1993): M = 0.6745 (x - median) / MAD, with
3.5 as their recommended outlier cut-off. It is a threshold set from a published reason, not
fitted to any one data set, and the median/MAD pair is not dragged upwards by the very leak we
are looking for (a mean and standard deviation would be). When the MAD is zero (a very regular
history) the mean absolute deviation scaled by 1.2533 stands in for it. The numbers here are
counts (rows, records, subjects), whose natural day-to-day noise is about the square root of
their level (Poisson), so the spread is never taken below sqrt(median) (and never below one):
a few extra rows on a perfectly flat history are not an alarm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

OUTLIER_Z = 3.5  # Iglewicz & Hoaglin's cut-off for the modified z-score
MIN_HISTORY = 5  # fewer prior observations than this is no baseline at all


@dataclass(frozen=True)
class Baseline:
    median: float
    high: float  # the largest value seen: "unlike any day before" is part of some rules
    scale: float  # MAD (or its stand-in), never below sqrt(median) or 1
    n: int

    def z(self, x: float) -> float:
        return 0.6745 * (x - self.median) / self.scale


def baseline(values: Sequence[float] | np.ndarray, min_history: int = MIN_HISTORY) -> Baseline | None:
    """The median and robust spread of ``values``, or None when there are too few of them."""
    arr = np.asarray(values, dtype=float)
    if arr.size < min_history:
        return None
    med = float(np.median(arr))
    dev = np.abs(arr - med)
    mad = float(np.median(dev))
    if mad == 0.0:
        mad = float(np.mean(dev)) * 1.2533 / 1.4826 if dev.any() else 0.0
    return Baseline(median=med, high=float(arr.max()), scale=max(mad, float(np.sqrt(max(med, 1.0)))), n=int(arr.size))
