"""API keys: hashed at rest, two roles, 401 vs 403 against a real server."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest

from rag.core.errors import ConfigError
from rag_app.server.auth import KeyRing, digest
from tests.app.server.conftest import ADMIN_KEY, READ_KEY


def test_keys_from_the_environment_are_kept_only_as_digests() -> None:
    keys = KeyRing.load(env={"RAG_API_KEYS": "alpha:admin, beta:read ,gamma"})
    assert keys.role_of("alpha") == "admin" and keys.role_of("beta") == "read" and keys.role_of("gamma") == "read"
    assert keys.role_of("delta") is None and keys.role_of("alpha:admin") is None
    assert "alpha" not in repr(keys) and "beta" not in repr(keys) and digest("alpha") in repr(keys)


def test_keys_file_holds_roles_and_sha256_digests(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text(f"# ops\nadmin sha256:{digest('s3cret')}\nread {digest('viewer')}  # dashboards\n", encoding="utf-8")
    keys = KeyRing.load(path, env={})
    assert keys.role_of("s3cret") == "admin" and keys.role_of("viewer") == "read" and keys.role_of("other") is None


@pytest.mark.parametrize("line", ["admin s3cret", "owner sha256:" + "0" * 64, "read sha256:xyz"])
def test_a_bad_keys_file_line_is_named(tmp_path: Path, line: str) -> None:
    path = tmp_path / "keys"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"line 1: expected '<role> sha256:<64 hex digits>'"):
        KeyRing.load(path, env={})


def test_no_keys_means_authentication_is_off() -> None:
    assert not KeyRing.load(env={}).enabled


def test_401_without_a_valid_key_and_403_for_a_read_key_on_documents(start_server) -> None:
    server = start_server()
    question = {"question": "KV cache 有什么用？"}
    with server.client(key=None) as anonymous:
        response = anonymous.post("/v1/ask", json=question)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
        assert anonymous.get("/v1/documents").status_code == 401
        assert anonymous.get("/healthz").status_code == 200  # probes need no key
    with server.client(key="not-a-key") as wrong:
        assert wrong.post("/v1/search", json=question).status_code == 401
    with server.client(READ_KEY) as reader:
        assert reader.post("/v1/search", json=question).status_code == 200
        upload = reader.post("/v1/documents", files={"files": ("note.md", b"# Note\n\nText.\n", "text/markdown")})
        assert upload.status_code == 403 and "'read'" in upload.json()["detail"]
        assert reader.delete("/v1/documents/attention.md").status_code == 403
    with server.client(key=None, headers={"X-API-Key": ADMIN_KEY}) as admin:
        assert admin.get("/v1/documents").status_code == 200


def test_without_keys_every_request_is_allowed(start_server) -> None:
    server = start_server(keys=KeyRing())
    with server.client(key=None) as anonymous:
        assert anonymous.get("/v1/documents").status_code == 200


def test_keys_never_reach_the_logs(start_server, caplog) -> None:
    server = start_server(log_level="debug")
    with caplog.at_level(logging.DEBUG):
        with server.client(READ_KEY) as reader:
            assert reader.post("/v1/ask", json={"question": "KV cache 有什么用？"}).status_code == 200
            assert reader.get("/v1/documents").status_code == 403
        with server.client("wrong-secret-key") as wrong:
            assert wrong.post("/v1/search", json={"question": "KV cache"}).status_code == 401
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert '"POST /v1/ask HTTP/1.1" 200' in logged, "the access log was captured"
    for secret in (READ_KEY, "wrong-secret-key", digest(READ_KEY)):
        assert secret not in logged
