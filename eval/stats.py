"""Small, hand-checkable aggregates: nearest-rank percentiles and NaN-aware means."""
from __future__ import annotations

import math
from typing import Iterable


def percentile(values: Iterable[float], p: float) -> float:
    """Nearest-rank percentile: the smallest value with at least p% of the values at or below it.

    ``percentile([4, 1, 3, 2], 50) == 2``; NaN for no values.
    """
    ordered = sorted(v for v in values if not math.isnan(v))
    if not ordered:
        return math.nan
    rank = max(math.ceil(p / 100 * len(ordered)), 1)
    return ordered[rank - 1]


def mean_with_failures(values: Iterable[float]) -> dict[str, float]:
    """``{"mean", "n", "nan"}``: the mean of the computed values, how many, and how many were NaN."""
    values = list(values)
    good = [v for v in values if not math.isnan(v)]
    return {"mean": sum(good) / len(good) if good else math.nan, "n": len(good), "nan": len(values) - len(good)}
