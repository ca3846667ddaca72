"""Wiring: services from settings, the FastAPI app around them, and `serve` (what ``rag serve`` runs)."""
from __future__ import annotations

import ipaddress
import logging
import threading
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from rag.core.config import Config, ServerConfig
from rag.core.errors import ConfigError
from rag.core.paths import default_data_dir
from rag.embedding.batching import BatchingEmbedder
from rag.embedding.embedders import Embedder, make_embedder
from rag_app.server import (
    ask_router,
    chat_router,
    documents_router,
    errors,
    health_router,
    search_router,
)
from rag_app.server.auth import KeyRing
from rag_app.server.dependencies import MAX_QUESTION_CHARS, MAX_TOP_K
from rag_app.server.documents_service import DocumentsService
from rag_app.server.gate import RequestGate, guard
from rag_app.server.limits import BodySizeLimit
from rag_app.server.metrics import Metrics
from rag_app.server.observe import RequestObserver
from rag_app.server.openapi import EVERY_REQUEST, document_limits, error_responses
from rag_app.server.qa_service import QAService
from rag_ingest.knowledge_base import KnowledgeBase, open_knowledge_base

log = logging.getLogger("rag.server")
API_DESCRIPTION = """Every error (4xx, 5xx) has one JSON shape, `ErrorBody`: `detail` (what was wrong and what to do),
`request_id` (also the `X-Request-ID` header of every response), `errors` for invalid fields and `rejected` for
refused uploads. Keys are checked before a body is read. See docs/http-api.md for the limits."""


@dataclass
class Services:
    qa: QAService
    documents: DocumentsService
    metrics: Metrics


def build_services(
    config: Config,
    embedder: Embedder | None = None,
    generator: Any = None,
    knowledge_base: KnowledgeBase | None = None,
) -> Services:
    """Open what the server serves: ``config.index_dir`` (``--index``) read-only, else the knowledge base in
    ``config.data_dir`` (``--data-dir``; seeded with the bundled corpus and indexed on first use). `embedder`,
    `generator` and an opened `knowledge_base` replace the configured ones (tests, embedding apps)."""
    metrics = Metrics()
    embedder = embedder if embedder is not None else make_embedder(config.embedder)
    # concurrent searches share one embedding thread and are encoded together
    batching = embedder if isinstance(embedder, BatchingEmbedder) else BatchingEmbedder(embedder)
    batching.on_batch = metrics.embedding_batched
    metrics.watch_embedding_queue(lambda: batching.waiting)
    embedder = batching
    if generator is None:
        from rag.generation.factory import make_generator

        answer = config.answer
        generator = make_generator(answer.generator, n_ctx=answer.n_ctx, repeat_penalty=answer.repeat_penalty)
    if knowledge_base is not None:
        index_dir = knowledge_base.index_dir
    elif config.index_dir is not None:
        index_dir = config.index_dir
    else:
        data_dir = config.data_dir or default_data_dir()
        knowledge_base = open_knowledge_base(data_dir, config, embedder, config.server.max_upload_bytes)
        index_dir = knowledge_base.index_dir
    server = config.server
    qa = QAService.open(index_dir, config, embedder, generator, metrics,
                        queue_size=server.queue_size, threads=server.retrieval_threads,
                        generator_recheck_s=server.generator_recheck_s)
    documents = DocumentsService(knowledge_base, index_dir, qa.reload, metrics)
    return Services(qa, documents, metrics)


def create_app(services: Services, settings: ServerConfig, keys: KeyRing) -> FastAPI:
    """The FastAPI app: routers, auth (per router), body limits, metrics, error mapping."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        threading.Thread(target=services.qa.warm_up, name="rag-warm-up", daemon=True).start()
        yield
        services.documents.close()
        services.qa.close()

    app = FastAPI(
        title="rag-local",
        summary="Cited answers from your documents: ask, search, OpenAI-compatible chat, knowledge-base management.",
        description=API_DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.qa = services.qa
    app.state.documents = services.documents
    app.state.metrics = services.metrics
    app.state.settings = settings
    app.state.keys = keys
    routers = (ask_router, search_router, chat_router, documents_router, health_router)
    for module in routers:
        app.include_router(module.router, responses=error_responses(*EVERY_REQUEST))
    errors.install(app)
    limits = services.qa.config.limits
    top_k = {"maximum": min(MAX_TOP_K, limits.max_top_k)}
    document_limits(app, {
        ("AskRequest", "question"): {"maxLength": min(MAX_QUESTION_CHARS, limits.max_question_chars)},
        ("SearchRequest", "question"): {"maxLength": min(MAX_QUESTION_CHARS, limits.max_question_chars)},
        ("AskRequest", "top_k"): top_k, ("SearchRequest", "top_k"): top_k, ("ChatRequest", "top_k"): top_k,
    })

    def body_limit(path: str) -> int:
        return settings.max_upload_body_bytes if path.rstrip("/") == "/v1/documents" else settings.max_body_bytes

    # outermost last: ids, metrics and the 500s see everything; keys are checked before any body is read
    app.add_middleware(BodySizeLimit, limit_for=body_limit)
    app.add_middleware(RequestGate, routes=guard(r for module in routers for r in module.router.routes), keys=keys)
    app.add_middleware(RequestObserver, metrics=services.metrics)
    return app


def check_bind(settings: ServerConfig, keys: KeyRing) -> str:
    """What to tell the operator about access; ConfigError for a non-loopback bind without keys."""
    if keys.enabled:
        return f"API keys required ({len(keys.hashed)} configured)."
    if is_loopback(settings.host):
        return "No API keys configured: listening on loopback only, so only this machine can connect."
    if not settings.insecure:
        raise ConfigError(
            f"Refusing to listen on {settings.host} without API keys: anyone who can reach it could read and change "
            "the documents. Set RAG_API_KEYS (key:role,...) or --keys-file, bind to 127.0.0.1, or pass --insecure."
        )
    return f"WARNING: listening on {settings.host} WITHOUT API keys (--insecure): anyone who can reach it has admin access."


def serve(config: Config) -> int:
    """Check the bind, open the services, run uvicorn until interrupted."""
    import uvicorn

    settings = config.server
    keys = KeyRing.load(settings.keys_file)
    access = check_bind(settings, keys)
    services = build_services(config)
    app = create_app(services, settings, keys)
    log.warning("%s Serving %s on http://%s:%d (docs at /docs)", access, services.qa.rag.store.path, settings.host, settings.port)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", access_log=True)
    return 0


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
