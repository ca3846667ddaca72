"""``/v1/documents``: list the knowledge base, upload files, remove one (admin keys only).

Changes return ``202 Accepted`` with a job: the index is rebuilt in the background while the
previous one keeps answering, then swapped in; ``GET /v1/documents/jobs/{id}`` follows a job.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, HTTPException, UploadFile, status

from rag_app.server.auth import admin_access
from rag_app.server.dependencies import documents_service, settings
from rag_app.server.documents_service import DocumentsService, NothingAccepted, ReadOnly
from rag_app.server.settings import ServerSettings
from rag_ingest.knowledge_base import DocumentNotFound
from rag.core.errors import RagError

router = APIRouter(prefix="/v1/documents", tags=["documents"], dependencies=[Depends(admin_access)])


@router.get("")
async def list_documents(documents: DocumentsService = Depends(documents_service)) -> dict[str, Any]:
    """The indexed documents (name, passages, characters, format, encoding), files the last build
    skipped, and changes still being indexed."""
    return documents.list()


@router.post("", status_code=status.HTTP_202_ACCEPTED, responses={
    409: {"description": "The server serves a read-only index (--index)."},
    413: {"description": "The upload is larger than the limit."},
    422: {"description": "Every file was rejected (name, type, size, content); the reasons are listed."},
})
async def upload_documents(
    files: list[UploadFile] = File(description="one or more .md, .txt, .pdf, .docx or .html files"),
    documents: DocumentsService = Depends(documents_service),
    limits: ServerSettings = Depends(settings),
) -> dict[str, Any]:
    """Add (or replace, by name) documents. Each file is checked now with the chat UI's rules — a plain
    name with a supported type, under the size limit, text that decodes, not a copy of an indexed
    document; rejected files are listed, accepted ones are indexed in the background."""
    if len(files) > limits.max_upload_files:
        raise HTTPException(422, f"At most {limits.max_upload_files} files per upload.")
    uploads = [(file.filename or "", await file.read(limits.max_upload_bytes + 1)) for file in files]
    try:
        job = documents.add(uploads)
    except ReadOnly as exc:
        raise HTTPException(409, str(exc)) from None
    except NothingAccepted as exc:
        raise HTTPException(422, {"message": "No file was accepted.", "rejected": [
            {"name": name, "reason": reason} for name, reason in exc.rejected]}) from None
    return job.to_json()


@router.delete("/{doc_id}", status_code=status.HTTP_202_ACCEPTED)
async def delete_document(doc_id: str, documents: DocumentsService = Depends(documents_service)) -> dict[str, Any]:
    """Remove a document; the index is rebuilt without it in the background."""
    try:
        return documents.remove(doc_id).to_json()
    except ReadOnly as exc:
        raise HTTPException(409, str(exc)) from None
    except DocumentNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except RagError as exc:
        raise HTTPException(409, str(exc)) from None


@router.get("/jobs/{job_id}")
async def get_job(job_id: str, documents: DocumentsService = Depends(documents_service)) -> dict[str, Any]:
    """A change's progress: ``queued``, ``running``, ``done`` or ``failed`` (with the error)."""
    job = documents.job(job_id)
    if job is None:
        raise HTTPException(404, f"No job '{job_id}'.")
    return job.to_json()
