"""The JSON the API answers with, as pydantic models for the OpenAPI document.

Routes build their bodies with the library's own ``to_json`` (the shapes ``rag ask --json`` and
``rag search --json`` print) and declare these models with ``responses=`` only, so the models
document what is sent without filtering it; the schema fuzzer (tests/app/server/test_fuzz.py)
checks every response against them.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from rag.answering.citations import Citation  # its to_json is its fields: the library's own class documents it
from rag_app.server.errors import RejectedFile


class HitJson(BaseModel):
    """A retrieved passage; `text` is `document[start:end]`."""

    rank: int
    chunk_id: str
    doc_id: str
    heading: str = Field(description="the Markdown headings above the passage, joined with ` > `")
    text: str
    start: int
    end: int
    score: float = Field(description="the score of the stage that set the final order")
    scores: dict[str, float] = Field(description="every stage's score: dense, sparse, rrf, rerank, relevance…")
    ranks: dict[str, int] = Field(description="every first-stage retriever's 1-based rank")


class SearchResponse(BaseModel):
    question: str
    hits: list[HitJson]


class AnswerResponse(BaseModel):
    question: str
    standalone_question: str | None = Field(
        description="what was searched and answered: the question, or a follow-up rewritten to stand alone")
    standalone_method: str | None = Field(
        description="how: `none` (no earlier turns), `as-is`, `new-topic`, `ordinal`, `llm` (rewritten by the model) "
        "or `rule` (searched with the previous question)")
    answer: str = Field(description="every sentence ends with its citation markers `[n]`")
    abstained: bool = Field(description="true: the documents don't answer this; `citations` lists the nearest sources")
    mode: Literal["llm", "extractive"] = Field(description="what wrote `answer` (`extractive` after a fallback too)")
    fallback: str | None = Field(description="why the model's answer was replaced by the extractive one")
    removed: int = Field(description="sentences of the model's answer the citation check removed")
    attempts: int = Field(description="drafts the model wrote (0 in extractive mode)")
    completed: int = Field(0, description="items of the list the answer cites that the model left out, quoted from it")
    language: str
    citations: list[Citation]
    hits: list[HitJson]
    timings: dict[str, float] = Field(description="milliseconds per stage")


class AssistantMessage(BaseModel):
    role: Literal["assistant"]
    content: str


class ChatChoice(BaseModel):
    index: int
    message: AssistantMessage
    finish_reason: Literal["stop"]


class ChatCompletion(BaseModel):
    """An OpenAI chat completion, plus this service's citations."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[ChatChoice]
    citations: list[Citation]
    abstained: bool
    answer_mode: Literal["llm", "extractive"]
    fallback: str | None
    standalone_question: str | None = Field(description="what was searched: the question, or the follow-up made standalone")


class ModelJson(BaseModel):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"]
    data: list[ModelJson]


class JobJson(BaseModel):
    """A knowledge-base change and its background rebuild."""

    id: str
    action: Literal["add", "remove"]
    documents: list[str]
    status: Literal["queued", "running", "done", "failed"]
    rejected: list[RejectedFile]
    error: str | None
    created: float
    finished: float | None


class DocumentJson(BaseModel):
    doc_id: str
    chunks: int
    chars: int
    format: str
    encoding: str


class SkippedJson(BaseModel):
    path: str
    reason: str


class DocumentList(BaseModel):
    documents: list[DocumentJson]
    skipped: list[SkippedJson] = Field(description="files the last build could not read, with the reason")
    pending: list[JobJson] = Field(description="changes still being indexed")
    read_only: bool = Field(description="true when serving an --index (uploads and removals answer 409)")


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "loading"]
    retrieval: Literal["ready", "loading"]
    generator: str = Field(description="`ready`, `loading`, `not loaded`, `loads on the first LLM answer` or `unavailable: <why>`")
    index: str
    passages: int
