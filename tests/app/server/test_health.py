"""Probes, metrics, models and the OpenAPI description."""
from __future__ import annotations

from app.server.auth import KeyRing
from tests.app.server.conftest import READ_KEY


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
