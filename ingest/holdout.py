"""Which passages calibration holds out together, and which passages it writes questions from.

Calibration hides a share of the knowledge base from the index and asks questions about what it hid: those
are on-topic questions the (smaller) index does not answer. The unit hidden is a *document*, so what is
missing is a whole subject as it would be for a user's real questions; a document holding more than
``1 / (2 * folds)`` of all passages is cut into contiguous runs of passages of about that size (in a
corpus that is one large document, its sections play the documents' part). Units are dealt into `folds`
groups of about equal size at random; each fold is held out once.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Sequence

from rag.core.errors import RagError
from rag.core.schema import Chunk

MIN_PASSAGE_CHARS = 80
"""Passages shorter than this are not asked about (a heading and a fragment make poor questions)."""


@dataclass(frozen=True)
class Holdout:
    """Chunk rows grouped into units (documents or runs of passages) and units dealt into folds."""

    units: list[list[int]]
    """Chunk rows of each unit, in index order."""
    fold_of_unit: list[int]

    @property
    def folds(self) -> int:
        return max(self.fold_of_unit) + 1

    def fold_rows(self, fold: int) -> list[int]:
        """The chunk rows fold `fold` hides."""
        return sorted(row for unit, f in zip(self.units, self.fold_of_unit) if f == fold for row in unit)

    def fold_of_row(self) -> dict[int, int]:
        return {row: f for unit, f in zip(self.units, self.fold_of_unit) for row in unit}


def make_holdout(chunks: Sequence[Chunk], folds: int = 5, seed: int = 0) -> Holdout:
    """Units of `chunks` dealt into up to `folds` folds (fewer when there are fewer units).

    Raises RagError when the index has fewer than two passages (nothing can be held out).
    """
    if len(chunks) < 2:
        raise RagError(f"Calibration needs an index of at least 2 passages; this one has {len(chunks)}. Add documents first.")
    by_document: dict[str, list[int]] = {}
    for row, chunk in enumerate(chunks):
        by_document.setdefault(chunk.doc_id, []).append(row)
    largest = max(1, math.ceil(len(chunks) / (2 * folds)))
    units: list[list[int]] = []
    for rows in by_document.values():
        pieces = math.ceil(len(rows) / largest)
        size = math.ceil(len(rows) / pieces)
        units.extend(rows[start:start + size] for start in range(0, len(rows), size))
    if len(units) < 2:
        units = [[row] for row in units[0]]
    rng = random.Random(seed)
    order = list(range(len(units)))
    rng.shuffle(order)
    order.sort(key=lambda u: -len(units[u]))  # stable: equal sizes stay in the shuffled order
    count = min(folds, len(units))
    sizes = [0] * count
    fold_of_unit = [0] * len(units)
    for unit in order:
        fold = min(range(count), key=lambda f: (sizes[f], f))
        fold_of_unit[unit] = fold
        sizes[fold] += len(units[unit])
    return Holdout(units, fold_of_unit)


def question_rows(chunks: Sequence[Chunk], holdout: Holdout, count: int, seed: int = 0) -> list[int]:
    """Up to `count` chunk rows to write questions from: passages with answer text, taken in turn from each
    unit (units in random order, passages in random order within each), so every subject is asked about.

    The order is the same for any `count` with the same `seed` (asking for more extends the list)."""
    rng = random.Random(seed + 1)
    queues = []
    for unit in holdout.units:
        rows = [r for r in unit if not chunks[r].meta.get("question_only") and len(chunks[r].text) >= MIN_PASSAGE_CHARS]
        rng.shuffle(rows)
        queues.append(rows)
    rng.shuffle(queues)
    chosen: list[int] = []
    while len(chosen) < count and any(queues):
        for queue in queues:
            if queue and len(chosen) < count:
                chosen.append(queue.pop())
    return chosen
