"""Probes, metrics, models and the OpenAPI description."""
from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from prometheus_client.parser import text_string_to_metric_families

from rag.embedding.batching import BatchingEmbedder
from rag.generation.openai_compatible import OpenAIGenerator
from rag_app.server.auth import KeyRing
from tests.app.server.conftest import KV_ANSWER, READ_KEY, bound_socket, serve_in_thread
from tests.conftest import PassThroughEmbedder


def test_health_ready_and_metrics(start_server) -> None:
    server = start_server()
    with server.client(READ_KEY) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz").json()
        assert ready["status"] == "ready" and ready["retrieval"] == "ready" and ready["passages"] > 0
        assert client.post("/v1/ask", json={"question": "KV cache 有什么用？"}).status_code == 200
        assert client.post("/v1/ask", json={"question": "今天北京天气怎么样？"}).status_code == 200
        metrics = client.get("/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert 'rag_http_requests_total{method="POST",route="/v1/ask",status="200"} 2.0' in text
    assert 'rag_stage_seconds_count{stage="retrieve"} 2.0' in text
    assert "rag_refusals_total 1.0" in text and 'rag_answers_total{mode="extractive"} 2.0' in text
    assert "rag_generation_queue_waiting 0.0" in text
    with server.client(key=None) as anonymous:
        assert anonymous.get("/metrics").status_code == 401


def test_the_api_is_described_by_openapi(start_server) -> None:
    server = start_server(keys=KeyRing())
    with server.client(key=None) as client:
        spec = client.get("/openapi.json").json()
        assert client.get("/docs").status_code == 200
    assert {"/v1/ask", "/v1/search", "/v1/chat/completions", "/v1/models", "/v1/documents",
            "/v1/documents/{doc_id}", "/healthz", "/readyz", "/metrics"} <= set(spec["paths"])
    assert "citing a passage" in spec["paths"]["/v1/ask"]["post"]["description"]


class CountingOpenAIGenerator(OpenAIGenerator):
    """The real openai: generator, counting its `warm_up` calls (the /readyz probes)."""

    def __init__(self, spec: str) -> None:
        super().__init__(spec, timeout=30, max_retries=0)
        self.probes = 0

    def warm_up(self) -> None:
        self.probes += 1
        super().warm_up()


def _models_server_app(model: str, reply: str | None = None) -> FastAPI:
    """An OpenAI-compatible ``GET /v1/models`` (what an openai: generator's warm-up calls) and, given a
    `reply`, a streaming ``POST /v1/chat/completions`` that writes it (a scripted model over HTTP)."""
    app = FastAPI()

    @app.get("/v1/models")
    def models() -> dict:
        return {"object": "list", "data": [{"id": model, "object": "model", "created": 0, "owned_by": "tests"}]}

    if reply is not None:
        @app.post("/v1/chat/completions")
        def chat() -> StreamingResponse:
            def chunk(delta: dict, finish: str | None) -> str:
                body = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": model,
                        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
                return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

            events = [chunk({"role": "assistant", "content": reply[i:i + 3]}, None) for i in range(0, len(reply), 3)]
            events += [chunk({}, "stop"), "data: [DONE]\n\n"]
            return StreamingResponse(iter(events), media_type="text/event-stream")

    return app


def _poll_readyz(url: str, until, timeout: float = 30) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(f"{url}/readyz")
        if until(response) or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


def test_readyz_turns_ready_when_a_generation_server_down_at_start_comes_back(start_server) -> None:
    sock = bound_socket()  # the generation server's port, refusing connections until it listens
    port = sock.getsockname()[1]
    generator = CountingOpenAIGenerator(f"openai:http://127.0.0.1:{port}/v1#tiny")
    server = start_server(generator=generator, mode="llm", wait=False, generator_recheck_s=0.5)

    down = _poll_readyz(server.url, lambda r: r.json()["generator"].startswith("unavailable"))
    body = down.json()
    assert down.status_code == 503 and body["retrieval"] == "ready", body
    assert f"Could not reach the generation server at http://127.0.0.1:{port}/v1" in body["generator"]

    # Probes are rate-limited: two seconds of back-to-back /readyz calls probe at most ~every 0.5 s.
    before, started = generator.probes, time.monotonic()
    while time.monotonic() - started < 2:
        assert httpx.get(f"{server.url}/readyz").status_code == 503
    assert 1 <= generator.probes - before <= 6

    models, thread, _ = serve_in_thread(_models_server_app("tiny"), sock=sock)
    try:
        back = _poll_readyz(server.url, lambda r: r.status_code == 200, timeout=10)
        assert back.status_code == 200, back.json()
        assert back.json()["generator"] == "ready" and back.json()["status"] == "ready"
        probes = generator.probes
        assert httpx.get(f"{server.url}/readyz").status_code == 200
        assert generator.probes == probes  # a ready generator is not probed again
    finally:
        models.should_exit = True
        thread.join(timeout=10)
    assert not thread.is_alive(), "the /v1/models server did not stop"


def test_a_successful_generation_marks_a_generator_that_was_down_at_start_ready(start_server) -> None:
    sock = bound_socket()
    port = sock.getsockname()[1]
    generator = CountingOpenAIGenerator(f"openai:http://127.0.0.1:{port}/v1#tiny")
    server = start_server(generator=generator, mode="llm", wait=False, generator_recheck_s=3600)  # no re-probes
    down = _poll_readyz(server.url, lambda r: r.json()["generator"].startswith("unavailable"))
    assert down.status_code == 503 and down.json()["retrieval"] == "ready"

    models, thread, _ = serve_in_thread(_models_server_app("tiny", reply=KV_ANSWER), sock=sock)
    try:
        assert httpx.get(f"{server.url}/readyz").status_code == 503  # not probed again yet
        with server.client(READ_KEY) as client:
            answer = client.post("/v1/ask", json={"question": "KV cache 有什么用？"})
        assert answer.status_code == 200 and answer.json()["mode"] == "llm", answer.text
        ready = httpx.get(f"{server.url}/readyz")
        assert ready.status_code == 200 and ready.json()["generator"] == "ready"
    finally:
        models.should_exit = True
        thread.join(timeout=10)
    assert not thread.is_alive(), "the generation server did not stop"


class HeldEmbedder(PassThroughEmbedder):
    """A real embedder that, once `hold()` is called, keeps its next call waiting until `release()`."""

    def __init__(self, inner) -> None:
        super().__init__(inner)
        self._open = threading.Event()
        self._open.set()
        self.entered = threading.Event()

    def hold(self) -> None:
        self.entered.clear()
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def embed_queries(self, texts):
        self.entered.set()
        assert self._open.wait(30)
        return self.inner.embed_queries(texts)


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text) for sample in family.samples
    }


def test_metrics_show_concurrent_query_embeddings_queued_then_encoded_in_one_batch(start_server, e5) -> None:
    held = HeldEmbedder(e5)
    batching = BatchingEmbedder(held)
    server = start_server(embedder=batching)
    query = (("kind", "query"),)
    questions = ["什么是 LoRA？", "KV cache 有什么用？", "混合精度训练有什么好处？", "What is RLHF?"]
    with server.client(READ_KEY) as client, ThreadPoolExecutor(len(questions) + 1) as pool:
        before = _samples(client.get("/metrics").text)
        held.hold()
        first = pool.submit(client.post, "/v1/search", json={"question": "为什么需要位置编码？"})
        assert held.entered.wait(30)  # the embedding thread is busy with the first question
        rest = [pool.submit(client.post, "/v1/search", json={"question": q}) for q in questions]
        until = time.monotonic() + 30
        while batching.waiting < len(questions) and time.monotonic() < until:
            time.sleep(0.01)
        queued = _samples(client.get("/metrics").text)
        held.release()
        assert all(f.result(60).status_code == 200 for f in [first, *rest])
        batching.close()  # joins the embedding thread: batches are counted after their results are handed back
        after = _samples(client.get("/metrics").text)

    assert queued[("rag_embedding_queue_waiting", ())] == len(questions)
    assert after[("rag_embedding_queue_waiting", ())] == 0
    requests = after[("rag_embedding_requests_total", query)] - before[("rag_embedding_requests_total", query)]
    calls = after[("rag_embedding_batch_texts_count", query)] - before[("rag_embedding_batch_texts_count", query)]
    texts = after[("rag_embedding_batch_texts_sum", query)] - before[("rag_embedding_batch_texts_sum", query)]
    assert (requests, calls, texts) == (5, 2, 5)  # the first question alone, then the four that waited together
    assert after[("rag_embedding_batch_texts_bucket", (*query, ("le", "4.0")))] - before[
        ("rag_embedding_batch_texts_bucket", (*query, ("le", "4.0")))] == 2
    assert after[("rag_embedding_batch_texts_count", query)] == batching.batches  # every model call so far was a query
