"""OpenAI-compatible ``POST /v1/chat/completions`` and ``GET /v1/models``.

Existing chat front ends and the official `openai` SDK work unchanged: the answer (with its `[n]`
markers) is the message `content`; the citations travel in an extra top-level `citations` field
(SDKs keep unknown fields: ``completion.model_extra["citations"]``). The question is the last user
message; the user and assistant messages before it are the conversation (`rag.conversation`): a follow-up is
rewritten to stand alone before retrieval, and the extra `standalone_question` field says what was searched.
An assistant message may carry this service's `citations` back (their passages become candidates); an answer
this server gave recently is recognised by its text anyway. System and developer messages are ignored: they
never change the answer rules (answers come from the documents, with citations, or are refused).

Models: ``rag`` answers with the configured answerer, ``rag-llm`` and ``rag-extractive`` pick one.
Streaming (``stream: true``): what the model reads, how far, its unchecked draft and how far that is retold in the
question's language arrive in non-standard `rag_passages`, `rag_progress`, `rag_draft` and `rag_retelling` delta
fields that chat clients ignore; the checked answer arrives as `content`, then a final chunk
with ``finish_reason: "stop"`` and the citations. Unchecked text is never shown as the answer.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from contextlib import aclosing
from typing import Annotated, Any, AsyncIterator, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from rag.answering.answerer import Answer, Progress, Reading, Retelling, Token
from rag.conversation.history import Turn
from rag_app.server.ask_router import EventStream, answer_or_error, stream_failed
from rag_app.server.auth import read_access
from rag_app.server.dependencies import (
    MAX_QUESTION_CHARS,
    MAX_TOP_K,
    admit,
    deadline,
    prepare,
    qa_service,
)
from rag_app.server.errors import excerpt, request_id
from rag_app.server.inputs import SafeText, StrictBool, StrictInt, check_text
from rag_app.server.limits import Admission, TimedOut
from rag_app.server.openapi import error_responses, event_stream
from rag_app.server.qa_service import Prepared, QAService
from rag_app.server.schemas import ChatCompletion, ModelList

router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"], dependencies=[Depends(read_access)])

MODELS = {"rag": None, "rag-llm": "llm", "rag-extractive": "extractive"}
"""Model name → answer mode (None: the configured one)."""
CREATED = int(time.time())


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: SafeText = Field(max_length=100)
    text: SafeText | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: Annotated[SafeText | list[ContentPart] | None, BeforeValidator(check_text)] = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text or "" for part in self.content if part.type == "text")
        return self.content or ""

    def cited(self) -> tuple[str, ...]:
        """Chunk ids of this service's `citations`, when an assistant message carries them back."""
        citations = (self.model_extra or {}).get("citations")
        if not isinstance(citations, list):
            return ()
        return tuple(str(c["chunk_id"])[:100] for c in citations if isinstance(c, dict) and isinstance(c.get("chunk_id"), str))


class ChatRequest(BaseModel):
    """The OpenAI request; sampling options (temperature, max_tokens…) are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    model: SafeText = Field("rag", max_length=100, description=f"one of: {', '.join(MODELS)}", examples=["rag"])
    messages: list[ChatMessage] = Field(
        min_length=1,
        description=f"the last `user` message is the question (at most {MAX_QUESTION_CHARS} characters and the configured "
        "limits.max_question_chars); the user and assistant messages before it are the conversation (the last "
        "conversation.max_turns turns are read); system and developer messages are ignored")
    stream: StrictBool = False
    top_k: StrictInt | None = Field(None, ge=1, le=MAX_TOP_K, description="extension: passages to retrieve")


@router.get("/models", response_model=None, responses={200: {"model": ModelList}, **error_responses(401)})
async def models() -> dict[str, Any]:
    """The answerers, as OpenAI models."""
    return {"object": "list", "data": [
        {"id": name, "object": "model", "created": CREATED, "owned_by": "rag-local"} for name in MODELS
    ]}


@router.post("/chat/completions", responses={
    200: {"model": ChatCompletion, "description": "The completion; with `stream`, server-sent `data:` chunks ending in `[DONE]`.",
          "content": event_stream("an OpenAI `chat.completion.chunk` as JSON (or `{error}`), then `[DONE]`")},
    **error_responses(400, 401, 404, 422, 503, 504, described={404: "No such model; see GET /v1/models."}),
})
async def chat_completions(body: ChatRequest, request: Request, qa: QAService = Depends(qa_service)):
    """Answer the last user message from the documents, as an OpenAI chat completion (or its stream)."""
    if body.model not in MODELS:
        raise HTTPException(404, f"The model '{excerpt(body.model)}' does not exist; use one of: {', '.join(MODELS)}.")
    last = next((i for i in range(len(body.messages) - 1, -1, -1) if body.messages[i].role == "user"), None)
    question = body.messages[last].text().strip() if last is not None else ""
    if not question:
        raise HTTPException(422, "No user message with text to answer.")
    if len(question) > MAX_QUESTION_CHARS:
        raise HTTPException(422, f"The question is longer than {MAX_QUESTION_CHARS} characters.")
    until = deadline(request)
    history = conversation_turns(body.messages[:last])
    prepared = await prepare(qa, question, MODELS[body.model], body.top_k, True, history, until)
    admission = admit(qa, prepared)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    if body.stream:
        return EventStream(_chunks(qa, prepared, admission, until, completion_id, body.model, request_id(request.scope)), admission)
    answer = await answer_or_error(qa, prepared, admission, until, request)
    return {
        "id": completion_id, "object": "chat.completion", "created": int(time.time()), "model": body.model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text}, "finish_reason": "stop"}],
        **_extras(answer),
    }


def conversation_turns(messages: list[ChatMessage]) -> list[Turn]:
    """The earlier turns in `messages`: each user message with the assistant messages after it as its answer. Tool,
    system and developer messages are left out (they never reach a prompt)."""
    turns: list[Turn] = []
    for message in messages:
        text = message.text().strip()
        if message.role == "user" and text:
            turns.append(Turn(text))
        elif message.role == "assistant" and turns:
            previous = turns[-1]
            answer = f"{previous.answer}\n{text}".strip() if previous.answer else text
            turns[-1] = Turn(previous.question, answer, cited=previous.cited + message.cited())
    return turns


def _extras(answer: Answer) -> dict[str, Any]:
    return {
        "citations": [c.to_json() for c in answer.citations],
        "abstained": answer.abstained, "answer_mode": answer.mode, "fallback": answer.fallback,
        "standalone_question": answer.standalone_question,
    }


def _error(message: str, kind: str, code: int) -> bytes:
    return f"data: {json.dumps({'error': {'message': message, 'type': kind, 'code': code}})}\n\n".encode()


async def _chunks(
    qa: QAService, prepared: Prepared, admission: Admission | None, until: float, completion_id: str, model: str, rid: str
) -> AsyncIterator[bytes]:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        record = {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
                  "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {json.dumps(record, ensure_ascii=False)}\n\n".encode()

    yield chunk({"role": "assistant", "content": ""})
    cancel = threading.Event()
    try:
        async with aclosing(qa.events(prepared, cancel, admission, until)) as events:
            async for event in events:
                if isinstance(event, Reading):
                    yield chunk({"rag_passages": event.to_json()["passages"]})
                elif isinstance(event, Progress):
                    yield chunk({"rag_progress": event.to_json()})
                elif isinstance(event, Token):
                    yield chunk({"rag_draft": event.text})
                elif isinstance(event, Retelling):
                    yield chunk({"rag_retelling": event.to_json()})
                elif isinstance(event, Answer):
                    yield chunk({"content": event.text})
                    yield chunk({}, "stop", **_extras(event))
    except TimedOut as exc:
        yield _error(str(exc), "timeout", 504)
    except Exception as exc:  # headers are sent: report in-band
        yield _error(stream_failed(exc, rid), "server_error", 500)
    yield b"data: [DONE]\n\n"
