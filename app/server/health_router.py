"""``/healthz`` (the process answers), ``/readyz`` (models loaded) and ``/metrics`` (Prometheus)."""
from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from rag_app.server.auth import read_access
from rag_app.server.dependencies import qa_service
from rag_app.server.openapi import error_responses
from rag_app.server.qa_service import GENERATOR_READY, QAService
from rag_app.server.schemas import Health, Readiness

router = APIRouter(tags=["health"])
PROBE_WAIT_S = 0.5
"""How long /readyz waits for a generator re-probe it started (orchestrators time probes out after ~1 s);
a slower probe finishes in the background and the next /readyz reports it."""


@router.get("/healthz", response_model=None, responses={200: {"model": Health}})
async def healthz() -> dict[str, str]:
    """Always 200 while the process serves requests."""
    return {"status": "ok"}


@router.get("/readyz", responses={200: {"model": Readiness},
                                   503: {"model": Readiness, "description": "Still loading models (or the generator is unavailable)."}})
async def readyz(qa: QAService = Depends(qa_service)) -> JSONResponse:
    """200 once the index is open and the retrieval models are warm (and, when LLM answers are the
    default, the generator too); 503 before. A generator that could not be loaded (a generation server
    that was down) is probed again, at most every ``generator_recheck_s``, so this turns 200 once it is back."""
    needs_generator = qa.config.answer.mode == "llm"
    probe = qa.recheck_generator() if needs_generator else None
    if probe is not None:
        await asyncio.wait([asyncio.wrap_future(probe)], timeout=PROBE_WAIT_S)
    ready = qa.ready.is_set() and (not needs_generator or qa.generator_state == GENERATOR_READY)
    body = {
        "status": "ready" if ready else "loading",
        "retrieval": "ready" if qa.ready.is_set() else "loading",
        "generator": qa.generator_state,
        "index": str(qa.rag.store.path),
        "passages": len(qa.rag.store.chunks),
    }
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", dependencies=[Depends(read_access)], response_class=Response, responses={
    200: {"description": f"The Prometheus text format (`{CONTENT_TYPE_LATEST}`).",
          "content": {"text/plain": {"schema": {"type": "string"}}}},
    **error_responses(401),
})
async def metrics(request: Request) -> Response:
    """Prometheus metrics: requests, latency per route and per pipeline stage, refusals, fallbacks,
    the generation queue."""
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
