"""A knowledge base: a folder with ``documents/`` (files users add) and ``index/`` (their index).

Uploads are checked before anything is written where the index reads: the name must be a plain file
name with a supported suffix, the size under the limit, and the content must decode (the same
`rag_ingest.loaders.read_file` the index builder uses). Files are written only inside the data directory,
under a staged name, then renamed into ``documents/``. Every change rebuilds the index (incrementally:
unchanged documents reuse their vectors); when the build fails, the change is undone.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

from rag.core.config import Config
from rag.core.errors import RagError
from rag.core.paths import default_corpus_files, default_index_dir
from rag.embedding.embedders import Embedder
from rag.index.local import index_exists, read_manifest
from rag.index.stores import store_manifest
from rag_ingest.builder import BuildReport, IndexBuilder, copy_current_generation
from rag_ingest.document_set import Change
from rag_ingest.loaders import SUPPORTED_SUFFIXES, SkippedFile, read_file

log = logging.getLogger(__name__)

MAX_NAME_CHARS = 200
Progress = Callable[[float, str], None]
"""``progress(fraction 0..1, what is happening)``."""
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class DocumentNotFound(RagError):
    """No document of that name is in the knowledge base."""


class UploadRejected(ValueError):
    """An upload that can't be added; the message is the reason shown to the user."""


@dataclass(frozen=True)
class DocumentInfo:
    """One indexed document, as the knowledge-base page lists it."""

    doc_id: str
    chunks: int
    chars: int
    format: str
    encoding: str
    added_at: str = ""
    source: str = ""
    """The file it was read from (for uploads, in the knowledge base's ``documents/``)."""


@dataclass
class AddResult:
    """What an upload did: files added (or replaced), files rejected with reasons, the index build."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    report: BuildReport | None = None


def safe_name(name: str) -> str:
    """A plain file name for an upload, or UploadRejected.

    Directory parts a browser may send (``notes/a.md``) are dropped; absolute paths, ``..``, hidden
    names, control characters and unsupported suffixes are refused.
    """
    cleaned = (name or "").replace("\\", "/").strip()
    if not cleaned:
        raise UploadRejected("the file has no name")
    if _CONTROL.search(cleaned):
        raise UploadRejected("the file name contains control characters")
    if cleaned.startswith("/") or _DRIVE.match(cleaned):
        raise UploadRejected("absolute paths are not accepted; upload the file by its name")
    parts = cleaned.split("/")
    if ".." in parts:
        raise UploadRejected("'..' is not allowed in a file name")
    base = parts[-1].strip()
    if not base or base in (".", ".."):
        raise UploadRejected("the file has no name")
    if base.startswith("."):
        raise UploadRejected("hidden files (names starting with '.') are not accepted")
    if len(base) > MAX_NAME_CHARS:
        raise UploadRejected(f"the file name is longer than {MAX_NAME_CHARS} characters")
    suffix = Path(base).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise UploadRejected(f"unsupported file type '{suffix or '(none)'}'; supported: {supported}")
    return base


class KnowledgeBase:
    """A data directory: validated uploads into ``documents/``, an index of them in ``index/``."""

    def __init__(self, root: str | Path, builder: IndexBuilder, max_upload_bytes: int) -> None:
        self.root = Path(root).expanduser().resolve()
        self.documents_dir = self.root / "documents"
        self.index_dir = self.root / "index"
        self.builder = builder
        self.max_upload_bytes = max_upload_bytes
        self._lock = threading.RLock()

    # -- reading -------------------------------------------------------------------------------

    def files(self) -> list[Path]:
        """The document files, sorted by name (hidden files ignored, as the builder does)."""
        if not self.documents_dir.is_dir():
            return []
        return sorted(p for p in self.documents_dir.iterdir() if p.is_file() and not p.name.startswith("."))

    def documents(self) -> list[DocumentInfo]:
        """The indexed documents with their chunk counts (empty when there is no index yet)."""
        return indexed_documents(self.index_dir)

    def skipped(self) -> list[SkippedFile]:
        """Files in ``documents/`` the last build could not read."""
        try:
            manifest = read_manifest(self.index_dir)
        except RagError:
            return []
        return [SkippedFile(Path(s["path"]).name, s["reason"]) for s in manifest.get("skipped", [])]

    def has_index(self) -> bool:
        return index_exists(self.index_dir)

    # -- setting up ----------------------------------------------------------------------------

    def ensure_ready(self, seed_files: Sequence[Path], seed_index: Path | None = None, progress: Progress | None = None) -> bool:
        """Seed a new knowledge base with `seed_files` and index it; afterwards bring the index up to date with
        ``documents/`` (files copied in or deleted by hand; documents added from elsewhere stay). Returns whether
        it wrote a new index.

        `seed_index`, an index already built from the same files (the bundled corpus's), is copied first so
        the build reuses its vectors instead of embedding everything again.
        """
        with self._lock:
            self.documents_dir.mkdir(parents=True, exist_ok=True)
            _report(progress, 0.1, "Indexing the knowledge base")
            if not self.has_index():
                if not self.files():
                    for file in seed_files:
                        shutil.copyfile(file, self.documents_dir / file.name)
                    if seed_index is not None and index_exists(seed_index):
                        copy_current_generation(seed_index, self.index_dir)
                report = self.builder.build([self.documents_dir], self.index_dir, progress=False)
            else:
                report = self.builder.apply(self._folder_change(), self.index_dir, progress=False)
            _report(progress, 1.0, "Index ready")
            return report.written

    def _folder_change(self, refresh: bool = False) -> Change:
        """``documents/`` as the truth for the documents that live in it (others are left alone)."""
        paths = (self.documents_dir,) if self.files() else ()
        return Change(paths=paths, prune=(self.documents_dir,), refresh=refresh)

    def owns(self, source: str | Path) -> bool:
        """Whether a document's source file lives in ``documents/`` (the knowledge base deletes it on removal)."""
        return Path(source).resolve().is_relative_to(self.documents_dir)

    # -- changing ------------------------------------------------------------------------------

    def check_upload(self, name: str, data: bytes, staging: Path) -> Path:
        """Validate one upload and write it into `staging`; return the staged file or raise UploadRejected."""
        base = safe_name(name)
        if len(data) > self.max_upload_bytes:
            raise UploadRejected(f"the file is {_size(len(data))}; the limit is {_size(self.max_upload_bytes)}")
        staged = staging / base
        if staged.exists():
            raise UploadRejected("another file with the same name is in this upload")
        staged.write_bytes(data)
        loaded = read_file(staged, base, self.builder.config.limits)
        if isinstance(loaded, SkippedFile):
            raise UploadRejected(loaded.reason)
        replacing = str(self.documents_dir / base)
        for entry in self._entries():
            if entry.get("source") != replacing and entry["sha256"] == loaded.sha256:
                raise UploadRejected(f"same content as '{entry['doc_id']}', which is already in the knowledge base")
        return staged

    def validate(self, uploads: Sequence[tuple[str, bytes]]) -> list[tuple[str, str]]:
        """The ``(name, reason)`` of every upload `add` would reject, without changing anything.

        Lets a caller answer at once and run `add` (which checks again) in the background.
        """
        rejected: list[tuple[str, str]] = []
        with self._staging() as staging:
            for name, data in uploads:
                try:
                    self.check_upload(name, data, staging)
                except UploadRejected as exc:
                    rejected.append((name, str(exc)))
        return rejected

    def _entries(self) -> list[dict]:
        """The manifest's document entries (empty without an index)."""
        try:
            return list(read_manifest(self.index_dir).get("documents", []))
        except RagError:
            return []

    def add(self, uploads: Sequence[tuple[str, bytes]], progress: Progress | None = None) -> AddResult:
        """Validate `uploads` (``(file name, bytes)``), move the good ones into ``documents/``, index them.

        Rejected files are reported and never touch ``documents/`` or the index. When every file is
        rejected the index is left as it was. If the build fails, the added files are taken out again
        (replaced ones restored) and the error is raised.
        """
        result = AddResult()
        with self._lock, self._staging() as staging:
            incoming, backups = staging / "incoming", staging / "replaced"
            incoming.mkdir()
            backups.mkdir()
            accepted: list[Path] = []
            for number, (name, data) in enumerate(uploads, start=1):
                _report(progress, 0.5 * (number - 1) / max(len(uploads), 1), f"Checking {name}")
                try:
                    accepted.append(self.check_upload(name, data, incoming))
                except UploadRejected as exc:
                    result.rejected.append((name, str(exc)))
            if not accepted:
                _report(progress, 1.0, "Nothing added")
                return result
            self.documents_dir.mkdir(parents=True, exist_ok=True)
            for staged in accepted:
                target = self.documents_dir / staged.name
                if target.exists() or target.is_symlink():
                    os.replace(target, backups / staged.name)
                    result.replaced.append(staged.name)
                else:
                    result.added.append(staged.name)
                os.replace(staged, target)
            _report(progress, 0.5, f"Indexing {len(accepted)} file(s)")
            try:
                result.report = self.builder.add([self.documents_dir / s.name for s in accepted], self.index_dir, progress=False)
            except BaseException:
                for staged in accepted:
                    (self.documents_dir / staged.name).unlink(missing_ok=True)
                for backup in backups.iterdir():
                    os.replace(backup, self.documents_dir / backup.name)
                raise
            _report(progress, 1.0, "Done")
            return result

    def ingest(self, paths: Sequence[str | Path], sync: bool = False, progress: bool = True) -> BuildReport:
        """Add or update the documents under `paths` where they are (``rag ingest``); with `sync`, the knowledge
        base then holds exactly them, and the files of documents it drops are deleted from ``documents/``."""
        return self._apply(Change(paths=tuple(paths), prune=sync), progress)

    def refresh(self, sync: bool = False, progress: bool = True) -> BuildReport:
        """Read ``documents/`` and every other source again (``rag ingest`` without paths); with `sync`, documents
        whose files are gone are dropped everywhere, not only in ``documents/``."""
        change = self._folder_change(refresh=self.has_index())
        return self._apply(Change(change.paths, prune=True if sync else change.prune, refresh=change.refresh), progress)

    def _apply(self, change: Change, progress: bool, force: bool = False) -> BuildReport:
        """`change` to the index; then the files of the documents it dropped are deleted from ``documents/``."""
        with self._lock:
            owned = {e["doc_id"]: Path(e["source"]) for e in self._entries() if e.get("source") and self.owns(e["source"])}
            report = self.builder.apply(change, self.index_dir, progress, force=force)
            for doc_id in report.removed:
                if doc_id in owned:
                    owned[doc_id].unlink(missing_ok=True)
            return report

    def remove(self, doc_ids: str | Sequence[str], progress: Progress | None = None) -> BuildReport:
        """Drop documents from the index, and their files when they live in ``documents/``; the files come back if
        the build fails."""
        doc_ids = [doc_ids] if isinstance(doc_ids, str) else list(doc_ids)
        with self._lock, self._staging() as staging:
            owned = [path for path in map(self.check_removable, doc_ids) if path is not None]
            if len(set(doc_ids)) >= len(self._entries()):
                raise RagError("That would remove the last document; add another before removing it.")
            for path in owned:
                os.replace(path, staging / path.name)
            _report(progress, 0.2, f"Removing {', '.join(doc_ids)} and re-indexing")
            try:
                report = self.builder.remove(doc_ids, self.index_dir, progress=False)
            except BaseException:
                for path in owned:
                    os.replace(staging / path.name, path)
                raise
            _report(progress, 1.0, "Done")
            return report

    def check_removable(self, doc_id: str) -> Path | None:
        """Whether `remove` may drop `doc_id` (`DocumentNotFound`, or `RagError` for the last document); returns
        its file when that lives in ``documents/`` (removing deletes it), else None."""
        entries = self._entries()
        entry = next((e for e in entries if e["doc_id"] == doc_id), None)
        if entry is None:
            raise DocumentNotFound(f"'{doc_id}' is not in the knowledge base.")
        if len(entries) == 1:
            raise RagError("This is the last document; add another before removing it.")
        source = Path(entry.get("source") or self.documents_dir / doc_id)
        return source if self.owns(source) and source.is_file() else None

    def rebuild(self, progress: Progress | None = None) -> BuildReport:
        """Read every source again and write a new index (picks up files copied into ``documents/`` by hand, and
        changed files)."""
        _report(progress, 0.1, "Re-indexing")
        report = self._apply(self._folder_change(refresh=self.has_index()), progress=False, force=True)
        _report(progress, 1.0, "Done")
        return report

    @contextmanager
    def _staging(self) -> Iterator[Path]:
        """A scratch folder inside the data directory (same filesystem, so moves are renames)."""
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".upload-", dir=self.root))
        try:
            yield staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def open_knowledge_base(
    data_dir: str | Path, config: Config, embedder: Embedder, max_upload_bytes: int, progress: Progress | None = None
) -> KnowledgeBase:
    """The knowledge base in `data_dir`, seeded with the bundled corpus and indexed on first use.

    The default index, when built, is copied in first so the seed documents' vectors are reused.
    """
    base = KnowledgeBase(data_dir, IndexBuilder(config, embedder), max_upload_bytes)
    seed_index = default_index_dir()
    if base.ensure_ready(default_corpus_files(), seed_index if seed_index.is_dir() else None, progress=progress):
        log.info("Indexed the knowledge base at %s", base.root)
    return base


def indexed_documents(index_dir: str | Path) -> list[DocumentInfo]:
    """The documents an index's manifest lists (empty when there is no index); a folder or a store URI."""
    try:
        manifest = store_manifest(index_dir)
    except RagError:
        return []
    return [
        DocumentInfo(d["doc_id"], int(d.get("chunks", 0)), int(d.get("chars", 0)), d.get("format", ""), d.get("encoding", ""),
                     d.get("added_at", manifest.get("built_at", "")), d.get("source") or d.get("path", ""))
        for d in manifest.get("documents", [])
    ]


def _size(n_bytes: int) -> str:
    if n_bytes < 1024:
        return f"{n_bytes} bytes"
    if n_bytes < 1024 * 1024:
        return f"{n_bytes / 1024:.1f} KB"
    return f"{n_bytes / 1048576:.1f} MB"


def _report(progress: Progress | None, fraction: float, text: str) -> None:
    if progress is not None:
        progress(min(max(fraction, 0.0), 1.0), text)


__all__ = [
    "AddResult", "DocumentInfo", "DocumentNotFound", "KnowledgeBase", "UploadRejected", "indexed_documents",
    "open_knowledge_base", "safe_name",
]
