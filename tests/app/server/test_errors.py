"""The one error path: an unexpected exception is a logged, counted 500 with a request id; /metrics
keeps a bounded set of series whatever methods and paths clients make up."""
from __future__ import annotations

import logging
from collections import Counter

from prometheus_client.parser import text_string_to_metric_families

from rag_app.server.observe import METHODS, OTHER
from tests.app.server.conftest import READ_KEY, raw_request
from tests.conftest import PassThroughEmbedder

CRASH = "CRASH-THE-EMBEDDER"


class CrashingEmbedder(PassThroughEmbedder):
    """The real embedder, except that a query containing `CRASH` raises (a bug deep in a stage)."""

    def embed_queries(self, texts):
        if any(CRASH in text for text in texts):
            raise RuntimeError("the embedding engine broke (secret internal detail)")
        return self.inner.embed_queries(texts)


def _series(metrics: str, name: str) -> set[tuple[tuple[str, str], ...]]:
    return {tuple(sorted(s.labels.items())) for family in text_string_to_metric_families(metrics)
            for s in family.samples if s.name == name}


def test_an_unexpected_exception_is_a_logged_counted_500_with_a_request_id(start_server, e5, caplog) -> None:
    server = start_server(embedder=CrashingEmbedder(e5))
    with caplog.at_level(logging.ERROR, logger="rag.server"), server.client(READ_KEY) as client:
        response = client.post("/v1/search", json={"question": f"{CRASH} KV cache"})
        metrics = client.get("/metrics").text
        assert client.post("/v1/search", json={"question": "KV cache"}).status_code == 200, "the server still serves"
    assert response.status_code == 500 and response.headers["content-type"] == "application/json"
    body = response.json()
    rid = response.headers["x-request-id"]
    assert body == {"detail": f"Internal server error; the server logged it as request {rid}.", "request_id": rid}
    logged = [r for r in caplog.records if rid in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is not None
    assert "RuntimeError: the embedding engine broke" in caplog.text and "Traceback" in caplog.text
    assert 'rag_http_requests_total{method="POST",route="/v1/search",status="500"} 1.0' in metrics


def test_every_response_carries_a_request_id(start_server) -> None:
    server = start_server()
    with server.client(READ_KEY) as client:
        ids = {client.get("/healthz").headers["x-request-id"], client.get("/nowhere").headers["x-request-id"],
               client.post("/v1/search", json={"question": "KV cache"}).headers["x-request-id"]}
    assert len(ids) == 3 and all(len(i) == 32 for i in ids)


def test_made_up_methods_and_paths_fold_into_other(start_server) -> None:
    server = start_server()
    labels = ("rag_http_requests_total", "rag_http_request_seconds_count")
    with server.client(READ_KEY) as client:
        before = client.get("/metrics").text
        # no key (none is needed to try); each on its own connection, as a client making them up would
        statuses = Counter(raw_request(server, f"{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())[0]
                           for i in range(1000)
                           for method, path in [(f"M{i}", "/healthz"), ("GET", f"/made/up/{i}"), (f"X{i}", f"/v1/ask/{i}")])
        after = client.get("/metrics").text
    assert statuses == {405: 1000, 404: 2000}
    for name in labels:
        added = _series(after, name) - _series(before, name)
        assert len(added) <= 4, added
    routes = {dict(s)["route"] for s in _series(after, "rag_http_requests_total")}
    methods = {dict(s)["method"] for s in _series(after, "rag_http_requests_total")}
    assert methods <= METHODS | {OTHER} and OTHER in methods
    assert routes <= {"/healthz", "/readyz", "/metrics", OTHER}
    assert 'rag_http_requests_total{method="other",route="/healthz",status="405"} 1000.0' in after
    assert 'rag_http_requests_total{method="other",route="other",status="404"} 1000.0' in after
