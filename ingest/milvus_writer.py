"""Write an index (passages, vectors, evidence sentences, documents, manifest) into Milvus.

Every write upserts all passages by chunk id (their BM25 vectors depend on the collection's average
length, so each build refreshes them; dense vectors come from the build, reused for unchanged
documents), deletes the passages and sentences of documents no longer present, stores the BM25
statistics and the manifest, and last changes the generation token readers poll. Milvus has no
multi-collection transactions: a reader that searches during a write may briefly see a mix of the old
and new rows (tokens keep their sparse dimensions, so its question vectors still match); readers
reload on the new token. One writer per index at a time.
"""
from __future__ import annotations

import json
import logging
import secrets
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

from tqdm.auto import tqdm

from rag.core.config import Config
from rag.core.errors import IngestError
from rag.core.locations import MilvusLocation
from rag.core.text import tokenize
from rag.index.milvus import collections as mc
from rag.index.milvus.bm25 import Bm25Stats
from rag.index.milvus.store import (
    BM25_BLOB,
    DOCUMENT_BLOB,
    MANIFEST_BLOB,
    read_manifest,
)
from rag_ingest.index_part import IndexPart

log = logging.getLogger(__name__)


def dense_kind(chunks: int, config: Config) -> str:
    """``hnsw`` at or above ``index.hnsw_threshold`` passages (as the local store), else ``flat``."""
    return "hnsw" if chunks >= config.index.hnsw_threshold else "flat"


def write_index(
    location: MilvusLocation,
    manifest: dict[str, Any],
    documents: Sequence[dict[str, str]],
    rows: IndexPart,
    config: Config,
    progress: bool = True,
) -> str:
    """Make the index at `location` hold exactly `rows` and `documents` (dicts with doc_id, sha256,
    text); returns the new generation token. `manifest` is stored with store details added."""
    if location.is_lite:
        Path(location.uri).parent.mkdir(parents=True, exist_ok=True)
    from pymilvus.exceptions import MilvusException

    with mc.connected(location, create=True) as client:
        try:
            return _write(client, location, manifest, documents, rows, config, progress)
        except MilvusException as exc:
            raise IngestError(
                f"Could not write the index to '{location}' ({exc}). Readers keep the previous generation token but "
                f"may see some of the new passages; run the same rag ingest again to complete it."
            ) from exc


def _write(client: Any, location: MilvusLocation, manifest: dict[str, Any], documents: Sequence[dict[str, str]],
           rows: IndexPart, config: Config, progress: bool) -> str:
    dim = int(manifest["embedder"]["dim"])
    kind = manifest["index"]["dense"]
    previous = _previous_manifest(client, location)
    if previous is not None and (int(previous["embedder"]["dim"]) != dim or previous["index"]["dense"] != kind):
        log.info("Index %s changes vector size or dense index type; recreating its collections", location)
        mc.drop(client, location)
        previous = None
    mc.create(client, location, dim, kind.upper(), config.index.hnsw_m)
    mc.load(client, location)
    bm25 = manifest["index"]["bm25"]
    stats = Bm25Stats.build(
        [tokenize(c.indexed_text) for c in tqdm(rows.chunks, desc="BM25", unit="chunk", disable=not progress)],
        k1=float(bm25["k1"]), b=float(bm25["b"]), method=str(bm25["method"]),
        previous=_previous_stats(client, location) if previous is not None else None,
    )
    _write_chunks(client, location, rows, stats, progress)
    _write_sentences(client, location, rows, progress)
    _write_documents(client, location, documents, previous)
    generation = f"gen-{time.time_ns():020d}-{secrets.token_hex(3)}"
    stored = {
        **manifest,
        "index": {**manifest["index"], "hnsw_m": config.index.hnsw_m, "hnsw_ef_search": config.index.hnsw_ef_search},
        "store": {"kind": "milvus", "uri": location.uri, "collection": location.collection, "generation": generation,
                  "bm25_vocabulary": len(stats.vocabulary), "bm25_mean_length": stats.mean_length},
    }
    mc.write_blob(client, location, BM25_BLOB, json.dumps(stats.to_json(), ensure_ascii=False))
    mc.write_blob(client, location, MANIFEST_BLOB, json.dumps(stored, ensure_ascii=False))
    mc.write_generation(client, location, generation)  # last: readers switch on this token
    log.info("Wrote %d passages to %s (generation %s)", len(rows.chunks), location, generation)
    return generation


def _previous_manifest(client: Any, location: MilvusLocation) -> dict[str, Any] | None:
    if not mc.exists(client, location) or mc.read_generation(client, location) is None:
        return None
    try:
        mc.load(client, location)
        return read_manifest(client, location)
    except Exception as exc:  # noqa: BLE001 - an unreadable previous index is simply rewritten
        log.warning("Previous index at %s is unreadable (%s); rewriting it", location, exc)
        mc.drop(client, location)
        return None


def _previous_stats(client: Any, location: MilvusLocation) -> Bm25Stats | None:
    text = mc.read_blob(client, location, BM25_BLOB)
    return Bm25Stats.from_json(json.loads(text)) if text else None


def _write_chunks(client: Any, location: MilvusLocation, rows: IndexPart, stats: Bm25Stats, progress: bool) -> None:
    collection = mc.name(location, mc.CHUNKS)
    positions: dict[str, int] = {}
    records = []
    for chunk, vector in zip(rows.chunks, rows.vectors):
        position = positions.get(chunk.doc_id, 0)
        positions[chunk.doc_id] = position + 1
        records.append({
            "id": chunk.id, "doc_id": chunk.doc_id, "position": position, "chunk": chunk.to_json(),
            "dense": [float(v) for v in vector], "sparse": stats.document_vector(tokenize(chunk.indexed_text)),
        })
    _upsert(client, collection, records, "Writing passages", progress)
    _delete_others(client, collection, {r["id"] for r in records})


def _write_sentences(client: Any, location: MilvusLocation, rows: IndexPart, progress: bool) -> None:
    collection = mc.name(location, mc.SENTENCES)
    records = []
    for (row, start, end), vector in zip(rows.sentences, rows.sentence_vectors):
        chunk = rows.chunks[int(row)]
        records.append({"id": f"{chunk.id}:{int(start)}:{int(end)}", "chunk_id": chunk.id, "start": int(start),
                        "end": int(end), "vector": [float(v) for v in vector]})
    _upsert(client, collection, records, "Writing sentences", progress)
    _delete_others(client, collection, {r["id"] for r in records})


def _write_documents(client: Any, location: MilvusLocation, documents: Sequence[dict[str, str]],
                     previous: dict[str, Any] | None) -> None:
    """Store the text of new or changed documents; remove that of documents no longer indexed."""
    stored = {d["doc_id"]: d["sha256"] for d in (previous or {}).get("documents", [])}
    for document in documents:
        if stored.get(document["doc_id"]) != document["sha256"]:
            mc.write_blob(client, location, DOCUMENT_BLOB + document["doc_id"], document["text"])
    for doc_id in set(stored) - {d["doc_id"] for d in documents}:
        mc.delete_blob(client, location, DOCUMENT_BLOB + doc_id)


def _upsert(client: Any, collection: str, records: list[dict[str, Any]], desc: str, progress: bool) -> None:
    with tqdm(total=len(records), desc=desc, unit="row", disable=not progress) as bar:
        for start in range(0, len(records), mc.BATCH):
            batch = records[start:start + mc.BATCH]
            client.upsert(collection, batch)
            bar.update(len(batch))


def _delete_others(client: Any, collection: str, keep: set[str]) -> None:
    stale = [row["id"] for row in mc.rows(client, collection, ["id"]) if row["id"] not in keep]
    for start in range(0, len(stale), mc.BATCH):
        client.delete(collection, ids=stale[start:start + mc.BATCH])
    if stale:
        log.info("Removed %d rows of %s that are no longer indexed", len(stale), collection)


def documents_of(sources: Iterable[Any]) -> list[dict[str, str]]:
    """``{doc_id, sha256, text}`` records of loaded source documents."""
    return [{"doc_id": d.doc_id, "sha256": d.sha256, "text": d.text} for d in sources]
