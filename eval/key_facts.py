"""Key-fact recall: the share of a question's key facts (short phrases a correct answer states) in an answer.

Matching is by substring after removing citation markers, whitespace and case, so "FP16" matches
"fp16" and "计算速度" matches "计算速度更快[1]". It rewards answers that state the facts and is blind to
wording around them; a fact stated only in other words is missed (a known under-count).
"""
from __future__ import annotations

import math
import re
from typing import Sequence

from rag.answering.citations import parse_markers

_SPACE = re.compile(r"\s+")


def _normal(text: str) -> str:
    return _SPACE.sub("", parse_markers(text)[0]).lower()


def key_fact_recall(answer: str, key_facts: Sequence[str]) -> float:
    """Share of `key_facts` found in `answer` (NaN when there are none)."""
    if not key_facts:
        return math.nan
    text = _normal(answer)
    return sum(_normal(fact) in text for fact in key_facts) / len(key_facts)
