"""``POST /v1/search``: retrieved passages (the JSON of ``rag search --json``)."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from rag_app.server.ask_router import QUESTION_DESCRIPTION
from rag_app.server.auth import read_access
from rag_app.server.dependencies import MAX_QUESTION_CHARS, MAX_TOP_K, qa_service
from rag_app.server.inputs import SafeText, StrictBool, StrictInt
from rag_app.server.openapi import error_responses
from rag_app.server.qa_service import QAService
from rag_app.server.schemas import SearchResponse

router = APIRouter(prefix="/v1", tags=["search"], dependencies=[Depends(read_access)])


class SearchRequest(BaseModel):
    question: SafeText = Field(min_length=1, max_length=MAX_QUESTION_CHARS, description=QUESTION_DESCRIPTION,
                               examples=["什么是 LoRA？"])
    top_k: StrictInt | None = Field(None, ge=1, le=MAX_TOP_K, description="how many passages (default: the configured top_k)")
    mode: Literal["hybrid", "dense", "sparse"] | None = Field(None, description="first-stage retriever (default hybrid)")
    rerank: StrictBool = Field(True, description="false keeps the first-stage order")


@router.post(
    "/search",
    response_model=None,
    responses={200: {"model": SearchResponse, "content": {"application/json": {"example": {"question": "什么是 LoRA？", "hits": [{
        "rank": 1, "chunk_id": "9c1e…", "doc_id": "mixed-precision.md", "heading": "训练技巧 > 2. 什么是 LoRA？",
        "text": "LoRA 通过低秩矩阵适配预训练模型，只训练很少的参数。", "start": 90, "end": 118, "score": 0.83,
        "scores": {"dense": 0.81, "sparse": 5.2, "rrf": 0.032, "rerank": 0.83, "relevance": 0.91},
        "ranks": {"dense": 1, "sparse": 1}}]}}}},
        **error_responses(400, 401, 422)},
)
async def search(body: SearchRequest, qa: QAService = Depends(qa_service)) -> dict:
    """The passages that best match a question, best first, with every stage's score."""
    hits = await qa.search(body.question, body.top_k, body.rerank, body.mode)
    return {"question": body.question, "hits": [hit.to_json(rank) for rank, hit in enumerate(hits, start=1)]}
