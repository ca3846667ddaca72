"""How routers reach the services and settings of the app they run in (handed in, never global)."""
from __future__ import annotations

import asyncio
import threading
import time

from fastapi import HTTPException, Request

from rag.core.config import ServerConfig
from rag_app.server.documents_service import DocumentsService
from rag_app.server.limits import Admission, QueueFull
from rag_app.server.qa_service import Prepared, QAService

MAX_QUESTION_CHARS = 2000
MAX_TOP_K = 50


def qa_service(request: Request) -> QAService:
    return request.app.state.qa


def documents_service(request: Request) -> DocumentsService:
    return request.app.state.documents


def settings(request: Request) -> ServerConfig:
    return request.app.state.settings


def deadline(request: Request) -> float:
    """When this request must be finished (`time.monotonic()`), from ``--timeout``."""
    return time.monotonic() + request.app.state.settings.request_timeout_s


def admit(qa: QAService, prepared: Prepared) -> Admission | None:
    """A place in the generation queue when `prepared` will generate; 503 + Retry-After when full."""
    if not prepared.generates:
        return None
    try:
        return qa.queue.admit()
    except QueueFull as exc:
        qa.metrics.rejected.inc()
        raise HTTPException(503, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None


async def watch_disconnect(request: Request, cancel: threading.Event, every_s: float = 0.25) -> None:
    """Set `cancel` when the client goes away (run as a task beside a non-streaming answer)."""
    while not cancel.is_set():
        if await request.is_disconnected():
            cancel.set()
            return
        await asyncio.sleep(every_s)
