"""Which documents an index holds after a change, decided before anything is chunked or embedded.

A document is known by its *source*: the resolved path of the file it was read from. An ingest adds the
documents under the paths it is given and updates those whose source is already indexed (when their content
changed); every other indexed document is kept, its text and vectors taken from the previous index (so a
document whose file has since disappeared stays answerable, and is reported). *Pruning* drops the indexed
documents not found this time: all of them (``rag ingest --sync``: the index holds exactly the given paths)
or only those whose source lies under given folders (a knowledge base's ``documents/`` folder). Removing
drops documents by id. A new file whose content equals a document that stays is skipped as a duplicate; a
new document whose id (its path relative to the folder given, or its file name) is taken gets the shortest
tail of its path that is free.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from rag.core.errors import IngestError, RagError
from rag_ingest.loaders import SkippedFile, SourceDocument


class UnknownDocuments(RagError):
    """`rag remove` named documents the index does not hold."""


@dataclass(frozen=True)
class IndexedDocument:
    """A document as the index holds it: what was read, where from, and when it was added and last changed."""

    document: SourceDocument
    source: str
    added_at: str
    updated_at: str

    @property
    def doc_id(self) -> str:
        return self.document.doc_id


@dataclass(frozen=True)
class Change:
    """One change to an index's documents (see `rag_ingest.builder.IndexBuilder.apply`)."""

    paths: tuple[str | Path, ...] = ()
    """Files or folders to add or update."""
    remove: tuple[str, ...] = ()
    """Document ids to drop."""
    prune: bool | tuple[Path, ...] = False
    """Drop indexed documents not found under `paths`: all of them (True), or those whose source lies under
    these folders."""
    refresh: bool = False
    """Read the sources the index records (the folders and files it was given) instead of `paths`."""


@dataclass(kw_only=True)
class Outcome:
    """What a change does to each document, by id (a plan's, then the build report's)."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    """Documents read again and found unchanged."""
    kept: list[str] = field(default_factory=list)
    """Indexed documents this change did not read (left as they were)."""
    removed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    """Kept documents whose source file no longer exists (still answerable; `rag remove` drops them)."""


@dataclass
class Plan(Outcome):
    """The documents an index will hold and how each got there."""

    documents: list[IndexedDocument]
    skipped: list[SkippedFile] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    """The folders and files the index was given (what a refresh reads)."""
    excluded: list[str] = field(default_factory=list)
    """Sources removed by id that a refresh of their folder must not bring back."""

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def source_of(path: str | Path) -> str:
    """The identity of a document's file: its resolved absolute path."""
    return str(Path(path).resolve())


def indexed_documents_of(manifest: dict[str, Any], texts: dict[str, str]) -> list[IndexedDocument]:
    """The documents of an index from its manifest and document texts (older manifests lack sources and dates:
    the path as recorded and the build time stand in)."""
    built = manifest.get("built_at", "")
    result = []
    for entry in manifest.get("documents", []):
        document = SourceDocument(
            entry["doc_id"], entry.get("path", entry["doc_id"]), texts[entry["doc_id"]], entry["sha256"],
            entry.get("format", "text"), entry.get("encoding", ""), tuple(entry.get("warnings", ())),
        )
        source = entry.get("source") or source_of(document.path)
        result.append(IndexedDocument(document, source, entry.get("added_at", built), entry.get("updated_at", built)))
    return result


def plan_change(
    previous: Sequence[IndexedDocument], loaded: Sequence[SourceDocument], change: Change,
    recorded: Sequence[str] = (), excluded: Sequence[str] = (),
) -> Plan:
    """What the index holds after `change`, given its documents (`previous`), the documents just read from the
    change's paths (`loaded`), and the sources and exclusions its manifest records.

    Raises UnknownDocuments for ids to remove that are not indexed, IngestError when nothing would be left.
    """
    unknown = sorted(set(change.remove) - {p.doc_id for p in previous})
    if unknown:
        raise UnknownDocuments(
            f"Not in the index: {', '.join(unknown)}. `rag list` shows the documents it holds (by the names in its first column)."
        )
    stamp = now()
    read = {source_of(d.path): d for d in loaded}
    roots = [source_of(p) for p in change.paths]
    plan = Plan([], sources=list(recorded) if not change.prune is True else [])
    plan.sources += [r for r in roots if r not in plan.sources]
    plan.excluded = [e for e in excluded if e not in read and change.prune is not True]
    for old in previous:
        document = read.pop(old.source, None)
        if old.doc_id in change.remove:
            plan.removed.append(old.doc_id)
            _exclude(plan, old.source)
        elif document is not None and document.sha256 == old.document.sha256:
            plan.documents.append(old)
            plan.unchanged.append(old.doc_id)
        elif document is not None:
            plan.documents.append(IndexedDocument(replace(document, doc_id=old.doc_id), old.source, old.added_at, stamp))
            plan.updated.append(old.doc_id)
        elif _pruned(old.source, change.prune):
            plan.removed.append(old.doc_id)
        else:
            plan.documents.append(old)
            plan.kept.append(old.doc_id)
            if not os.path.exists(old.source):
                plan.missing.append(old.doc_id)
    staying = {d.document.sha256: d.doc_id for d in plan.documents}
    taken = {d.doc_id for d in plan.documents}
    for source, document in read.items():
        if document.sha256 in staying:
            plan.skipped.append(SkippedFile(document.path, f"same content as '{staying[document.sha256]}', already in the index"))
            continue
        doc_id = _free_id(document.doc_id, source, taken)
        taken.add(doc_id)
        staying[document.sha256] = doc_id
        plan.documents.append(IndexedDocument(replace(document, doc_id=doc_id), source, stamp, stamp))
        plan.added.append(doc_id)
    if not plan.documents:
        raise IngestError("That would leave the index without documents; add others first (or delete the index folder).")
    return plan


def _exclude(plan: Plan, source: str) -> None:
    """Keep a removed document out of later refreshes: drop it from the recorded sources when it was given
    by itself, else remember it as excluded from its folder."""
    if source in plan.sources:
        plan.sources.remove(source)
    elif source not in plan.excluded:
        plan.excluded.append(source)


def _pruned(source: str, prune: bool | tuple[Path, ...]) -> bool:
    if prune is True:
        return True
    if not prune:
        return False
    return any(Path(source).is_relative_to(Path(folder).resolve()) for folder in prune)


def _free_id(doc_id: str, source: str, taken: set[str]) -> str:
    """`doc_id`, or the shortest tail of `source` (``notes/a.md``, ``home/notes/a.md``, …) no document has."""
    if doc_id not in taken:
        return doc_id
    parts = Path(source).parts
    for length in range(2, len(parts) + 1):
        candidate = "/".join(parts[-length:]).lstrip("/")
        if candidate not in taken:
            return candidate
    return Path(source).as_posix()
