"""Prometheus metrics, one registry per app (so several servers in one process don't collide)."""
from __future__ import annotations

from typing import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from rag.answering.answerer import Answer

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
STAGES = ("first_stage_ms", "rerank_ms", "retrieve_ms", "first_token_ms", "generate_ms", "translate_ms", "total_ms")


class Metrics:
    """Requests, latencies (per request and per pipeline stage), refusals, fallbacks, queue depths,
    embedding batches."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "rag_http_requests", "HTTP requests by route and status.", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "rag_http_request_seconds", "Time to the response headers, by route.", ["route"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.stage = Histogram(
            "rag_stage_seconds", "Pipeline stage durations (the Answer timings).", ["stage"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.answers = Counter("rag_answers", "Answers by mode.", ["mode"], registry=self.registry)
        self.refusals = Counter("rag_refusals", "Answers that abstained (the documents don't answer).", registry=self.registry)
        self.fallbacks = Counter(
            "rag_fallbacks", "LLM answers replaced by the extractive answer after the citation check.", registry=self.registry
        )
        self.rejected = Counter(
            "rag_generation_rejected", "LLM requests refused with 503 because the queue was full.", registry=self.registry
        )
        self.cancelled = Counter(
            "rag_generation_cancelled", "Generations stopped early (client gone or timeout).", ["reason"], registry=self.registry
        )
        self.queue_waiting = Gauge("rag_generation_queue_waiting", "LLM requests waiting for their turn.", registry=self.registry)
        self.queue_running = Gauge("rag_generation_running", "Generations in progress.", registry=self.registry)
        self.rebuilds = Counter("rag_index_rebuilds", "Knowledge-base rebuilds by outcome.", ["outcome"], registry=self.registry)
        self.embedding_requests = Counter(
            "rag_embedding_requests", "Embedding requests by kind (query, passage); each is one caller's texts.", ["kind"],
            registry=self.registry,
        )
        self.embedding_batch = Histogram(
            "rag_embedding_batch_texts",
            "Texts per embedding-model call, by kind (its _count is the model calls: fewer than the requests "
            "when concurrent queries were encoded together).", ["kind"], buckets=BATCH_BUCKETS, registry=self.registry,
        )
        self.embedding_waiting = Gauge(
            "rag_embedding_queue_waiting", "Embedding requests waiting for the embedding thread.", registry=self.registry
        )

    def queue_changed(self, waiting: int, running: int) -> None:
        self.queue_waiting.set(waiting)
        self.queue_running.set(running)

    def embedding_batched(self, kind: str, requests: int, texts: int) -> None:
        """A `rag.embedding.batching.BatchObserver`: one embedding-model call served `requests` requests."""
        self.embedding_requests.labels(kind).inc(requests)
        self.embedding_batch.labels(kind).observe(texts)

    def watch_embedding_queue(self, waiting: Callable[[], int]) -> None:
        """Report `waiting()` (read when /metrics is scraped) as the embedding queue depth."""
        self.embedding_waiting.set_function(waiting)

    def observe_answer(self, answer: Answer) -> None:
        self.answers.labels(answer.mode).inc()
        if answer.abstained:
            self.refusals.inc()
        if answer.fallback:
            self.fallbacks.inc()
        self.observe_timings(answer.timings)

    def observe_timings(self, timings: dict[str, float]) -> None:
        for name, value in timings.items():
            if name in STAGES:
                self.stage.labels(name.removesuffix("_ms")).observe(value / 1000)

    def render(self) -> bytes:
        return generate_latest(self.registry)
