"""``POST /v1/ask``: a cited answer (the JSON of ``rag ask --json``), or its events as server-sent events."""
from __future__ import annotations

import asyncio
import json
import logging
import threading
from contextlib import aclosing
from typing import AsyncIterator, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from rag.answering.answerer import Answer, Progress, Reading, Retelling, Token
from rag.conversation.history import Turn
from rag.core.errors import RagError
from rag_app.server.auth import read_access
from rag_app.server.dependencies import (
    MAX_ANSWER_CHARS,
    MAX_HISTORY_TURNS,
    MAX_QUESTION_CHARS,
    MAX_TOP_K,
    admit,
    deadline,
    prepare,
    qa_service,
    watch_disconnect,
)
from rag_app.server.errors import request_id
from rag_app.server.inputs import SafeText, StrictBool, StrictInt
from rag_app.server.limits import Admission, TimedOut
from rag_app.server.openapi import error_responses, event_stream
from rag_app.server.qa_service import Cancelled, Prepared, QAService
from rag_app.server.schemas import AnswerResponse

router = APIRouter(prefix="/v1", tags=["answers"], dependencies=[Depends(read_access)])
log = logging.getLogger("rag.server")

ANSWER_EXAMPLE = {
    "question": "KV cache 有什么用？",
    "answer": "KV cache 缓存历史的键和值，加速自回归生成 [1]。",
    "abstained": False, "mode": "extractive", "fallback": None, "language": "zh",
    "citations": [{"n": 1, "chunk_id": "3f2a…", "doc_id": "attention.md", "heading": "注意力机制 > 自注意力",
                   "text": "KV cache 缓存历史的键和值，加速自回归生成。", "start": 71, "end": 94}],
    "hits": ["… as in POST /v1/search …"],
    "timings": {"first_stage_ms": 12.0, "rerank_ms": 4.1, "retrieve_ms": 16.1, "total_ms": 19.3},
}


QUESTION_DESCRIPTION = "the question; at most the configured limits.max_question_chars characters and max_question_tokens words"


class CitedPassage(BaseModel):
    """A passage an earlier answer cited: its ``chunk_id`` (other fields of the answer's citations are accepted and
    ignored, so a previous response's ``citations`` can be sent back as they are)."""

    model_config = ConfigDict(extra="ignore")
    chunk_id: SafeText = Field(max_length=100)


class HistoryTurn(BaseModel):
    """An earlier question and its answer. Read as untrusted text (instructions in it are not followed)."""

    question: SafeText = Field(max_length=MAX_QUESTION_CHARS)
    answer: SafeText = Field("", max_length=MAX_ANSWER_CHARS)
    citations: list[CitedPassage] = Field(default_factory=list, max_length=MAX_TOP_K,
                                          description="the earlier answer's citations: their passages become candidates")

    def turn(self) -> Turn:
        return Turn(self.question, self.answer, cited=tuple(c.chunk_id for c in self.citations))


class AskRequest(BaseModel):
    question: SafeText = Field(min_length=1, max_length=MAX_QUESTION_CHARS, description=QUESTION_DESCRIPTION,
                               examples=["KV cache 有什么用？"])
    top_k: StrictInt | None = Field(None, ge=1, le=MAX_TOP_K, description="passages to retrieve (default: the configured top_k)")
    mode: Literal["llm", "extractive"] | None = Field(None, description="answerer (default: the configured answer.mode)")
    rerank: StrictBool = True
    stream: StrictBool = Field(False, description="server-sent events: `token` (unchecked draft), then `answer` (checked)")
    history: list[HistoryTurn] = Field(
        default_factory=list, max_length=MAX_HISTORY_TURNS,
        description="earlier turns of the conversation, oldest first: a follow-up (\"它有什么缺点？\") is rewritten to "
        "stand alone before retrieval (see `standalone_question` in the answer); only the last "
        "conversation.max_turns are read, each cut to conversation.max_turn_chars")


@router.post(
    "/ask",
    responses={
        200: {"model": AnswerResponse,
              "description": "The answer, as `rag ask --json` prints it; with `stream`, server-sent events.",
              "content": {"application/json": {"example": ANSWER_EXAMPLE},
                          **event_stream("JSON: `passages` {passages: [{n, chunk_id, doc_id, heading, text}]}; `progress` "
                                         "{read, total, attempt}; `token` {text, attempt}; `retelling` {done, total, "
                                         "language}; `answer` the answer as without streaming; `error` {detail, status, "
                                         "request_id}",
                                         ("passages", "progress", "token", "retelling", "answer", "error"))}},
        **error_responses(400, 401, 422, 503, 504),
    },
)
async def ask(body: AskRequest, request: Request, qa: QAService = Depends(qa_service)):
    """Answer a question from the documents, every sentence citing a passage `[n]`, or abstain.

    With `history` (earlier turns), a follow-up is first made standalone; the answer's `standalone_question` says
    what was searched. With `"stream": true` the response is server-sent events (LLM mode): `passages` (what the
    model reads), `progress` (how far it has read), `token` events carrying its draft as it is written (unchecked),
    `retelling` (a draft in the documents' language translated into the question's, sentence by sentence), then one
    `answer` event carries the checked answer (the same JSON as without streaming); an `error` event reports a failure
    mid-stream.
    """
    until = deadline(request)
    history = [turn.turn() for turn in body.history]
    prepared = await prepare(qa, body.question, body.mode, body.top_k, body.rerank, history, until)
    admission = admit(qa, prepared)
    if body.stream:
        return EventStream(sse_events(qa, prepared, admission, until, request_id(request.scope)), admission)
    answer = await answer_or_error(qa, prepared, admission, until, request)
    return JSONResponse(answer.to_json())


async def answer_or_error(
    qa: QAService, prepared: Prepared, admission: Admission | None, until: float, request: Request
) -> Answer:
    """The checked answer, stopping generation if the client leaves; 504 past the deadline."""
    cancel = threading.Event()
    watcher = asyncio.create_task(watch_disconnect(request, cancel))
    try:
        return await qa.answer(prepared, cancel, admission, until)
    except TimedOut as exc:
        raise HTTPException(504, str(exc)) from None
    except Cancelled:
        raise HTTPException(499, "The client closed the request.") from None
    finally:
        cancel.set()
        watcher.cancel()


class EventStream(StreamingResponse):
    """Server-sent events whose generator is closed as soon as the response ends, however it ends
    (a client that hangs up included), so its generation stops and its queue place is freed."""

    media_type = "text/event-stream"

    def __init__(self, events: AsyncIterator[bytes], admission: Admission | None) -> None:
        super().__init__(events, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        self._events = events
        self._admission = admission

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._events.aclose()
            if self._admission is not None:  # never started: give the queue place back
                self._admission.release()


def stream_failed(exc: Exception, rid: str) -> str:
    """Log a failure after the response started; what the client is told (a `RagError`'s message, else nothing internal)."""
    log.error("Request %s failed while streaming its answer", rid, exc_info=exc)
    detail = str(exc) if isinstance(exc, RagError) else "Internal server error"
    return f"{detail}; the server logged it as request {rid}."


def sse(event: str, data: dict) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


async def sse_events(
    qa: QAService, prepared: Prepared, admission: Admission | None, until: float, rid: str = "-"
) -> AsyncIterator[bytes]:
    cancel = threading.Event()
    try:
        async with aclosing(qa.events(prepared, cancel, admission, until)) as events:
            async for event in events:
                if isinstance(event, Reading):
                    yield sse("passages", event.to_json())
                elif isinstance(event, Progress):
                    yield sse("progress", event.to_json())
                elif isinstance(event, Token):
                    yield sse("token", {"text": event.text, "attempt": event.attempt})
                elif isinstance(event, Retelling):
                    yield sse("retelling", event.to_json())
                elif isinstance(event, Answer):
                    yield sse("answer", event.to_json())
    except TimedOut as exc:
        yield sse("error", {"detail": str(exc), "status": 504})
    except Exception as exc:  # headers are sent: report in-band
        yield sse("error", {"detail": stream_failed(exc, rid), "status": 500, "request_id": rid})
