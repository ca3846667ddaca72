"""Reading an index directory written by `ingest`.

Layout (every file named for what it holds)::

    manifest.json     embedder, chunker and BM25 settings, sources with hashes, counts, build time
    chunks.jsonl      one Chunk per line, row order = vector order
    documents.jsonl   the decoded text of every source document (citations resolve against it)
    embeddings.npy    float32 passage vectors (lets re-ingest reuse unchanged documents)
    sentences.npy     int64 (chunk row, start, end) of every evidence sentence (not bare questions)
    sentence_embeddings.npy   float32 vectors of those sentences (second-stage scoring, extractive answers)
    dense.faiss       the FAISS index over those vectors
    sparse/           the bm25s index over the same rows
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from rag.dense import DenseIndex
from rag.errors import IndexMismatchError, IndexNotFoundError
from rag.schema import Chunk
from rag.sparse import SparseIndex

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
MANIFEST = "manifest.json"
CHUNKS = "chunks.jsonl"
DOCUMENTS = "documents.jsonl"
EMBEDDINGS = "embeddings.npy"
SENTENCES = "sentences.npy"
SENTENCE_EMBEDDINGS = "sentence_embeddings.npy"
DENSE = "dense.faiss"
SPARSE = "sparse"
TOKENIZER_ID = "jieba-search-lower-v1"


def backup_path(index_dir: Path) -> Path:
    """Where the previous index waits while a new one is moved into place."""
    return index_dir.with_name(index_dir.name + ".previous")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@dataclass
class IndexStore:
    """An opened index: chunks plus their dense and sparse indexes, rows aligned."""

    path: Path
    manifest: dict[str, Any]
    chunks: list[Chunk]
    dense: DenseIndex
    sparse: SparseIndex
    _documents: dict[str, str] | None = field(default=None, repr=False)

    @classmethod
    def open(cls, index_dir: str | Path, embedder_spec: str | None = None) -> "IndexStore":
        """Open an index; with `embedder_spec`, fail unless the index was built with that embedder."""
        path = Path(index_dir)
        if not (path / MANIFEST).is_file() and (backup_path(path) / MANIFEST).is_file():
            log.warning("Index %s is missing but its previous version survived; using %s", path, backup_path(path))
            path = backup_path(path)
        manifest = read_manifest(path)
        built_with = manifest["embedder"]["spec"]
        if embedder_spec is not None and embedder_spec != built_with:
            raise IndexMismatchError(
                f"Index '{path}' was built with embedder '{built_with}' but '{embedder_spec}' is configured. "
                f"Rebuild it with the new embedder (rag ingest PATH... --index {path} --embedder {embedder_spec}) "
                f"or query it with --embedder {built_with}."
            )
        chunks = [Chunk.from_json(record) for record in read_jsonl(path / CHUNKS)]
        dense = DenseIndex.load(path / DENSE, manifest["index"]["dense"])
        sparse = SparseIndex.load(path / SPARSE)
        if not len(chunks) == len(dense) == len(sparse):
            raise IndexMismatchError(
                f"Index '{path}' is inconsistent ({len(chunks)} chunks, {len(dense)} vectors, "
                f"{len(sparse)} BM25 rows); rebuild it with rag ingest."
            )
        return cls(path, manifest, chunks, dense, sparse)

    @property
    def embedder_spec(self) -> str:
        return str(self.manifest["embedder"]["spec"])

    @cached_property
    def embeddings(self) -> np.ndarray:
        """Passage vectors, memory-mapped (row i belongs to chunks[i])."""
        return np.load(self.path / EMBEDDINGS, mmap_mode="r")

    @cached_property
    def sentences(self) -> np.ndarray:
        """``(chunk row, start, end)`` per evidence sentence, offsets in the source document."""
        return np.load(self.path / SENTENCES)

    @cached_property
    def sentence_embeddings(self) -> np.ndarray:
        """Vectors of `sentences`, memory-mapped."""
        return np.load(self.path / SENTENCE_EMBEDDINGS, mmap_mode="r")

    @property
    def documents(self) -> dict[str, str]:
        """Full text of each source document by doc id (loaded on first use)."""
        if self._documents is None:
            self._documents = {r["doc_id"]: r["text"] for r in read_jsonl(self.path / DOCUMENTS)}
        return self._documents


def read_manifest(index_dir: Path) -> dict[str, Any]:
    """The manifest of an index, or IndexNotFoundError saying how to build one."""
    file = index_dir / MANIFEST
    if not file.is_file():
        raise IndexNotFoundError(
            f"No index at '{index_dir}' (no {MANIFEST}). Build one with: rag ingest PATH... --index {index_dir}"
        )
    manifest = json.loads(file.read_text(encoding="utf-8"))
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"Index '{index_dir}' has format version {manifest.get('format_version')}, this version reads "
            f"{FORMAT_VERSION}; rebuild it with rag ingest."
        )
    return manifest
