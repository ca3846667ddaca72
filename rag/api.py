"""The public Python API: open an index and query it. The CLI, UI and eval all go through here."""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from rag.answer import Answer, Answerer, Token
from rag.config import Config
from rag.extractive import ExtractiveAnswerer
from rag.defaults import default_corpus_files, default_index_dir
from rag.embedders import Embedder, make_embedder
from rag.evidence import EvidenceScorer
from rag.rerankers import EvidenceReranker, Reranker, make_reranker
from rag.retriever import Retriever
from rag.schema import Hit
from rag.store import IndexStore

log = logging.getLogger(__name__)


class RAG:
    """Question answering over one index.

    >>> rag = RAG.open()                       # the bundled corpus, built on first use
    >>> hits = rag.retrieve("混合精度训练有什么好处？", k=5)
    """

    def __init__(self, store: IndexStore, config: Config, embedder: Embedder, generator: Any = None) -> None:
        """Prefer `RAG.open`. `generator` (a `rag.llm.Generator`) replaces the configured one."""
        self.store = store
        self.config = config
        self.embedder = embedder
        self.retriever = Retriever(store, embedder, config.retrieval)
        scorer = EvidenceScorer(store, self.retriever.query_vector)
        self.evidence = scorer
        """Evidence measures (best sentence, coverage, bare-question margin) for hits of this index."""
        self.reranker: Reranker = make_reranker(config.rerank.reranker, scorer, config.rerank)
        self._first_stage_only = EvidenceReranker(scorer, reorder=False)
        factory = (lambda: generator) if generator is not None else self._make_generator
        self.answerer = Answerer(ExtractiveAnswerer(scorer), self.is_answerable, config.answer, factory)
        self._warm = False
        self._lock = threading.Lock()

    @classmethod
    def open(cls, index_dir: str | Path | None = None, config: Config | None = None, progress: bool = True) -> "RAG":
        """Open `index_dir` (or ``config.index_dir``, or the default index, built from the corpus if needed)."""
        config = config if config is not None else Config.load()
        embedder = make_embedder(config.embedder)
        chosen = index_dir or config.index_dir
        if chosen is None:
            chosen = ensure_default_index(config, embedder, progress=progress)
        store = IndexStore.open(chosen, embedder_spec=embedder.spec)
        return cls(store, config, embedder)

    def warm_up(self) -> None:
        """Load the models now rather than on the first question (thread-safe, idempotent)."""
        with self._lock:
            if not self._warm:
                self.retriever.warm_up()
                self.reranker.warm_up()
                self._warm = True

    def retrieve(
        self,
        question: str,
        k: int | None = None,
        mode: str | None = None,
        rerank: bool = True,
        timings: dict[str, float] | None = None,
    ) -> list[Hit]:
        """The best `k` passages for `question`, each with a 0..1 ``relevance`` score.

        `mode` picks the first stage (``hybrid`` default, ``dense``, ``sparse``); its top
        ``rerank.top_n`` hits are re-ordered by the configured reranker unless `rerank` is False.
        A `timings` dict receives ``first_stage_ms``, ``rerank_ms`` and ``retrieve_ms``.
        """
        self.warm_up()
        k = self.config.retrieval.top_k if k is None else k
        started = time.perf_counter()
        candidates = self.retriever.retrieve(question, k=max(k, self.config.rerank.top_n), mode=mode)
        fused = time.perf_counter()
        second_stage = self.reranker if rerank else self._first_stage_only
        hits = second_stage.rerank(question, candidates)[:k]
        if timings is not None:
            done = time.perf_counter()
            timings.update(
                first_stage_ms=1000 * (fused - started), rerank_ms=1000 * (done - fused), retrieve_ms=1000 * (done - started)
            )
        return hits

    def ask(self, question: str, mode: str | None = None, k: int | None = None, rerank: bool = True) -> Answer:
        """A cited answer (``.text .citations .abstained .hits .timings .mode``); `mode` is ``llm`` or ``extractive``."""
        answer = None
        for event in self.stream(question, mode=mode, k=k, rerank=rerank):
            answer = event
        assert isinstance(answer, Answer)
        return answer

    def stream(
        self, question: str, mode: str | None = None, k: int | None = None, rerank: bool = True
    ) -> Iterator[Token | Answer]:
        """`Token` events as the model writes (LLM mode), then the final, citation-checked `Answer`.

        `k` and `rerank` are as for `retrieve`; the answer's timings include every stage's.
        """
        timings: dict[str, float] = {}
        hits = self.retrieve(question, k=k, rerank=rerank, timings=timings)
        yield from self.answerer.stream(question, hits, mode=mode, timings=timings)

    def _make_generator(self):
        from rag.llm import make_generator

        settings = self.config.answer
        return make_generator(settings.generator, n_ctx=settings.n_ctx, repeat_penalty=settings.repeat_penalty)

    @property
    def min_relevance(self) -> float:
        """Best-hit relevance below which the documents are taken not to answer a question."""
        configured = self.config.rerank.min_relevance
        return self.reranker.default_threshold if configured is None else configured

    def is_answerable(self, hits: list[Hit]) -> bool:
        """Whether the best (first) of `hits` is relevant enough to answer from."""
        return bool(hits) and hits[0].scores.get("relevance", 0.0) >= self.min_relevance


def ensure_default_index(config: Config, embedder: Embedder, progress: bool = True) -> Path:
    """The default index directory, (re)built from the bundled corpus when missing or out of date.

    An index a user built at the default location from other documents is left alone.
    """
    from ingest.builder import IndexBuilder

    index_dir = default_index_dir()
    files = default_corpus_files()
    builder = IndexBuilder(config, embedder)
    if builder.needs_build(files, index_dir, only_if_sources_match=True):
        log.warning("Building the default index from the bundled corpus at %s (first run only)", index_dir)
        builder.build(files, index_dir, progress=progress)
    return index_dir
