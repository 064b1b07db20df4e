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
    scale: float  # MAD (or its stand-in), never below the counting noise
    n: int
    log: bool = False  # median and scale are of log(1 + x)

    def z(self, x: float) -> float:
        v = float(np.log1p(x)) if self.log else x
        return 0.6745 * (v - self.median) / self.scale

    @property
    def typical(self) -> float:
        """The median on the original scale (for reasons shown to people)."""
        return float(np.expm1(self.median)) if self.log else self.median


def baseline(
    values: Sequence[float] | np.ndarray, min_history: int = MIN_HISTORY, log: bool = False
) -> Baseline | None:
    """The median and robust spread of ``values``, or None when there are too few of them.

    ``log`` measures on log(1 + x): daily volumes are multiplicative (a busy day is twice a quiet
    one, not twenty rows more), so their honest spread is even on a log scale, and a bulk pull
    stands out as orders of magnitude. The counting-noise floor then becomes 1/sqrt(level).
    """
    raw = np.asarray(values, dtype=float)
    if raw.size < min_history:
        return None
    arr = np.log1p(raw) if log else raw
    med = float(np.median(arr))
    dev = np.abs(arr - med)
    mad = float(np.median(dev))
    if mad == 0.0:
        mad = float(np.mean(dev)) * 1.2533 / 1.4826 if dev.any() else 0.0
    level = max(float(np.expm1(med)) if log else med, 1.0)
    floor = 1.0 / np.sqrt(level) if log else np.sqrt(level)
    return Baseline(median=med, high=float(raw.max()), scale=max(mad, float(floor)), n=int(arr.size), log=log)
