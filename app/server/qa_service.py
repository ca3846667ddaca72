"""The question-answering service behind ``/v1/ask``, ``/v1/search`` and ``/v1/chat/completions``.

Retrieval and extractive answers run on a pool of worker threads, so many requests proceed at once.
LLM generations go through the `GenerationQueue` (one at a time, a bounded number waiting) and run on
their own thread; a client that goes away, or a request past its deadline, stops its generation at
the next token. The served `RAG` is swapped atomically after a knowledge-base rebuild; requests
already running finish on the index they started with.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterator, Sequence, TypeVar

from rag.answering.answerer import MODES, Answer, AnswerEvent
from rag.api import RAG, generation_of
from rag.conversation.condenser import Standalone
from rag.conversation.history import Turn
from rag.core.config import Config
from rag.core.errors import ConfigError
from rag.core.language import detect_language
from rag.core.schema import Hit
from rag.embedding.embedders import Embedder
from rag.index.stores import open_store
from rag_app.server.limits import Admission, GenerationQueue, TimedOut
from rag_app.server.metrics import Metrics

log = logging.getLogger(__name__)
T = TypeVar("T")
_DONE = object()
GENERATOR_READY = "ready"
GENERATOR_UNAVAILABLE = "unavailable"


class Cancelled(Exception):
    """The generation was stopped (the client left or the deadline passed)."""


@dataclass
class Prepared:
    """A question after retrieval: what the answer stage needs, and whether it will generate. `question` is what
    was searched (a follow-up made standalone); `asked` what the client sent."""

    rag: RAG
    question: str
    hits: list[Hit]
    mode: str
    timings: dict[str, float]
    asked: str
    standalone: Standalone

    @property
    def generates(self) -> bool:
        return self.mode == "llm" and self.rag.is_answerable(self.hits)


class QAService:
    """Search and answers over the currently served index."""

    def __init__(
        self, rag: RAG, generator: Any, metrics: Metrics, queue_size: int = 4, threads: int = 8,
        generator_recheck_s: float = 10.0,
    ) -> None:
        """`generator` (a `rag.generation.base.Generator`, loaded in `warm_up`) must be the one `rag` was built with.
        An unavailable generator is probed again at most every `generator_recheck_s` (see `recheck_generator`)."""
        self._rag = rag
        self.embedder: Embedder = rag.embedder
        self.config: Config = rag.config
        self.generator = generator
        self.metrics = metrics
        self.queue = GenerationQueue(queue_size, on_change=metrics.queue_changed)
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="rag-retrieve")
        self._generation_pool = ThreadPoolExecutor(2, thread_name_prefix="rag-generate")
        self._swap = threading.Lock()
        self._reloading = threading.Lock()
        self.ready = threading.Event()
        self.generator_state = "not loaded"
        self.generator_recheck_s = generator_recheck_s
        self._probe_pool = ThreadPoolExecutor(1, thread_name_prefix="rag-generator-probe")
        self._probe_lock = threading.Lock()
        self._probe: Future | None = None
        self._last_probe = float("-inf")

    @classmethod
    def open(cls, index_dir: str | Path, config: Config, embedder: Embedder, generator: Any, metrics: Metrics, **kwargs: Any) -> "QAService":
        store = open_store(index_dir, embedder_spec=embedder.spec)
        return cls(RAG(store, config, embedder, generator=generator, follow=False), generator, metrics, **kwargs)

    @property
    def rag(self) -> RAG:
        """The `RAG` new requests use."""
        return self._rag

    # -- lifecycle --------------------------------------------------------------------------

    def warm_up(self) -> None:
        """Load the retrieval models (then ready), then, when LLM answers are the default, the
        generator (its state shows in /readyz; otherwise it loads on the first LLM answer)."""
        self.generator_state = "loading"
        self._warm(self.rag)
        self.ready.set()
        log.info("Retrieval models loaded; serving %s", self.rag.store.path)
        if self.config.answer.mode != "llm":
            self.generator_state = "loads on the first LLM answer"
            return
        self._last_probe = time.monotonic()
        self._load_generator()

    def recheck_generator(self) -> Future | None:
        """Probe an unavailable generator again (its `warm_up`: for an ``openai:`` server, GET /models),
        on its own thread, at most once per `generator_recheck_s` and one probe at a time, so frequent
        /readyz calls never pile requests onto a server that is down. Returns the running probe, or
        None when the generator isn't unavailable or the last probe was too recent."""
        if not self.generator_state.startswith(GENERATOR_UNAVAILABLE):
            return None
        with self._probe_lock:
            if self._probe is not None and not self._probe.done():
                return self._probe
            if time.monotonic() - self._last_probe < self.generator_recheck_s:
                return None
            self._last_probe = time.monotonic()
            self._probe = self._probe_pool.submit(self._load_generator)
            return self._probe

    def _load_generator(self) -> None:
        try:
            self.generator.warm_up()
        except Exception as exc:  # the server still answers extractively
            self.generator_state = f"{GENERATOR_UNAVAILABLE}: {exc}"
            log.warning("The answer generator could not be loaded (%s); LLM answers fail until it can.", exc)
            return
        self._generator_worked()

    def _generator_worked(self) -> None:
        if self.generator_state != GENERATOR_READY:
            log.info("The answer generator is ready.")
        self.generator_state = GENERATOR_READY

    def _current(self) -> RAG:
        """The served `RAG`, replaced first when something else rebuilt the index (``rag ingest`` on a
        served ``--index``). Replaced, never changed in place: a request keeps the `RAG` it started
        with, so it retrieves and answers from one index generation. Runs on a worker thread."""
        rag = self._rag
        if rag.store.latest_generation() != generation_of(rag.store):
            with self._reloading:
                if self._rag is rag:
                    self.reload(rag.store.path)
        return self._rag

    def reload(self, index_dir: str | Path) -> None:
        """Open the index at `index_dir` (just rebuilt) and serve it from the next request on."""
        store = open_store(index_dir, embedder_spec=self.embedder.spec, previous=self._rag.store)
        fresh = RAG(store, self.config, self.embedder, generator=self.generator, follow=False)
        self._warm(fresh)
        with self._swap:
            self._rag = fresh
        log.info("Now serving the rebuilt index at %s (%d passages)", store.path, len(store.chunks))

    def _warm(self, rag: RAG) -> None:
        rag.warm_up()
        rag.evidence.warm_up()  # every passage's terms, tokenised before the first request needs them
        rag.retrieve("warm up", k=1)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._generation_pool.shutdown(wait=False, cancel_futures=True)
        self._probe_pool.shutdown(wait=False, cancel_futures=True)
        close_embedder = getattr(self.embedder, "close", None)
        if close_embedder is not None:
            close_embedder()

    # -- requests ---------------------------------------------------------------------------

    async def search(self, question: str, k: int | None, rerank: bool = True, mode: str | None = None) -> list[Hit]:
        timings: dict[str, float] = {}

        def search() -> list[Hit]:
            return self._current().retrieve(question, k=k, mode=mode, rerank=rerank, timings=timings)

        hits = await self._run(search)
        self.metrics.observe_timings(timings)
        return hits

    async def prepare(
        self, question: str, mode: str | None, k: int | None, rerank: bool = True, history: Sequence[Turn] = (),
        deadline: float | None = None,
    ) -> Prepared:
        """Make `question` standalone after `history`, then retrieve for it (concurrently with other requests).

        A follow-up the model must rewrite (or a question it must translate into the documents' language) takes a
        turn in the generation queue like an answer does (`QueueFull`
        when there is no room, `TimedOut` past `deadline`); everything else runs on the retrieval threads."""
        mode = mode or self.config.answer.mode
        if mode not in MODES:
            raise ConfigError(f"Unknown answer mode '{mode}'; use one of: {', '.join(MODES)}.")
        timings: dict[str, float] = {}
        rag = await self._run(self._current)
        plan = await self._run(lambda: rag.plan_standalone(question, history, mode))
        if plan.needs_model:  # a rewrite or a translation
            admission = self.queue.admit()
            async with admission.turn(deadline):
                standalone = await asyncio.get_running_loop().run_in_executor(
                    self._generation_pool, lambda: rag.run_standalone(plan, timings))
        else:
            standalone = await self._run(lambda: rag.run_standalone(plan, timings))
        searched, carried = standalone.question, standalone.carried

        def retrieve() -> Prepared:
            hits = rag.retrieve(searched, k=k, rerank=rerank, timings=timings, carried=carried)
            return Prepared(rag, searched, hits, mode, timings, question, standalone)

        return await self._run(retrieve)

    async def events(
        self, prepared: Prepared, cancel: threading.Event, admission: Admission | None = None, deadline: float | None = None
    ) -> AsyncIterator[AnswerEvent]:
        """The answer stage's events: `Reading`, `Progress`, `Token`s and `Retelling` (LLM), then the checked `Answer`.

        When `prepared.generates`, `admission` (from `self.queue.admit()`) is required: this waits
        for its turn, generates, and gives the place back. Setting `cancel` (or leaving the
        iteration) stops the generation at its next token; past `deadline` this raises `TimedOut`.
        """
        if not prepared.generates:
            if admission is not None:
                admission.release()
            async with aclosing(self._answer_events(prepared, cancel, self._pool, deadline)) as events:
                async for event in events:
                    yield event
            return
        assert admission is not None, "generating needs a place in the queue (QAService.queue.admit())"
        try:
            async with admission.turn(deadline):
                started = time.perf_counter()
                async with aclosing(self._answer_events(prepared, cancel, self._generation_pool, deadline)) as events:
                    async for event in events:
                        yield event
                self.queue.record(time.perf_counter() - started)
                self._generator_worked()  # a generator that failed at start-up is back
        except TimedOut:
            self.metrics.cancelled.labels("timeout").inc()
            raise
        except (asyncio.CancelledError, GeneratorExit):
            self.metrics.cancelled.labels("client gone").inc()
            raise
        finally:
            admission.release()

    async def _answer_events(
        self, prepared: Prepared, cancel: threading.Event, pool: ThreadPoolExecutor, deadline: float | None
    ) -> AsyncIterator[AnswerEvent]:
        rag = prepared.rag

        def stream() -> Iterator[AnswerEvent]:
            return rag.answerer.stream(prepared.question, prepared.hits, mode=prepared.mode, timings=prepared.timings,
                                       language=detect_language(prepared.asked),
                                       quote_if_declined=rag.quotes_if_declined(prepared.standalone),
                                       asked=prepared.standalone.translated_from)

        async with aclosing(_iterate_in_thread(stream, cancel, pool, deadline)) as events:
            async for event in events:
                if isinstance(event, Answer):
                    event = rag.finish(event, prepared.asked, prepared.standalone)
                    self.metrics.observe_answer(event)
                yield event

    async def answer(
        self, prepared: Prepared, cancel: threading.Event, admission: Admission | None = None, deadline: float | None = None
    ) -> Answer:
        """The checked `Answer` (see `events`)."""
        answer = None
        async with aclosing(self.events(prepared, cancel, admission, deadline)) as events:
            async for event in events:
                answer = event
        assert isinstance(answer, Answer)
        return answer

    async def _run(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, work)


async def _iterate_in_thread(
    make: Callable[[], Iterator[T]], cancel: threading.Event, pool: ThreadPoolExecutor, deadline: float | None = None
) -> AsyncIterator[T]:
    """Iterate a blocking iterator on `pool`, handing items to the event loop as they come.

    The worker checks `cancel` after every item and closes the iterator when it is set (for the LLM
    that ends generation and frees the model). Leaving this async iterator early sets `cancel`;
    passing `deadline` (a `time.monotonic()` value) raises `TimedOut` there.
    """
    loop = asyncio.get_running_loop()
    items: asyncio.Queue = asyncio.Queue()

    def put(item: Any) -> None:
        try:
            loop.call_soon_threadsafe(items.put_nowait, item)
        except RuntimeError:  # the event loop is gone (server shutting down)
            cancel.set()

    def work() -> None:
        iterator = None
        try:
            iterator = make()
            for item in iterator:
                if cancel.is_set():
                    put(Cancelled("stopped"))
                    return
                put(item)
            put(_DONE)
        except BaseException as exc:  # handed to the awaiting side
            put(exc)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    loop.run_in_executor(pool, work)
    try:
        while True:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                item = await asyncio.wait_for(items.get(), timeout)
            except TimeoutError:
                raise TimedOut("The answer took longer than the request timeout.") from None
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        cancel.set()
