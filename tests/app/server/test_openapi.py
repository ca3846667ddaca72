"""The OpenAPI document tells the truth: key schemes, every status each operation answers, the limits the
server enforces, strict types, the real content types. (test_fuzz.py checks responses against it.)"""
from __future__ import annotations

from rag.core.config import Config
from rag_app.server.auth import KeyRing
from tests.app.server.conftest import READ_KEY

STATUSES = {
    ("post", "/v1/ask"): {"200", "400", "401", "413", "422", "500", "503", "504"},
    ("post", "/v1/search"): {"200", "400", "401", "413", "422", "500"},
    ("post", "/v1/chat/completions"): {"200", "400", "401", "404", "413", "422", "500", "503", "504"},
    ("get", "/v1/models"): {"200", "401", "413", "500"},
    ("get", "/v1/documents"): {"200", "401", "403", "413", "500"},
    ("post", "/v1/documents"): {"202", "400", "401", "403", "409", "413", "422", "500"},
    ("delete", "/v1/documents/{doc_id}"): {"202", "401", "403", "404", "409", "413", "422", "500"},
    ("get", "/v1/documents/jobs/{job_id}"): {"200", "401", "403", "404", "413", "422", "500"},
    ("get", "/healthz"): {"200", "413", "500"},
    ("get", "/readyz"): {"200", "413", "500", "503"},
    ("get", "/metrics"): {"200", "401", "413", "500"},
}
OPEN = {("get", "/healthz"), ("get", "/readyz")}


def test_every_operation_declares_its_statuses_keys_and_error_body(start_server) -> None:
    with start_server().client(READ_KEY) as client:
        spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"] == {
        "bearer": {"type": "http", "scheme": "bearer", "description": "`Authorization: Bearer <key>` (what OpenAI clients send)"},
        "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "the key in an `X-API-Key` header"},
    }
    operations = {(method, path): op for path, ops in spec["paths"].items() for method, op in ops.items()}
    assert set(operations) == set(STATUSES)
    for key, op in operations.items():
        assert set(op["responses"]) == STATUSES[key], key
        assert op.get("security") == (None if key in OPEN else [{"bearer": []}, {"apiKey": []}]), key
        for status, response in op["responses"].items():
            if status >= "400" and not (key == ("get", "/readyz") and status == "503"):
                assert response["content"] == {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}


def test_content_types_are_the_real_ones(start_server) -> None:
    server = start_server()
    with server.client(READ_KEY) as client:
        paths = client.get("/openapi.json").json()["paths"]
        metrics = client.get("/metrics")
    assert set(paths["/metrics"]["get"]["responses"]["200"]["content"]) == {"text/plain"}
    assert metrics.headers["content-type"].startswith("text/plain")
    for path in ("/v1/ask", "/v1/chat/completions"):
        assert set(paths[path]["post"]["responses"]["200"]["content"]) == {"application/json", "text/event-stream"}


def test_the_documented_limits_are_the_enforced_ones(start_server) -> None:
    config = Config()
    config.limits.max_question_chars, config.limits.max_top_k = 300, 20
    server = start_server(keys=KeyRing(), config=config)
    with server.client(key=None) as client:
        schemas = client.get("/openapi.json").json()["components"]["schemas"]
        for name in ("AskRequest", "SearchRequest"):
            question = schemas[name]["properties"]["question"]
            assert (question["maxLength"], question["minLength"]) == (300, 1)
            assert question["pattern"].startswith("^[^\\u0000-\\u0008")
            assert schemas[name]["properties"]["top_k"]["anyOf"][0]["maximum"] == 20
            assert schemas[name]["properties"]["rerank"]["type"] == "boolean"
        assert schemas["ChatRequest"]["properties"]["top_k"]["anyOf"][0]["maximum"] == 20
        assert client.post("/v1/search", json={"question": "x" * 300}).status_code == 200
        assert client.post("/v1/search", json={"question": "x" * 301}).status_code == 422
        assert client.post("/v1/search", json={"question": "KV cache", "top_k": 20}).status_code == 200
        assert client.post("/v1/search", json={"question": "KV cache", "top_k": 21}).status_code == 422
