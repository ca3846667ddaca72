"""The OpenAPI document against the real server: schemathesis generates requests for every operation
from the document (valid ones and invalid ones) and checks each answer: no 5xx, a status the operation
documents, a documented content type, and a body that matches the documented schema.

Bounded and repeatable: a fixed number of generated requests per operation, derandomized (the same
requests every run: about 1,500 over the 11 operations, 30 s on 2 cores), no example database; the
server answers extractively (a request for LLM answers gets the scripted test generator). Runs with the
admin key, so every operation is reached; tests/app/server/test_hostile.py covers keys and hand-made
hostile requests.
"""
from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from prometheus_client.parser import text_string_to_metric_families
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.app.server.conftest import ADMIN_KEY

EXAMPLES_PER_OPERATION = 200
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def api_schema(start_server):
    """The document the running server publishes; the fuzzer sends the admin key (and generates no other)."""
    server = start_server(max_upload_mb=0.05)  # uploads over 50 KiB reach the per-file 413
    config = SchemathesisConfig.from_dict({
        "headers": {"Authorization": f"Bearer {ADMIN_KEY}"},
        "generation": {"max-examples": EXAMPLES_PER_OPERATION, "database": "none", "with-security-parameters": False},
        "phases": {"stateful": {"enabled": False}},
        "request-timeout": 30,
    })
    yield schemathesis.openapi.from_url(f"{server.url}/openapi.json", config=config)
    with server.client(ADMIN_KEY) as client:  # the server's own count: the fuzzer did reach it, and nothing failed
        counted = _requests_by_status(client.get("/metrics").text)
    assert sum(counted.values()) > 1000, counted
    assert not any(status.startswith("5") for status in counted), counted


def _requests_by_status(metrics: str) -> dict[str, float]:
    counted: dict[str, float] = {}
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name == "rag_http_requests_total":
                counted[sample.labels["status"]] = counted.get(sample.labels["status"], 0) + sample.value
    return counted


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@hypothesis.settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, deadline=None, database=None,
                     suppress_health_check=list(hypothesis.HealthCheck), print_blob=False)
def test_every_operation_answers_as_documented(case) -> None:
    case.call_and_validate(checks=CHECKS)
