"""Bounded under load: one generation at a time, a bounded queue (503 + Retry-After), cancellation, timeouts."""
from __future__ import annotations

import threading
import time

import httpx

from rag_app.server.auth import KeyRing
from tests.app.server.conftest import KV_ANSWER


class GatedGenerator:
    """Writes `KV_ANSWER` a piece at a time, each piece only when the test allows one; records how streams end."""

    spec = "test:gated"
    context_size = 2048
    chat_template = None

    def __init__(self) -> None:
        self.pieces = threading.Semaphore(0)
        self.started = threading.Event()
        self.closed_early = threading.Event()
        self.finished = 0

    def warm_up(self) -> None:
        pass

    def allow(self, pieces: int = 1000) -> None:
        self.pieces.release(pieces)

    def count_tokens(self, text: str) -> int:
        return len(text) // 2 + 1

    def stream(self, prompt: str, max_tokens: int = 256, stop=()):
        self.started.set()
        done = False
        try:
            for start in range(0, len(KV_ANSWER), 3):
                if not self.pieces.acquire(timeout=30):
                    raise TimeoutError("the test never opened the gate")
                yield KV_ANSWER[start:start + 3]
            done = True
            self.finished += 1
        finally:
            if not done:
                self.closed_early.set()


def _ask_in_thread(url: str, results: list, body: dict | None = None) -> threading.Thread:
    def run() -> None:
        results.append(httpx.post(f"{url}/v1/ask", json=body or {"question": "KV cache 有什么用？"}, timeout=60))

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_full_generation_queue_answers_503_with_retry_after(start_server) -> None:
    generator = GatedGenerator()
    server = start_server(generator=generator, keys=KeyRing(), mode="llm", queue_size=1)
    first, second = [], []
    threads = [_ask_in_thread(server.url, first)]
    assert generator.started.wait(30)  # generating
    threads.append(_ask_in_thread(server.url, second))  # waiting
    until = time.monotonic() + 30
    while server.services.qa.queue.waiting < 1 and time.monotonic() < until:
        time.sleep(0.02)
    refused = httpx.post(f"{server.url}/v1/ask", json={"question": "KV cache 有什么用？"}, timeout=30)
    assert refused.status_code == 503 and int(refused.headers["retry-after"]) >= 1
    assert "queue is full" in refused.json()["detail"]
    extractive = httpx.post(f"{server.url}/v1/ask", json={"question": "KV cache 有什么用？", "mode": "extractive"}, timeout=30)
    assert extractive.status_code == 200, "answers that don't generate never wait for the model"
    generator.allow()
    for thread in threads:
        thread.join(60)
    assert [r.status_code for r in first + second] == [200, 200] and generator.finished == 2
    metrics = httpx.get(f"{server.url}/metrics").text
    assert "rag_generation_rejected_total 1.0" in metrics


def test_a_client_that_leaves_stops_its_generation(start_server) -> None:
    generator = GatedGenerator()
    server = start_server(generator=generator, keys=KeyRing(), mode="llm")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        with client.stream("POST", "/v1/ask", json={"question": "KV cache 有什么用？", "stream": True}) as response:
            generator.allow(1)
            for line in response.iter_lines():
                if line.startswith("event: token"):
                    break  # hang up mid-answer, while the model waits to write its next piece
    queue = server.services.qa.queue
    until = time.monotonic() + 10
    while (queue.running or queue.waiting) and time.monotonic() < until:  # the server noticed and gave the model back
        time.sleep(0.02)
    assert queue.running == 0 and queue.waiting == 0
    generator.allow()
    assert generator.closed_early.wait(30), "the generation was stopped at its next piece, not finished"
    assert generator.finished == 0
    assert 'rag_generation_cancelled_total{reason="client gone"} 1.0' in httpx.get(f"{server.url}/metrics").text


def test_past_the_timeout_a_generation_is_stopped_with_504(start_server) -> None:
    generator = GatedGenerator()
    # The deadline counts from the request's arrival: it must leave retrieval time on a loaded machine (0.5 s did
    # not, in CI), so that it passes while the model is generating rather than before it starts.
    server = start_server(generator=generator, keys=KeyRing(), mode="llm", request_timeout_s=3.0)
    response = httpx.post(f"{server.url}/v1/ask", json={"question": "KV cache 有什么用？"}, timeout=30)
    assert response.status_code == 504
    assert generator.started.is_set(), "the deadline passed before generation started: nothing was running to stop"
    generator.allow()
    assert generator.closed_early.wait(30), "the generation was stopped at its next piece, not finished"
    assert generator.finished == 0
