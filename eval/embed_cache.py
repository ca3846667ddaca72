"""A passage-embedding cache on disk for evaluation builds (tuning indexes, the baseline).

Indexes built for comparison share most of their texts (the same sentences, often the same passages);
on 2 shared cores one passage embedding can take a second, so each text is embedded once across builds.
Passages and queries are cached separately, keyed by exact text.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from rag.core.config import Config
from rag.embedding.embedders import Embedder
from rag.index.local import IndexStore

if TYPE_CHECKING:
    from rag.api import RAG


class CachedEmbedder:
    """Wraps an embedder (same ``spec``, so indexes it builds open with the wrapped one)."""

    def __init__(self, inner: Embedder, folder: Path) -> None:
        self.inner = inner
        self.spec = inner.spec
        self.folder = Path(folder) / inner.spec.replace(":", "_").replace("/", "_")
        self.cache = self._load("")
        self.queries = self._load("queries-")
        self._saved = len(self.cache) + len(self.queries)

    def _load(self, prefix: str) -> dict[str, np.ndarray]:
        if not (self.folder / f"{prefix}texts.json").is_file():
            return {}
        texts = json.loads((self.folder / f"{prefix}texts.json").read_text(encoding="utf-8"))
        return dict(zip(texts, np.load(self.folder / f"{prefix}vectors.npy")))

    @property
    def dim(self) -> int:
        return self.inner.dim

    def warm_up(self) -> None:
        self.inner.warm_up()

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._cached(texts, self.queries, self.inner.embed_queries)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._cached(texts, self.cache, self.inner.embed_passages)

    def _cached(self, texts: Sequence[str], cache: dict[str, np.ndarray], embed) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in cache))
        if missing:
            for text, vector in zip(missing, embed(missing)):
                cache[text] = np.asarray(vector, dtype=np.float32)
            if len(self.cache) + len(self.queries) - self._saved >= 64:
                self.save()
        return np.array([cache[t] for t in texts], dtype=np.float32).reshape(len(texts), -1)

    def seed(self, store: IndexStore) -> int:
        """Take the passage and evidence-sentence vectors of an existing index built with this embedder."""
        if store.embedder_spec != self.spec:
            return 0
        before = len(self.cache)
        for chunk, vector in zip(store.chunks, np.asarray(store.embeddings)):
            self.cache.setdefault(chunk.indexed_text, np.asarray(vector, dtype=np.float32))
        for (row, start, end), vector in zip(np.asarray(store.sentences), np.asarray(store.sentence_embeddings)):
            chunk = store.chunks[int(row)]
            self.cache.setdefault(chunk.text[int(start) - chunk.start:int(end) - chunk.start], np.asarray(vector, np.float32))
        return len(self.cache) - before

    def save(self) -> None:
        """Write both caches (each file replaced by rename, so a concurrent reader never sees half)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for prefix, cache in (("", self.cache), ("queries-", self.queries)):
            texts = list(cache)
            vectors = np.array([cache[t] for t in texts], dtype=np.float32).reshape(len(texts), self.dim)
            with tempfile.NamedTemporaryFile(dir=self.folder, suffix=".npy", delete=False) as handle:
                np.save(handle, vectors)
            os.replace(handle.name, self.folder / f"{prefix}vectors.npy")
            with tempfile.NamedTemporaryFile("w", dir=self.folder, encoding="utf-8", delete=False) as handle:
                json.dump(texts, handle, ensure_ascii=False)
            os.replace(handle.name, self.folder / f"{prefix}texts.json")
        self._saved = len(self.cache) + len(self.queries)


def default_cache_dir() -> Path:
    from rag.core.paths import default_index_dir

    return default_index_dir().parent / "eval-embeddings"


def open_cached_rag(index_dir: str | Path, config: Config | None = None, cache: Path | None = None) -> RAG:
    """A `RAG` over `index_dir` whose embedder caches on disk (evaluation scripts ask the same questions
    many times; the answers are identical, only the waiting differs)."""
    from rag.api import RAG
    from rag.embedding.embedders import make_embedder

    config = config if config is not None else Config.load(env={})
    config.index_dir = str(index_dir)
    embedder = CachedEmbedder(make_embedder(config.embedder), cache or default_cache_dir())
    store = IndexStore.open(index_dir, embedder_spec=embedder.spec)
    return RAG(store, config, embedder)
