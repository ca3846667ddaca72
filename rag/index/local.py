"""Reading an index directory written by `ingest`.

An index directory holds *generations*: complete, immutable builds in their own subfolders, and a
pointer file naming the current one. A build writes a new generation beside the old ones and then
replaces the pointer atomically, so a reader always sees one whole generation::

    INDEX/
      CURRENT                  the name of the current generation (replaced with os.replace)
      gen-<time>-<random>/     a complete build (files below); the previous one is kept for a while
      .building-*/             a build in progress (a leftover from a killed build is removed by the next)

Each generation holds (every file named for what it holds)::

    manifest.json     embedder, chunker and BM25 settings, sources with hashes, counts, build time
    chunks.jsonl      one Chunk per line, row order = vector order
    documents.jsonl   the decoded text of every source document (citations resolve against it)
    embeddings.npy    float32 passage vectors (lets re-ingest reuse unchanged documents)
    sentences.npy     int64 (chunk row, start, end) of every evidence sentence (not bare questions)
    sentence_embeddings.npy   float32 vectors of those sentences (second-stage scoring, extractive answers)
    dense.faiss       the FAISS index over those vectors
    sparse/           the bm25s index over the same rows
    .readers          lock file: readers hold a shared lock on it while opening, so a writer never
                      deletes a generation that is being opened

`IndexStore.open` loads (or memory-maps) every file of one generation and checks that they agree, so
an open store never reads from another generation and a corrupt file is reported by name. Indexes of
the earlier flat layout (the files directly in INDEX/) are still read; the next build converts them.
"""
from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import portalocker
from pydantic import BaseModel, ConfigDict, ValidationError

from rag.core.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from rag.core.schema import Chunk
from rag.index.dense import DenseIndex
from rag.index.sparse import SparseIndex

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

CURRENT = "CURRENT"
"""Pointer file naming the current generation folder."""
READERS_LOCK = ".readers"
GENERATION_PREFIX = "gen-"
LEGACY_GENERATION = "."
"""`IndexStore.generation` of an index in the flat layout (files directly in the index directory)."""
_GENERATION_NAME = re.compile(r"^gen-[A-Za-z0-9_-]{1,80}$")
_OPEN_ATTEMPTS = 50
# One generation is read at a time per process: reading parses .npy headers with ast.literal_eval, and CPython
# 3.11 raised "SystemError: AST constructor recursion depth mismatch" when threads built ASTs at once
# (python/cpython#106905; seen here on 3.11.7 with two threads opening an index while a third reloaded it).
_READ_LOCK = threading.Lock()


def backup_path(index_dir: Path) -> Path:
    """Where the flat layout's previous index waited during a swap (read if a crash left only it)."""
    return index_dir.with_name(index_dir.name + ".previous")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


class _Embedder(BaseModel):
    model_config = ConfigDict(extra="allow")
    spec: str
    dim: int


class _Counts(BaseModel):
    model_config = ConfigDict(extra="allow")
    documents: int
    chunks: int
    sentences: int


class _DocumentEntry(BaseModel):
    model_config = ConfigDict(extra="allow")
    doc_id: str
    sha256: str


class _IndexSettings(BaseModel):
    model_config = ConfigDict(extra="allow")
    dense: str


class ManifestSchema(BaseModel):
    """The fields of manifest.json that readers rely on (others are informational)."""

    model_config = ConfigDict(extra="allow")
    format_version: int
    embedder: _Embedder
    index: _IndexSettings
    sources: list[str]
    documents: list[_DocumentEntry]
    counts: _Counts


# -- locating the current generation ------------------------------------------------------------


def current_generation(index_dir: str | Path) -> Path:
    """The folder of the index's current generation (the index folder itself for the flat layout).

    Raises IndexNotFoundError when there is no index, IndexCorruptError when the pointer is broken.
    """
    root = Path(index_dir)
    pointer = root / CURRENT
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        if (root / MANIFEST).is_file():
            return root
        if not root.exists() and backup_path(root).is_dir():
            log.warning("Index %s is missing but its previous version survived; using %s", root, backup_path(root))
            return current_generation(backup_path(root))
        raise IndexNotFoundError(
            f"No index at '{root}' (no {CURRENT} or {MANIFEST}). Build one with: rag ingest PATH... --index {root}"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(f"Index file '{pointer}' is unreadable ({exc}); {_rebuild_hint(root)}") from None
    if not _GENERATION_NAME.match(name):
        raise IndexCorruptError(f"Index file '{pointer}' does not name a generation ({name[:40]!r}); {_rebuild_hint(root)}")
    return root / name


def generation_id(index_dir: str | Path) -> str:
    """A cheap token that changes whenever a build switches the index's generation ('missing' if none).

    One small file read; long-lived readers call it before each question to notice rebuilds.
    """
    root = Path(index_dir)
    for folder in (root, backup_path(root)):
        try:
            return (folder / CURRENT).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            pass
        try:
            return f"flat-{(folder / MANIFEST).stat().st_mtime_ns}"
        except OSError:
            pass
    return "missing"


def index_exists(index_dir: str | Path) -> bool:
    """Whether `index_dir` holds an index (of either layout)."""
    try:
        return (current_generation(index_dir) / MANIFEST).is_file()
    except (IndexNotFoundError, IndexCorruptError):
        return False


def read_manifest(index_dir: Path) -> dict[str, Any]:
    """The manifest of an index's current generation (or of a generation folder given directly).

    Raises IndexNotFoundError saying how to build one, IndexCorruptError naming a broken file.
    """
    folder = Path(index_dir)
    if not (folder / MANIFEST).is_file() or (folder / CURRENT).exists():
        folder = current_generation(folder)
    return _read_manifest_file(folder, _index_root(folder))


def _index_root(generation: Path) -> Path:
    return generation.parent if generation.name.startswith(GENERATION_PREFIX) else generation


def _rebuild_hint(root: Path) -> str:
    return f"rebuild the index with: rag ingest PATH... --index {root} (or rag ingest --index {root} to refresh it)"


def _read_manifest_file(folder: Path, root: Path) -> dict[str, Any]:
    file = folder / MANIFEST
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexCorruptError(f"Index file '{file}' is missing; {_rebuild_hint(root)}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexCorruptError(f"Index file '{file}' is unreadable ({exc}); {_rebuild_hint(root)}") from None
    if not isinstance(manifest, dict):
        raise IndexCorruptError(f"Index file '{file}' is not a JSON object; {_rebuild_hint(root)}")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"Index '{root}' has format version {manifest.get('format_version')}, this version reads "
            f"{FORMAT_VERSION}; rebuild it with rag ingest."
        )
    try:
        ManifestSchema.model_validate(manifest)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise IndexCorruptError(
            f"Index file '{file}' is malformed ({where}: {problem['msg']}); {_rebuild_hint(root)}"
        ) from None
    return manifest


def check_embedder(location: object, manifest: dict[str, Any], embedder_spec: str | None) -> None:
    """Raise IndexMismatchError when the index at `location` was built with another embedder than `embedder_spec`."""
    built_with = manifest["embedder"]["spec"]
    if embedder_spec is not None and embedder_spec != built_with:
        raise IndexMismatchError(
            f"Index '{location}' was built with embedder '{built_with}' but '{embedder_spec}' is configured. "
            f"Rebuild it with the new embedder (rag ingest PATH... --index {location} --embedder {embedder_spec}) "
            f"or query it with --embedder {built_with}."
        )


# -- the opened index -------------------------------------------------------------------------


@dataclass
class IndexStore:
    """An opened index generation: chunks, their vectors, evidence sentences, dense and sparse indexes.

    Everything is read (arrays memory-mapped) from one generation at `open`, so rebuilding the index
    afterwards never changes what this store sees.
    """

    path: Path
    """The index directory (as opened; for the flat layout, the folder holding the files)."""
    manifest: dict[str, Any]
    chunks: list[Chunk]
    dense: DenseIndex
    sparse: SparseIndex
    embeddings: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32), repr=False)
    """Passage vectors, memory-mapped (row i belongs to chunks[i])."""
    sentences: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.int64), repr=False)
    """``(chunk row, start, end)`` per evidence sentence, offsets in the source document."""
    sentence_embeddings: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32), repr=False)
    """Vectors of `sentences`, memory-mapped."""
    documents: dict[str, str] = field(default_factory=dict, repr=False)
    """Full text of each source document by doc id."""
    folder: Path | None = None
    """The generation folder every file was read from (`path` for the flat layout)."""

    @property
    def root(self) -> Path:
        """The index directory (same as `path`)."""
        return self.path

    @classmethod
    def open(cls, index_dir: str | Path, embedder_spec: str | None = None) -> "IndexStore":
        """Open the current generation of `index_dir` (or a generation folder given directly).

        With `embedder_spec`, fail unless the index was built with that embedder. A generation
        replaced and removed while being opened is retried with the new current one.
        """
        root = Path(index_dir)
        for _ in range(_OPEN_ATTEMPTS):
            direct = (root / MANIFEST).is_file() and not (root / CURRENT).exists()
            generation = root if direct else current_generation(root)
            with _ReaderLock(generation) as held:
                if not held:
                    if not generation.exists() and current_generation(root) == generation:
                        raise IndexCorruptError(
                            f"Index file '{root / CURRENT}' names generation '{generation.name}', which does not "
                            f"exist; {_rebuild_hint(root)}"
                        )
                    continue  # removed by a writer after we read the pointer: read it again
                try:
                    with _READ_LOCK:
                        return cls._load(generation, root if direct else _index_root(generation), embedder_spec)
                except IndexCorruptError:
                    if direct and (root / CURRENT).exists():
                        continue  # a flat-layout index converted to generations while we read it
                    raise
        raise IndexCorruptError(
            f"Index '{root}' kept changing while it was being opened ({_OPEN_ATTEMPTS} tries); try again."
        )

    @classmethod
    def _load(cls, folder: Path, root: Path, embedder_spec: str | None) -> "IndexStore":
        manifest = _read_manifest_file(folder, root)
        check_embedder(root, manifest, embedder_spec)
        check = _Checker(folder, root)
        counts, dim = manifest["counts"], int(manifest["embedder"]["dim"])
        chunks = check.load(CHUNKS, lambda p: [Chunk.from_json(r) for r in read_jsonl(p)])
        check.agree(CHUNKS, len(chunks), counts["chunks"], "chunks", "manifest.json counts")
        documents = check.load(DOCUMENTS, lambda p: {r["doc_id"]: r["text"] for r in read_jsonl(p)})
        check.agree(DOCUMENTS, len(documents), counts["documents"], "documents", "manifest.json counts")
        for row, chunk in enumerate(chunks):
            text = documents.get(chunk.doc_id)
            if text is None or text[chunk.start:chunk.end] != chunk.text:
                check.fail(CHUNKS, f"chunk {row} does not match its document's text in {DOCUMENTS}")
        embeddings = check.array(EMBEDDINGS, (len(chunks), dim), np.float32)
        sentences = check.array(SENTENCES, (counts["sentences"], 3), np.int64, mmap=False)
        if len(sentences) and (sentences[:, 0].min() < 0 or sentences[:, 0].max() >= len(chunks)):
            check.fail(SENTENCES, "a sentence points at a chunk row that does not exist")
        sentence_embeddings = check.array(SENTENCE_EMBEDDINGS, (len(sentences), dim), np.float32)
        dense = check.load(DENSE, lambda p: DenseIndex.load(p, manifest["index"]["dense"]))
        check.agree(DENSE, len(dense), len(chunks), "vectors", CHUNKS)
        check.agree(DENSE, dense.dim, dim, "dimensions", "manifest.json embedder.dim")
        sparse = check.load(SPARSE, SparseIndex.load)
        check.agree(SPARSE, len(sparse), len(chunks), "BM25 rows", CHUNKS)
        return cls(root, manifest, chunks, dense, sparse, embeddings, sentences, sentence_embeddings, documents, folder)

    @property
    def location(self) -> str:
        """The index directory as text (what `rag.index.stores.open_store` takes)."""
        return str(self.path)

    def latest_generation(self) -> str:
        """The `generation_id` of the index's current generation now (one small file read)."""
        return generation_id(self.path)

    @property
    def embedder_spec(self) -> str:
        return str(self.manifest["embedder"]["spec"])

    @property
    def generation(self) -> str:
        """The generation's folder name (`LEGACY_GENERATION` for the flat layout)."""
        folder = self.folder or self.path
        return folder.name if folder.name.startswith(GENERATION_PREFIX) else LEGACY_GENERATION


class _Checker:
    """Loads the files of one generation, turning any failure into an IndexCorruptError naming the file."""

    def __init__(self, folder: Path, root: Path) -> None:
        self.folder = folder
        self.root = root

    def fail(self, name: str, problem: str) -> None:
        raise IndexCorruptError(f"Index file '{self.folder / name}' is corrupt ({problem}); {_rebuild_hint(self.root)}")

    def load(self, name: str, reader):
        path = self.folder / name
        if not path.exists():
            raise IndexCorruptError(f"Index file '{path}' is missing; {_rebuild_hint(self.root)}")
        try:
            return reader(path)
        except Exception as exc:  # noqa: BLE001 - any failure to parse a file means that file is corrupt
            detail = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:200]
            raise IndexCorruptError(f"Index file '{path}' is unreadable ({detail}); {_rebuild_hint(self.root)}") from None

    def array(self, name: str, shape: tuple[int, int], dtype: type, mmap: bool = True) -> np.ndarray:
        array = self.load(name, lambda p: np.load(p, mmap_mode="r" if mmap else None, allow_pickle=False))
        if array.dtype != np.dtype(dtype) or array.ndim != 2 or array.shape != shape:
            self.fail(name, f"shape {array.shape} {array.dtype}, expected {shape} {np.dtype(dtype)}")
        return array

    def agree(self, name: str, found: int, expected: int, what: str, other: str) -> None:
        if found != expected:
            self.fail(name, f"{found} {what}, but {other} says {expected}")


class _ReaderLock:
    """Shared lock on a generation's `.readers` file while it is opened; `held` is False if the
    generation disappeared (a writer removed it). The flat layout has no lock file: nothing to hold."""

    def __init__(self, generation: Path) -> None:
        self.generation = generation
        self.handle = None

    def __enter__(self) -> bool:
        if not self.generation.name.startswith(GENERATION_PREFIX):
            return True
        try:
            self.handle = open(self.generation / READERS_LOCK, "rb")  # noqa: SIM115 - closed in __exit__
        except FileNotFoundError:
            return False
        portalocker.lock(self.handle, portalocker.LockFlags.SHARED)
        return self.generation.is_dir()  # False once a writer has moved it away to delete it

    def __exit__(self, *exc_info: object) -> None:
        if self.handle is not None:
            portalocker.unlock(self.handle)
            self.handle.close()


def try_lock_for_removal(generation: Path) -> Any:
    """An open handle holding the exclusive lock on a generation's `.readers` file (nobody is opening
    it), or None when a reader holds it or the file is gone. The caller closes the handle."""
    try:
        handle = open(generation / READERS_LOCK, "rb")  # noqa: SIM115 - returned to the caller
    except OSError:
        return None
    try:
        portalocker.lock(handle, portalocker.LockFlags.EXCLUSIVE | portalocker.LockFlags.NON_BLOCKING)
    except portalocker.LockException:
        handle.close()
        return None
    return handle


def list_generations(index_dir: Path) -> list[Path]:
    """Every generation folder of an index, oldest first (names start with the build time)."""
    try:
        return sorted(p for p in Path(index_dir).iterdir() if _GENERATION_NAME.match(p.name) and p.is_dir())
    except FileNotFoundError:
        return []


__all__ = [
    "CURRENT", "IndexStore", "ManifestSchema", "current_generation", "generation_id", "index_exists",
    "list_generations", "read_manifest",
]
