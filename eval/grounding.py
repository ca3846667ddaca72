"""Grounding score: the share of an answer's sentences supported by the passages they cite.

The check is the answer stage's own `rag.answering.citations.CitationChecker` (same thresholds, same semantic
fallback when given the RAG's checker): a sentence counts as grounded when the checker keeps it with
its own citations (status ``kept``). A sentence without a marker, citing a missing passage, or whose
cited passages don't hold it, is not grounded; nor is a repeat, a lead-in or an echo of the question.
An answer with no sentences (or a refusal) has no grounding score: NaN, not 0.
"""
from __future__ import annotations

import math
from typing import Sequence

from rag.answering.citations import CitationChecker, answer_sentences
from rag.core.schema import Chunk, Hit


def numbered_passages(hits: Sequence[Hit], passages: int) -> dict[int, Chunk]:
    """``{n: chunk}`` as the answer stage numbered them: the first `passages` hits, from 1."""
    return {n: hit.chunk for n, hit in enumerate(hits[:passages], start=1)}


def grounding(
    text: str, passages: dict[int, Chunk], checker: CitationChecker, language: str = "zh", question: str = ""
) -> tuple[int, int]:
    """``(grounded sentences, sentences)`` of `text` against its numbered passages."""
    if not answer_sentences(text):
        return 0, 0
    checked = checker.check(text, passages, language, question=question)
    return sum(s.status == "kept" for s in checked.sentences), len(checked.sentences)


def share(part: int, whole: int) -> float:
    """`part / whole`, NaN when there is nothing to divide."""
    return part / whole if whole else math.nan
