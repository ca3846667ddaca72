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
from rag.defaults import default_index_dir
from rag.embedders import Embedder, make_embedder
from rag.errors import IndexNotFoundError
from rag.evidence import EvidenceScorer
from rag.rerankers import EvidenceReranker, Reranker, make_reranker
from rag.retriever import Retriever
from rag.schema import Hit
from rag.store import MANIFEST, IndexStore, backup_path

log = logging.getLogger(__name__)


class RAG:
    """Question answering over one index.

    >>> rag = RAG.open()                       # the default index (build it first: rag ingest)
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
        """Open `index_dir` (or ``config.index_dir``, or the default index).

        The library never builds an index: when the default one is missing this raises
        `IndexNotFoundError` naming the command that builds it (``rag ingest``). Front doors use
        `ingest.default_index.open_rag`, which builds the default index on first use. `progress`
        is kept for callers of the earlier signature and has no effect here.
        """
        config = config if config is not None else Config.load()
        embedder = make_embedder(config.embedder)
        chosen = index_dir or config.index_dir
        if chosen is None:
            chosen = default_index_dir()
            if not store_exists(chosen):
                raise IndexNotFoundError(
                    f"The default index at '{chosen}' has not been built yet. Build it from the bundled corpus "
                    "with: rag ingest (or, in Python, open it with ingest.default_index.open_rag(), which builds "
                    "it on first use); or give an index directory of your own."
                )
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


def store_exists(index_dir: Path) -> bool:
    """Whether an index (or its surviving previous version) is at `index_dir`."""
    return (index_dir / MANIFEST).is_file() or (backup_path(index_dir) / MANIFEST).is_file()
