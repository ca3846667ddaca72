"""The extractive answerer: the passages' own sentences that best answer the question, each cited.

No language model: sentences come from the same ranking the LLM's excerpts do (`rag.answering.sentences`:
the sentence's and its section heading's similarity to the question), plus IDF-weighted keyword overlap and
a prior for the top passage; near-duplicates are skipped, and the chosen sentences are given in reading
order, each followed by the number of its passage. A question that asks for several things (有哪些, 好处,
advantages) gets its best list whole (`SentenceRanker.best_list`), one item per line.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Sequence

from rag.answering.citations import closed, support, with_markers
from rag.answering.faithfulness import unrequested_content
from rag.core.schema import Hit
from rag.core.text import LIST_BULLET, is_lead_in, tokenize
from rag.answering.sentences import SentenceRanker
from rag.retrieval.evidence import EvidenceScorer

KEYWORD_WEIGHT = 0.1
"""Weight of keyword overlap (0..1) next to cosine similarity (e5 cosines span ~0.75-0.95). The four weights here
were set by hand while reading the bundled tuning part's extractive answers, not fitted."""
PASSAGE_PRIOR = 0.15
"""Bonus for sentences of the n-th passage: PASSAGE_PRIOR / n. The second stage judged whole passages;
sentence similarity alone favours sentences that merely restate the topic (a definition)."""
SCORE_MARGIN = 0.05
"""Sentences scoring more than this below the best one are left out."""
DUPLICATE_SUPPORT = 0.7
"""A sentence whose bigrams are this much contained in an already chosen one is a near-duplicate."""
MAX_LIST_ITEMS = 8
"""Most items of a list quoted whole (a longer list is cut after this many, in document order)."""



@dataclass(frozen=True)
class ExtractedSentence:
    number: int
    """The 1-based number of the passage it comes from (its citation)."""
    start: int
    end: int
    text: str
    """The sentence with list bullets and emphasis markers removed."""
    score: float
    list_item: bool = False
    """One item of a list quoted whole (rendered one per line)."""


def clean_sentence(text: str) -> str:
    """Sentence text for display: no list bullet, bold markers or heading hashes."""
    text = LIST_BULLET.sub("", text)
    return text.replace("**", "").replace("__", "").lstrip("#").strip()


class ExtractiveAnswerer:
    """Picks up to `max_sentences` sentences (and `max_chars` characters) from the top `passages` hits, or one
    whole list for a question that asks for one."""

    def __init__(self, ranker: SentenceRanker, passages: int = 3, max_sentences: int = 3, max_chars: int = 360) -> None:
        self.ranker = ranker
        self.passages = passages
        self.max_sentences = max_sentences
        self.max_chars = max_chars

    @property
    def scorer(self) -> EvidenceScorer:
        return self.ranker.scorer

    def extract(self, question: str, hits: Sequence[Hit]) -> list[ExtractedSentence]:
        """The chosen sentences in reading order; `number` is the hit's 1-based position in `hits`."""
        terms = {t: self.scorer.idf(t) for t in set(tokenize(question))}
        total = sum(terms.values())
        ranked_sentences = self.ranker.rank(question, hits[: self.passages])
        candidates: list[ExtractedSentence] = []
        by_span: dict[tuple[int, int], ExtractedSentence] = {}
        for ranked in ranked_sentences:
            if is_lead_in(ranked.text) or unrequested_content(ranked.text, question):
                continue  # announces a list, or carries a link/command/instruction nobody asked for
            present = set(tokenize(ranked.text))
            overlap = sum(w for t, w in terms.items() if t in present) / total if total else 0.0
            number = ranked.passage + 1
            score = ranked.score + KEYWORD_WEIGHT * overlap + PASSAGE_PRIOR / number
            candidate = ExtractedSentence(number, ranked.start, ranked.end, clean_sentence(ranked.text), score)
            candidates.append(candidate)
            by_span[(ranked.passage, ranked.start)] = candidate
        candidates.sort(key=lambda c: -c.score)
        best_list = self.ranker.best_list(question, ranked_sentences)
        if best_list is not None:
            items = [by_span[(s.passage, s.start)] for s in best_list.items if (s.passage, s.start) in by_span]
            if items:
                return [dataclasses.replace(item, list_item=True) for item in items[:MAX_LIST_ITEMS]]
        chosen: list[ExtractedSentence] = []
        used = 0
        for candidate in candidates:
            if chosen and (candidate.score < chosen[0].score - SCORE_MARGIN or len(chosen) >= self.max_sentences):
                break
            if used + len(candidate.text) > self.max_chars and chosen:
                continue
            if any(support(candidate.text, c.text) >= DUPLICATE_SUPPORT for c in chosen):
                continue
            chosen.append(candidate)
            used += len(candidate.text)
        return sorted(chosen, key=lambda c: (c.number, c.start))

    @staticmethod
    def render(sentences: Sequence[ExtractedSentence], language: str = "zh") -> str:
        """``sentence[n]`` pieces (the marker before the closing punctuation) joined for the answer's language;
        a list's items one per line."""
        if len(sentences) > 1 and all(s.list_item for s in sentences):
            return "\n".join(f"- {with_markers(s.text, [s.number], language)}" for s in sentences)
        joiner = " " if language == "en" else ""
        return joiner.join(with_markers(closed(s.text), [s.number], language) for s in sentences)
