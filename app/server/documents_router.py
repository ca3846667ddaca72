"""``/v1/documents``: list the knowledge base, upload files, remove one (admin keys only).

Changes return ``202 Accepted`` with a job: the index is rebuilt in the background while the
previous one keeps answering, then swapped in; ``GET /v1/documents/jobs/{id}`` follows a job.
"""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, HTTPException, Path, UploadFile, status

from rag.core.config import ServerConfig
from rag.core.errors import RagError
from rag_app.server.auth import admin_access
from rag_app.server.dependencies import documents_service, settings
from rag_app.server.documents_service import DocumentsService, NothingAccepted, ReadOnly
from rag_app.server.errors import ApiError, excerpt
from rag_app.server.inputs import SafeText, file_name_problem
from rag_app.server.limits import size_text
from rag_app.server.openapi import error_responses
from rag_app.server.schemas import DocumentList, JobJson
from rag_ingest.knowledge_base import DocumentNotFound

router = APIRouter(prefix="/v1/documents", tags=["documents"], dependencies=[Depends(admin_access)])
ACCEPTED = {"model": JobJson, "description": "Accepted: the job that rebuilds the index in the background."}


@router.get("", response_model=None, responses={200: {"model": DocumentList}, **error_responses(401, 403)})
async def list_documents(documents: DocumentsService = Depends(documents_service)) -> dict[str, Any]:
    """The indexed documents (name, passages, characters, format, encoding), files the last build
    skipped, and changes still being indexed."""
    return documents.list()


@router.post("", response_model=None, status_code=status.HTTP_202_ACCEPTED, responses={
    202: ACCEPTED,
    **error_responses(400, 401, 403, 409, 413, 422, described={
        413: "A file is larger than `--max-upload-mb`, more files than the per-upload limit were sent, or the whole "
             "body is larger than the upload limit; the message gives the sizes.",
        422: "Every file was rejected (name, type, size, content): `rejected` lists each with its reason.",
    }),
})
async def upload_documents(
    files: list[UploadFile] = File(description="one or more .md, .txt, .pdf, .docx or .html files"),
    documents: DocumentsService = Depends(documents_service),
    limits: ServerConfig = Depends(settings),
) -> dict[str, Any]:
    """Add (or replace, by name) documents. Each file is checked now with the chat UI's rules — a plain
    name with a supported type, under the size limit, text that decodes, not a copy of an indexed
    document; rejected files are listed, accepted ones are indexed in the background."""
    if len(files) > limits.max_upload_files:
        raise HTTPException(413, f"{len(files)} files were sent; at most {limits.max_upload_files} may be sent per upload.")
    for file in files:
        if file.size is not None and file.size > limits.max_upload_bytes:
            raise HTTPException(413, f"'{excerpt(file.filename or '')}' is {size_text(file.size)}; the limit is "
                                     f"{size_text(limits.max_upload_bytes)} per file (--max-upload-mb).")
    refused: list[tuple[str, str]] = []
    uploads: list[tuple[str, bytes]] = []
    for file in files:
        name = file.filename or ""
        if problem := file_name_problem(name):
            refused.append((name, problem))
        else:
            uploads.append((name, await file.read(limits.max_upload_bytes + 1)))
    try:
        job = documents.add(uploads, refused)
    except ReadOnly as exc:
        raise HTTPException(409, str(exc)) from None
    except NothingAccepted as exc:
        raise ApiError(422, "No file was accepted; `rejected` gives each file's reason.", exc.rejected) from None
    return job.to_json()


DocumentName = Annotated[SafeText, Path(description="the document's name, as GET /v1/documents lists it", max_length=255)]
JobId = Annotated[SafeText, Path(description="the `id` of the job an upload or removal returned", max_length=40)]


@router.delete("/{doc_id}", response_model=None, status_code=status.HTTP_202_ACCEPTED, responses={
    202: ACCEPTED,
    **error_responses(401, 403, 404, 409, 422, described={
        404: "No indexed document has this name.",
        409: "The document can't be removed (a read-only `--index`, the last document, or a name no document "
             "can have); the message says which.",
    }),
})
async def delete_document(doc_id: DocumentName, documents: DocumentsService = Depends(documents_service)) -> dict[str, Any]:
    """Remove a document; the index is rebuilt without it in the background."""
    try:
        return documents.remove(doc_id).to_json()
    except ReadOnly as exc:
        raise HTTPException(409, str(exc)) from None
    except DocumentNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except RagError as exc:
        raise HTTPException(409, str(exc)) from None


@router.get("/jobs/{job_id}", response_model=None, responses={200: {"model": JobJson}, **error_responses(
    401, 403, 404, 422, described={404: "No job has this id (finished jobs are forgotten after the newest 100)."})})
async def get_job(job_id: JobId, documents: DocumentsService = Depends(documents_service)) -> dict[str, Any]:
    """A change's progress: ``queued``, ``running``, ``done`` or ``failed`` (with the error)."""
    job = documents.job(job_id)
    if job is None:
        raise HTTPException(404, f"No job '{excerpt(job_id)}'.")
    return job.to_json()
