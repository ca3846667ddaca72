"""An index read from Milvus: searches run in Milvus; passages, sentences and documents load at open.

Dense search is inner product over the passage vectors (FLAT, or HNSW for large collections); sparse
search is inner product between the stored BM25 document vectors and a question vector built here
from the stored statistics (`rag.index.milvus.bm25`), so both rank as the local store does.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Collection

import numpy as np

from rag.core.errors import IndexCorruptError, IndexMismatchError
from rag.core.locations import MilvusLocation
from rag.core.schema import Chunk
from rag.core.text import tokenize
from rag.index.local import FORMAT_VERSION, check_embedder
from rag.index.milvus import collections as mc
from rag.index.milvus.bm25 import Bm25Stats

log = logging.getLogger(__name__)

MANIFEST_BLOB = "manifest"
BM25_BLOB = "bm25"
DOCUMENT_BLOB = "doc:"
_OPEN_ATTEMPTS = 20


class MilvusDense:
    """`DenseSearch` on the chunks collection's dense vectors."""

    def __init__(self, client: Any, collection: str, rows: dict[str, int], ef: int) -> None:
        self.client, self.collection, self.rows, self.ef = client, collection, rows, ef

    def __len__(self) -> int:
        return len(self.rows)

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        k = min(k, len(self))
        if k <= 0:
            return []
        vector = np.asarray(query, dtype=np.float32).reshape(-1).tolist()
        found = self.client.search(
            self.collection, [vector], anns_field="dense", limit=k, output_fields=["id"],
            search_params={"metric_type": "IP", "params": {"ef": max(self.ef, k)}},
        )[0]
        return _known(found, self.rows)


class MilvusSparse:
    """`SparseSearch` on the chunks collection's BM25 vectors."""

    def __init__(self, client: Any, collection: str, rows: dict[str, int], stats: Bm25Stats) -> None:
        self.client, self.collection, self.rows, self.stats = client, collection, rows, stats

    def __len__(self) -> int:
        return len(self.rows)

    def document_frequency(self, token: str) -> int:
        return self.stats.document_frequency(token)

    def terms_in(self, row: int, tokens: Collection[str]) -> None:
        return None  # the postings live in Milvus: the caller tokenizes the passage

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        vector = self.stats.query_vector(tokenize(query))
        k = min(k, len(self))
        if not vector or k <= 0:
            return []
        found = self.client.search(
            self.collection, [vector], anns_field="sparse", limit=k, output_fields=["id"],
            search_params={"metric_type": "IP"},
        )[0]
        return [(row, score) for row, score in _known(found, self.rows) if score > 0]


def _known(found: list[dict], rows: dict[str, int]) -> list[tuple[int, float]]:
    # A passage written after this store opened is not in `rows`: skip it until the next reload.
    return [(rows[hit["id"]], float(hit["distance"])) for hit in found if hit["id"] in rows]


class MilvusStore:
    """An index in Milvus, opened: the `rag.index.protocol.Store` the stages read."""

    def __init__(self, location: MilvusLocation, client: Any, generation: str, manifest: dict[str, Any],
                 chunks: list[Chunk], embeddings: np.ndarray, sentences: np.ndarray,
                 sentence_embeddings: np.ndarray, documents: dict[str, str], stats: Bm25Stats, ef: int) -> None:
        self.location_info = location
        self.client = client
        self.path = str(location)
        self.manifest = manifest
        self.chunks = chunks
        self.embeddings = embeddings
        self.sentences = sentences
        self.sentence_embeddings = sentence_embeddings
        self.documents = documents
        self.stats = stats
        self._generation = generation
        rows = {chunk.id: row for row, chunk in enumerate(chunks)}
        self.dense = MilvusDense(client, mc.name(location, mc.CHUNKS), rows, ef)
        self.sparse = MilvusSparse(client, mc.name(location, mc.CHUNKS), rows, stats)

    @classmethod
    def open(cls, location: MilvusLocation, embedder_spec: str | None = None, client: Any = None) -> "MilvusStore":
        """Open the index at `location`; IndexNotFoundError when there is none, IndexMismatchError when it
        was built with another embedder than `embedder_spec`, IndexCorruptError when its parts disagree."""
        client = client if client is not None else mc.connect(location)
        mc.require(client, location)
        for _ in range(_OPEN_ATTEMPTS):
            before = mc.read_generation(client, location)
            store = cls._load(location, client, str(before), embedder_spec)
            if mc.read_generation(client, location) == before:
                return store
            log.info("Index %s was written while it was being opened; reading it again", location)
        raise IndexCorruptError(f"Index '{location}' kept changing while it was being opened; try again.")

    @classmethod
    def _load(cls, location: MilvusLocation, client: Any, generation: str, embedder_spec: str | None) -> "MilvusStore":
        manifest = read_manifest(client, location)
        check_embedder(location, manifest, embedder_spec)
        stats = Bm25Stats.from_json(json.loads(_blob(client, location, BM25_BLOB)))
        documents = {blob[len(DOCUMENT_BLOB):]: text for blob, text in mc.read_blobs(client, location, DOCUMENT_BLOB).items()}
        order = {d["doc_id"]: i for i, d in enumerate(manifest["documents"])}
        records = sorted(
            mc.rows(client, mc.name(location, mc.CHUNKS), ["id", "doc_id", "position", "chunk", "dense"]),
            key=lambda r: (order.get(r["doc_id"], len(order)), int(r["position"])),
        )
        chunks = [Chunk.from_json(r["chunk"]) for r in records]
        dim = int(manifest["embedder"]["dim"])
        embeddings = np.asarray([r["dense"] for r in records], dtype=np.float32).reshape(-1, dim)
        rows = {chunk.id: row for row, chunk in enumerate(chunks)}
        spans = sorted(
            ((rows[s["chunk_id"]], int(s["start"]), int(s["end"]), s["vector"])
             for s in mc.rows(client, mc.name(location, mc.SENTENCES), ["chunk_id", "start", "end", "vector"])
             if s["chunk_id"] in rows),
            key=lambda s: (s[0], s[1], s[2]),
        )
        sentences = np.asarray([s[:3] for s in spans], dtype=np.int64).reshape(-1, 3)
        sentence_embeddings = np.asarray([s[3] for s in spans], dtype=np.float32).reshape(-1, dim)
        _check(location, manifest, chunks, documents, len(sentences))
        ef = int(manifest["index"].get("hnsw_ef_search", 128))
        return cls(location, client, generation, manifest, chunks, embeddings, sentences, sentence_embeddings,
                   documents, stats, ef)

    @property
    def location(self) -> str:
        return self.path

    @property
    def root(self) -> str:
        return self.path

    @property
    def embedder_spec(self) -> str:
        return str(self.manifest["embedder"]["spec"])

    @property
    def generation(self) -> str:
        return self._generation

    def latest_generation(self) -> str:
        return str(mc.read_generation(self.client, self.location_info))


def read_manifest(client: Any, location: MilvusLocation) -> dict[str, Any]:
    """The manifest stored with the index at `location`."""
    try:
        manifest = json.loads(_blob(client, location, MANIFEST_BLOB))
    except json.JSONDecodeError as exc:
        raise IndexCorruptError(f"The manifest of index '{location}' is unreadable ({exc}); rebuild it with rag ingest.") from None
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"Index '{location}' has format version {manifest.get('format_version')}, this version reads "
            f"{FORMAT_VERSION}; rebuild it with rag ingest."
        )
    return manifest


def _blob(client: Any, location: MilvusLocation, blob: str) -> str:
    text = mc.read_blob(client, location, blob)
    if text is None:
        raise IndexCorruptError(
            f"Index '{location}' has no '{blob}' record in {mc.name(location, mc.META)}; rebuild it with rag ingest."
        )
    return text


def _check(location: MilvusLocation, manifest: dict, chunks: list[Chunk], documents: dict[str, str], sentences: int) -> None:
    counts = manifest["counts"]
    found = {"chunks": len(chunks), "documents": len(documents), "sentences": sentences}
    for what, count in found.items():
        if count != counts[what]:
            raise IndexCorruptError(
                f"Index '{location}' holds {count} {what} but its manifest says {counts[what]}; "
                f"rebuild it with rag ingest --index {location}."
            )
    for row, chunk in enumerate(chunks):
        text = documents.get(chunk.doc_id)
        if text is None or text[chunk.start:chunk.end] != chunk.text:
            raise IndexCorruptError(
                f"Index '{location}': passage {chunk.id} (row {row}) does not match its document's text; "
                f"rebuild it with rag ingest --index {location}."
            )
