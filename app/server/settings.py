"""Server settings: where it listens, what it serves, and the limits it enforces."""
from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import BaseModel, Field

from rag_ingest.knowledge_base import DEFAULT_MAX_UPLOAD_MB


class ServerSettings(BaseModel):
    """Everything `rag serve` is told on the command line (the RAG pipeline itself comes from `rag.core.config`)."""

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    index_dir: str | Path | None = None
    """Serve this existing index (a folder or a store URI such as milvus+http://host:19530/kb) read-only (document uploads and removal answer 409)."""
    data_dir: Path | None = None
    """Knowledge-base folder (``documents/`` + ``index/``); default: the one the chat UI uses."""
    keys_file: Path | None = None
    """API keys, one ``<role> sha256:<hex digest>`` per line (see `rag_app.server.auth`)."""
    insecure: bool = False
    """Allow a non-loopback bind without API keys."""
    max_body_bytes: int = Field(256 * 1024, gt=0)
    """Largest JSON request body (413 above it)."""
    max_upload_mb: float = Field(DEFAULT_MAX_UPLOAD_MB, gt=0)
    """Largest file in an upload; a multipart body may hold up to `max_upload_files` of them."""
    max_upload_files: int = Field(10, ge=1)
    queue_size: int = Field(4, ge=0)
    """LLM requests that may wait while one generates; the next one gets 503 with Retry-After."""
    request_timeout_s: float = Field(120.0, gt=0)
    """Whole-request limit for an answer (queueing included); past it generation stops (504)."""
    retrieval_threads: int = Field(8, ge=1)
    """Worker threads for retrieval and extractive answers (requests beyond them wait)."""
    generator_recheck_s: float = Field(10.0, gt=0)
    """Least time between two probes of a generator that could not be loaded (/readyz starts them)."""

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def max_upload_body_bytes(self) -> int:
        """Largest multipart body on ``POST /v1/documents`` (all files plus form overhead)."""
        return self.max_upload_files * self.max_upload_bytes + 64 * 1024


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
