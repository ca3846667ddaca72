"""Merging several ranked lists: reciprocal rank fusion (first-stage rows), or taking turns."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Hashable, Mapping, Sequence, TypeVar


@dataclass
class Fused:
    row: int
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    ranks: dict[str, int] = field(default_factory=dict)


def reciprocal_rank_fusion(
    rankings: Mapping[str, Sequence[tuple[int, float]]],
    k: float = 60.0,
    weights: Mapping[str, float] | None = None,
) -> list[Fused]:
    """Fuse ranked ``(row, score)`` lists: ``score(row) = sum_r weight_r / (k + rank_r(row))``.

    Ranks are 1-based. Each result keeps every list's original score and rank. Ties keep the order in
    which rows were first seen (lists in mapping order), so results are deterministic.
    """
    if k < 0:
        raise ValueError(f"RRF k must be >= 0, got {k}")
    fused: dict[int, Fused] = {}
    for name, ranking in rankings.items():
        weight = 1.0 if weights is None else weights.get(name, 1.0)
        for rank, (row, score) in enumerate(ranking, start=1):
            entry = fused.setdefault(row, Fused(row, 0.0))
            entry.score += weight / (k + rank)
            entry.scores[name] = score
            entry.ranks[name] = rank
    return sorted(fused.values(), key=lambda entry: -entry.score)


T = TypeVar("T")


def taking_turns(rankings: Sequence[Sequence[T]], key: Callable[[T], Hashable]) -> list[T]:
    """The items of several rankings taken in turn (the first of each, then the second of each, ...), each item (by
    `key`) once, where it first comes: every ranking's best come early, the first ranking's first."""
    merged: dict[Hashable, T] = {}
    for rank in range(max((len(ranking) for ranking in rankings), default=0)):
        for ranking in rankings:
            if rank < len(ranking):
                merged.setdefault(key(ranking[rank]), ranking[rank])
    return list(merged.values())
