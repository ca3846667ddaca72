"""What the LLM reads: the evidence sentences of the top passages that match the question, within a budget.

On 2 CPU cores the time to the first token is the prompt's evaluation (~80 tokens/s for a 1.5B
model), so the model is shown excerpts rather than whole passages: each passage's evidence sentences
(never bare questions) are ranked by similarity to the question plus a prior for the passage's rank,
taken best first while they fit a character budget, each followed by its next sentence when room is
left (an answer often continues there; a sentence announcing a list brings its first items), and
shown in document order with ``…`` where text was left out. The citation check still reads the
whole passage, so spans stay exact.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from rag.core.schema import Chunk, Hit

LIST_FOLLOWERS = 3
"""A chosen sentence that announces a list ("优势主要体现在以下几个方面：") brings up to this many next sentences."""
RANK_PRIOR = 0.03
"""Bonus for sentences of the n-th passage: RANK_PRIOR / n (the re-ranker already judged whole passages). Both
constants were set by hand from the bundled tuning part's prompts (the model had read a list's lead-in and then
the wrong list), not fitted."""
GAP = " … "


@dataclass(frozen=True)
class Excerpt:
    """A numbered passage as the model sees it."""

    number: int
    heading: str
    text: str


SentenceScores = Callable[[str, Chunk], list[tuple[int, int, float]]]
"""``[(start, end, similarity)]`` of a passage's evidence sentences (source offsets) for a question."""


def select_excerpts(
    question: str, hits: Sequence[Hit], sentence_scores: SentenceScores, budget_chars: int
) -> list[Excerpt]:
    """Excerpts of `hits` (numbered 1.. in rank order) whose texts add up to at most `budget_chars`.

    A passage none of whose sentences fit is left out (its number is not reused). A passage
    without evidence sentences (a table, a code block) is offered whole as one candidate.
    """
    candidates: list[tuple[float, int, int, int]] = []  # (score, passage index, start, end)
    spans: list[list[tuple[int, int]]] = []
    for index, hit in enumerate(hits):
        scored = sentence_scores(question, hit.chunk)
        if not scored:
            scored = [(hit.chunk.start, hit.chunk.end, hit.scores.get("dense", 0.0))]
        spans.append(sorted((start, end) for start, end, _ in scored))
        for start, end, similarity in scored:
            candidates.append((similarity + RANK_PRIOR / (index + 1), index, start, end))
    candidates.sort(key=lambda c: -c[0])

    chosen: list[set[tuple[int, int]]] = [set() for _ in hits]
    used = 0

    def take(index: int, span: tuple[int, int]) -> bool:
        nonlocal used
        if span in chosen[index]:
            return True
        cost = span[1] - span[0] + len(GAP)
        if used + cost > budget_chars:
            return False
        chosen[index].add(span)
        used += cost
        return True

    for _, index, start, end in candidates:
        if take(index, (start, end)):
            following = [s for s in spans[index] if s[0] >= end]
            chunk = hits[index].chunk
            announces = chunk.text[start - chunk.start:end - chunk.start].rstrip(" *").endswith(("：", ":"))
            for span in following[:LIST_FOLLOWERS if announces else 1]:
                if not take(index, span):
                    break
    excerpts = []
    for index, hit in enumerate(hits):
        if not chosen[index]:
            continue
        chunk = hit.chunk
        pieces, previous_end = [], None
        for start, end in sorted(chosen[index]):
            adjacent = previous_end is not None and not chunk.text[previous_end - chunk.start:start - chunk.start].strip()
            if pieces and not adjacent:
                pieces.append(GAP)
            elif pieces:
                pieces.append(chunk.text[previous_end - chunk.start:start - chunk.start])
            pieces.append(chunk.text[start - chunk.start:end - chunk.start])
            previous_end = end
        heading = chunk.heading_path[-1] if chunk.heading_path else ""
        excerpts.append(Excerpt(index + 1, heading, "".join(pieces).strip()))
    return excerpts
