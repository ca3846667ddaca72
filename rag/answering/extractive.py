"""The extractive answerer: the passages' own sentences that best answer the question, each cited.

No language model: sentences are scored by embedding similarity to the question (their vectors were
computed at ingest) plus IDF-weighted keyword overlap, near-duplicates are skipped, and the chosen
sentences are given in reading order, each followed by the number of its passage.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from rag.answering.citations import support, with_markers
from rag.answering.faithfulness import unrequested_content
from rag.core.schema import Hit
from rag.core.text import LIST_BULLET, tokenize
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



@dataclass(frozen=True)
class ExtractedSentence:
    number: int
    """The 1-based number of the passage it comes from (its citation)."""
    start: int
    end: int
    text: str
    """The sentence with list bullets and emphasis markers removed."""
    score: float


def is_lead_in(sentence: str) -> bool:
    """A sentence that announces what follows ("优势主要体现在以下几个方面：") and answers nothing itself."""
    return sentence.rstrip("* ").endswith(("：", ":"))


def clean_sentence(text: str) -> str:
    """Sentence text for display: no list bullet, bold markers or heading hashes."""
    text = LIST_BULLET.sub("", text)
    return text.replace("**", "").replace("__", "").lstrip("#").strip()


class ExtractiveAnswerer:
    """Picks up to `max_sentences` sentences (and `max_chars` characters) from the top `passages` hits."""

    def __init__(self, scorer: EvidenceScorer, passages: int = 3, max_sentences: int = 3, max_chars: int = 360) -> None:
        self.scorer = scorer
        self.passages = passages
        self.max_sentences = max_sentences
        self.max_chars = max_chars

    def extract(self, question: str, hits: Sequence[Hit]) -> list[ExtractedSentence]:
        """The chosen sentences in reading order; `number` is the hit's 1-based position in `hits`."""
        store = self.scorer.store
        vector = self.scorer.query_vector(question)
        terms = {t: self.scorer.idf(t) for t in set(tokenize(question))}
        total = sum(terms.values())
        candidates: list[ExtractedSentence] = []
        for number, hit in enumerate(hits[: self.passages], start=1):
            rows = self.scorer.sentence_rows(hit.chunk.id)
            if not len(rows):
                continue
            similarities = store.sentence_embeddings[rows] @ vector
            for row, similarity in zip(rows, similarities):
                _, start, end = (int(v) for v in store.sentences[row])
                raw = hit.chunk.text[start - hit.chunk.start:end - hit.chunk.start]
                if is_lead_in(raw) or unrequested_content(raw, question):
                    continue  # announces a list, or carries a link/command/instruction nobody asked for
                present = set(tokenize(raw))
                overlap = sum(w for t, w in terms.items() if t in present) / total if total else 0.0
                score = float(similarity) + KEYWORD_WEIGHT * overlap + PASSAGE_PRIOR / number
                candidates.append(ExtractedSentence(number, start, end, clean_sentence(raw), score))
        chosen: list[ExtractedSentence] = []
        used = 0
        for candidate in sorted(candidates, key=lambda c: -c.score):
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
        """``sentence[n]`` pieces (the marker before the closing punctuation) joined for the answer's language."""
        joiner = " " if language == "en" else ""
        return joiner.join(with_markers(s.text, [s.number], language) for s in sentences)
