"""How much answer content a passage holds for a question, measured on its evidence sentences.

Passages that only state a question match a user's question closely while answering nothing, so
everything here looks at *evidence sentences* (sentences that are not bare questions, computed at
ingest) rather than at whole passages or headings.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Callable, Sequence

import numpy as np

from rag.core.schema import Chunk, Hit
from rag.core.text import acronym_singular, latin_names, tokenize
from rag.index.protocol import Store

# Sentences sampled for the per-question baseline similarity; plenty for a stable median.
BASELINE_SAMPLE = 8192
# Chunks whose term sets are kept (least recently used evicted first).
TERM_CACHE_SIZE = 8192
# Texts whose similarities to every corpus sentence are kept: a sentence is ranked against each cited passage.
SIMILARITY_CACHE_SIZE = 16


@dataclass(frozen=True)
class HitEvidence:
    dense: float
    """Cosine between the question and the whole passage (heading path + text)."""
    best_sentence: float
    """Cosine of the passage's best-matching evidence sentence (`dense` when it has none)."""
    sentence_span: tuple[int, int] | None
    """Character span (in the source document) of that sentence."""
    coverage: float
    """IDF-weighted share of the question's terms that the passage contains."""


@dataclass(frozen=True)
class QuestionEvidence:
    baseline: float
    """Median cosine between the question and the corpus' evidence sentences."""
    bare_question: float
    """Best cosine between the question and a passage that only states a question (-1 if none)."""
    unseen: float
    """Share of the question's terms that occur nowhere in the corpus."""
    unseen_name: float = 0.0
    """1.0 when the question names something (an acronym or mixed-case name: RoPE, GQA) the corpus never
    mentions, else 0.0. Common English words are unseen in a Chinese corpus too, so `unseen` alone can't
    tell a paraphrase from a question about something the documents lack; a name can."""


class EvidenceScorer:
    """Computes `HitEvidence` for retrieved hits and `QuestionEvidence` for the question.

    Safe to share between threads (the HTTP server's): its caches are `functools.lru_cache`s, which keep
    their bookkeeping consistent under concurrent calls.
    """

    def __init__(self, store: Store, query_vector: Callable[[str], np.ndarray]) -> None:
        self.store = store
        self.query_vector = query_vector
        self._terms = lru_cache(maxsize=TERM_CACHE_SIZE)(self._chunk_terms)
        self.similarities_to_corpus = lru_cache(maxsize=SIMILARITY_CACHE_SIZE)(self._similarities_to_corpus)

    @cached_property
    def _row_of(self) -> dict[str, int]:
        return {chunk.id: row for row, chunk in enumerate(self.store.chunks)}

    @cached_property
    def _sentence_bounds(self) -> np.ndarray:
        """For chunk row r, its sentences are rows bounds[r]:bounds[r + 1] (sentences are sorted by chunk)."""
        rows = np.asarray(self.store.sentences)[:, 0] if len(self.store.sentences) else np.zeros(0, np.int64)
        return np.searchsorted(rows, np.arange(len(self.store.chunks) + 1))

    @cached_property
    def _baseline_rows(self) -> np.ndarray:
        count = len(self.store.sentences)
        return np.linspace(0, count - 1, num=min(count, BASELINE_SAMPLE)).astype(np.int64) if count else np.zeros(0, np.int64)

    @cached_property
    def _bare_question_rows(self) -> np.ndarray:
        return np.array([r for r, c in enumerate(self.store.chunks) if c.meta.get("question_only")], dtype=np.int64)

    def question(self, question: str) -> QuestionEvidence:
        vector = self.query_vector(question)
        sentences = self.store.sentence_embeddings
        baseline = float(np.median(sentences[self._baseline_rows] @ vector)) if len(self._baseline_rows) else 0.0
        bare = self._bare_question_rows
        bare_best = float(np.max(self.store.embeddings[bare] @ vector)) if len(bare) else -1.0
        terms = set(tokenize(question))
        unseen = sum(self.store.sparse.document_frequency(t) == 0 for t in terms) / len(terms) if terms else 1.0
        return QuestionEvidence(baseline, bare_best, unseen, float(any(map(self._unseen_name, latin_names(question)))))

    def uses_name(self, name: str) -> bool:
        """Whether the documents write `name` (every token of it, or of its singular for "GPUs") somewhere."""
        return not self._unseen_name(name)

    def _unseen_name(self, name: str) -> bool:
        """Whether some token of `name` (and of its singular, for "GPUs") occurs in no chunk."""
        def unseen(text: str) -> bool:
            return any(self.store.sparse.document_frequency(token) == 0 for token in tokenize(text))

        singular = acronym_singular(name)
        return unseen(name) and (singular is None or unseen(singular))

    def hits(self, question: str, hits: Sequence[Hit]) -> list[HitEvidence]:
        vector = self.query_vector(question)
        terms = set(tokenize(question))
        weights = {t: self.idf(t) for t in terms}
        total = sum(weights.values())
        evidence = []
        for hit in hits:
            row = self._row_of[hit.chunk.id]
            dense = float(self.store.embeddings[row] @ vector)
            lo, hi = self._sentence_bounds[row], self._sentence_bounds[row + 1]
            best, span = dense, None
            if hi > lo:
                sims = self.store.sentence_embeddings[lo:hi] @ vector
                top = int(np.argmax(sims))
                best = float(sims[top])
                _, start, end = (int(v) for v in self.store.sentences[lo + top])
                span = (start, end)
            present = self.store.sparse.terms_in(row, weights)
            if present is None:
                present = self._terms(hit.chunk)
            coverage = sum(w for t, w in weights.items() if t in present) / total if total else 0.0
            evidence.append(HitEvidence(dense, best, span, coverage))
        return evidence

    def warm_up(self) -> None:
        """Tokenise every chunk's terms now (as many as the cache holds), so no request pays for it; nothing to do when
        the sparse index says which terms a passage holds."""
        if not self.store.chunks or self.store.sparse.terms_in(0, ()) is not None:
            return
        for chunk in self.store.chunks[:TERM_CACHE_SIZE]:
            self._terms(chunk)

    @staticmethod
    def _chunk_terms(chunk: Chunk) -> frozenset[str]:
        """A chunk's BM25 terms, for a sparse index that can't say (cached per scorer as `_terms`: jieba dominates the
        scoring time otherwise)."""
        return frozenset(tokenize(chunk.indexed_text))

    def semantic_rank(self, text: str, chunk: Chunk, min_margin: float = 0.0) -> tuple[int, int, int]:
        """``(rank, start, end)`` of the chunk's evidence sentence closest to `text`: rank = how many of the
        corpus' evidence sentences are closer to `text` still (0: the corpus' closest is in this chunk).

        A chunk whose closest sentence is less than `min_margin` above `text`'s median cosine to the corpus
        gets the worst rank: text about something the corpus doesn't cover still has a closest sentence,
        usually in the passage on the nearest theme. The margin, not the corpus size, is what keeps a small
        corpus's ranks honest (the index's calibration fits it: `rag.refusal.calibration`)."""
        rows = self.sentence_rows(chunk.id)
        worst = (len(self.store.sentences), chunk.start, chunk.end)
        if not len(rows):
            return worst
        similarities, median = self.similarities_to_corpus(text)
        best = int(rows[int(np.argmax(similarities[rows]))])
        if min_margin and similarities[best] - median < min_margin:
            return worst
        rank = int(np.count_nonzero(similarities > similarities[best]))
        return (rank, int(self.store.sentences[best][1]), int(self.store.sentences[best][2]))

    def _similarities_to_corpus(self, text: str) -> tuple[np.ndarray, float]:
        """Cosine of `text` to every evidence sentence of the corpus, and their median (cached per scorer as
        `similarities_to_corpus`: a sentence is ranked against each of the answer's passages)."""
        similarities = np.asarray(self.store.sentence_embeddings @ self.query_vector(text))
        return similarities, float(np.median(similarities))

    def sentence_scores(self, text: str, chunk: Chunk) -> list[tuple[int, int, float]]:
        """``[(start, end, cosine)]`` of the chunk's evidence sentences for `text` (source offsets)."""
        rows = self.sentence_rows(chunk.id)
        if not len(rows):
            return []
        similarities = self.store.sentence_embeddings[rows] @ self.query_vector(text)
        return [
            (int(self.store.sentences[row][1]), int(self.store.sentences[row][2]), float(sim))
            for row, sim in zip(rows, similarities)
        ]

    def sentence_rows(self, chunk_id: str) -> np.ndarray:
        """Rows of `store.sentences` that belong to a chunk (empty for chunks without evidence)."""
        row = self._row_of[chunk_id]
        return np.arange(self._sentence_bounds[row], self._sentence_bounds[row + 1])

    def idf(self, term: str) -> float:
        """Lucene's BM25 idf of a term over the index's chunks."""
        n, df = len(self.store.chunks), self.store.sparse.document_frequency(term)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))
