"""How routers reach the services and settings of the app they run in (handed in, never global)."""
from __future__ import annotations

import asyncio
import threading
import time

from typing import Sequence

from fastapi import HTTPException, Request

from rag.conversation.history import Turn
from rag.core.config import ServerConfig
from rag_app.server.documents_service import DocumentsService
from rag_app.server.limits import Admission, QueueFull, TimedOut
from rag_app.server.qa_service import Prepared, QAService

MAX_QUESTION_CHARS = 2000
MAX_TOP_K = 50
MAX_HISTORY_TURNS = 50
"""Most earlier turns a request may send (a bound on the body's work; the library reads only the last
``conversation.max_turns`` of them)."""
MAX_ANSWER_CHARS = 20_000
"""Longest earlier answer a request may send (the library reads its first ``conversation.max_turn_chars``)."""


def qa_service(request: Request) -> QAService:
    return request.app.state.qa


def documents_service(request: Request) -> DocumentsService:
    return request.app.state.documents


def settings(request: Request) -> ServerConfig:
    return request.app.state.settings


def deadline(request: Request) -> float:
    """When this request must be finished (`time.monotonic()`), from ``--timeout``."""
    return time.monotonic() + request.app.state.settings.request_timeout_s


async def prepare(
    qa: QAService, question: str, mode: str | None, k: int | None, rerank: bool, history: Sequence[Turn], until: float
) -> Prepared:
    """`QAService.prepare`, with a full generation queue (a follow-up the model must rewrite) as 503 + Retry-After and
    a rewrite past the deadline as 504."""
    try:
        return await qa.prepare(question, mode, k, rerank, history=history, deadline=until)
    except QueueFull as exc:
        qa.metrics.rejected.inc()
        raise HTTPException(503, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
    except TimedOut as exc:
        raise HTTPException(504, str(exc)) from None


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
