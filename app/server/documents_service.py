"""Knowledge-base changes over HTTP: validate at once, rebuild in the background, then swap the index.

Uploads are checked with the same rules as the chat UI's (`rag_ingest.knowledge_base`) before the request
returns; the rebuild runs on one background thread (changes apply in order) while the previous index
keeps answering; when it succeeds, `on_rebuilt` swaps the new index in. A failed rebuild undoes the
change (the knowledge base's rollback) and the old index stays in service.
"""
from __future__ import annotations

import itertools
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from rag.core.errors import RagError
from rag_app.server.metrics import Metrics
from rag_ingest.knowledge_base import KnowledgeBase, indexed_documents

log = logging.getLogger(__name__)
KEEP_JOBS = 100
"""Finished jobs remembered for ``GET /v1/documents/jobs/{id}`` (oldest forgotten first)."""


class ReadOnly(RagError):
    """The server was started on an index (``--index``), not on a knowledge base."""


class NothingAccepted(RagError):
    """Every file of an upload was rejected."""

    def __init__(self, rejected: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{name}: {reason}" for name, reason in rejected))
        self.rejected = rejected


@dataclass
class Job:
    """One knowledge-base change and its background rebuild."""

    id: str
    action: str
    """``add`` or ``remove``."""
    documents: list[str]
    status: str = "queued"
    """``queued`` → ``running`` → ``done`` or ``failed``."""
    rejected: list[dict[str, str]] = field(default_factory=list)
    error: str | None = None
    created: float = field(default_factory=time.time)
    finished: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class DocumentsService:
    """List, add and remove documents of a knowledge base (or list those of a read-only index)."""

    def __init__(
        self, knowledge_base: KnowledgeBase | None, index_dir: str | Path, on_rebuilt: Callable[[Path], None], metrics: Metrics
    ) -> None:
        self.knowledge_base = knowledge_base
        self.index_dir = index_dir
        self.on_rebuilt = on_rebuilt
        self.metrics = metrics
        self.jobs: dict[str, Job] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="rag-rebuild")

    @property
    def read_only(self) -> bool:
        return self.knowledge_base is None

    def list(self) -> dict[str, Any]:
        documents = [asdict(d) for d in indexed_documents(self.index_dir)]
        skipped = [asdict(s) for s in self.knowledge_base.skipped()] if self.knowledge_base else []
        pending = [j.to_json() for j in self.jobs.values() if j.status in ("queued", "running")]
        return {"documents": documents, "skipped": skipped, "pending": pending, "read_only": self.read_only}

    def add(self, uploads: Sequence[tuple[str, bytes]], refused_already: Sequence[tuple[str, str]] = ()) -> Job:
        """Check `uploads` now; rebuild with the accepted ones in the background. `NothingAccepted` if none pass.
        `refused_already` (``(name, reason)``: files the caller turned away) are reported with the rejected ones."""
        base = self._writable()
        rejected = [*refused_already, *base.validate(uploads)]
        refused = {name for name, _ in rejected}
        accepted = [(name, data) for name, data in uploads if name not in refused]
        if not accepted:
            raise NothingAccepted(rejected)
        job = self._job("add", [name for name, _ in accepted])
        job.rejected = [{"name": n, "reason": r} for n, r in rejected]
        self._worker.submit(self._run, job, lambda: self._add(base, job, accepted))
        return job

    def remove(self, doc_id: str) -> Job:
        """Check `doc_id` can go now (`DocumentNotFound`, or RagError for the last document); rebuild in the background."""
        base = self._writable()
        base.check_removable(doc_id)
        job = self._job("remove", [doc_id])
        self._worker.submit(self._run, job, lambda: base.remove(doc_id))
        return job

    def job(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    def close(self) -> None:
        self._worker.shutdown(wait=False, cancel_futures=True)

    def _add(self, base: KnowledgeBase, job: Job, accepted: list[tuple[str, bytes]]) -> None:
        result = base.add(accepted)
        job.rejected += [{"name": n, "reason": r} for n, r in result.rejected]
        if result.report is None:
            raise RagError("every file was rejected when the rebuild checked it again")

    def _run(self, job: Job, change: Callable[[], Any]) -> None:
        job.status = "running"
        try:
            change()
            self.on_rebuilt(self.index_dir)
        except Exception as exc:
            job.status, job.error = "failed", str(exc)
            self.metrics.rebuilds.labels("failed").inc()
            log.error("Knowledge-base %s of %s failed; the previous index is still served: %s", job.action, job.documents, exc)
        else:
            job.status = "done"
            self.metrics.rebuilds.labels("done").inc()
            log.info("Knowledge-base %s of %s done", job.action, ", ".join(job.documents))
        finally:
            job.finished = time.time()

    def _job(self, action: str, documents: list[str]) -> Job:
        with self._lock:
            finished = [j.id for j in self.jobs.values() if j.finished is not None]
            for old in finished[: max(0, len(self.jobs) - KEEP_JOBS)]:
                del self.jobs[old]
            job = Job(str(next(self._ids)), action, documents)
            self.jobs[job.id] = job
            return job

    def _writable(self) -> KnowledgeBase:
        if self.knowledge_base is None:
            raise ReadOnly(
                f"The server is serving the index at {self.index_dir} read-only (--index); start it without "
                "--index (or with --data-dir DIR) to manage documents."
            )
        return self.knowledge_base
