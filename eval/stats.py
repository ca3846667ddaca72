"""Small, hand-checkable aggregates: nearest-rank percentiles and NaN-aware means."""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np


def percentile(values: Iterable[float], p: float) -> float:
    """Nearest-rank percentile (numpy's ``inverted_cdf``): the smallest value with at least p% of the values
    at or below it. NaN values are left out; NaN when none are left.

    ``percentile([4, 1, 3, 2], 50) == 2``.
    """
    kept = [v for v in values if not math.isnan(v)]
    return float(np.percentile(kept, p, method="inverted_cdf")) if kept else math.nan


def mean_with_failures(values: Iterable[float]) -> dict[str, float]:
    """``{"mean", "n", "nan"}``: the mean of the computed values, how many, and how many were NaN."""
    values = list(values)
    good = [v for v in values if not math.isnan(v)]
    return {"mean": sum(good) / len(good) if good else math.nan, "n": len(good), "nan": len(values) - len(good)}
