"""``rag serve`` refuses an open bind without keys, before loading anything."""
from __future__ import annotations

import pytest

from rag.core.config import ServerConfig
from rag.core.errors import ConfigError
from rag_app import cli
from rag_app.server.application import check_bind, is_loopback
from rag_app.server.auth import KeyRing, digest


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.5", False), ("example.org", False),
])
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_a_public_bind_needs_keys_or_insecure() -> None:
    with pytest.raises(ConfigError, match="Refusing to listen on 0.0.0.0 without API keys"):
        check_bind(ServerConfig(host="0.0.0.0"), KeyRing())
    assert "WITHOUT API keys" in check_bind(ServerConfig(host="0.0.0.0", insecure=True), KeyRing())
    assert "API keys required" in check_bind(ServerConfig(host="0.0.0.0"), KeyRing(((digest("k"), "read"),)))
    assert "loopback only" in check_bind(ServerConfig(), KeyRing())


def test_the_command_refuses_with_one_line(capsys, monkeypatch) -> None:
    monkeypatch.delenv("RAG_API_KEYS", raising=False)
    assert cli.main(["serve", "--host", "0.0.0.0", "--port", "8765"]) == 2
    assert "Refusing to listen on 0.0.0.0 without API keys" in capsys.readouterr().err
    assert cli.main(["serve", "--port", "70000"]) == 2
    assert "port" in capsys.readouterr().err
