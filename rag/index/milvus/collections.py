"""The Milvus collections one index uses, their schemas, and small helpers to read and write them.

``<name>_chunks``     one row per passage: id (the chunk id), doc id, position, the chunk record (JSON),
                      its dense vector (inner product) and its BM25 sparse vector (see `rag.index.milvus.bm25`)
``<name>_sentences``  one row per evidence sentence: chunk id, offsets, vector
``<name>_meta``       named text blobs in parts: the manifest, the BM25 statistics, each document's text;
                      its ``rag.generation`` property changes with every write (readers poll it)
"""
from __future__ import annotations

import hashlib
import json
import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from rag.core.errors import IndexNotFoundError, RagError
from rag.core.locations import MilvusLocation

log = logging.getLogger(__name__)

CHUNKS = "chunks"
SENTENCES = "sentences"
META = "meta"
GENERATION_PROPERTY = "rag.generation"
BLOB_PART_CHARS = 16_000
"""Characters per blob part: 4 UTF-8 bytes each stay under Milvus's 65,535-byte VARCHAR limit."""
ID_CHARS = 512
NAME_BYTES = 8192
"""Longest document id (a relative path) in UTF-8 bytes."""
BATCH = 512
_QUERY_BATCH = 2000


def connect(location: MilvusLocation, create: bool = False) -> Any:
    """A `MilvusClient` for `location`; RagError with the install hint or the reason it could not connect.

    A Milvus Lite file that does not exist is created only with `create` (writers); readers get
    IndexNotFoundError instead of an empty database left behind.
    """
    if location.is_lite and not create and not Path(location.uri).exists():
        raise IndexNotFoundError(_missing(location))
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise RagError(
            f"Index '{location}' is on Milvus, which needs the milvus extra: pip install 'rag-local[milvus]'"
        ) from None
    if location.is_lite:  # Lite has no timestamp service; iterators fall back to a client clock and warn each time
        logging.getLogger("pymilvus.client.iterator.query_iterator").setLevel(logging.ERROR)
    try:
        return MilvusClient(uri=location.uri, token=location.token)
    except Exception as exc:  # noqa: BLE001 - pymilvus raises many kinds; all mean "could not connect"
        raise RagError(f"Could not connect to Milvus for index '{location}' ({type(exc).__name__}: {exc}).") from None


@contextmanager
def connected(
    location: MilvusLocation, create: bool = False, unreachable: type[Exception] | tuple[type[Exception], ...] = ()
) -> Iterator[Any]:
    """`connect` to `location` for the ``with`` block and close the client after it.

    When connecting raises one of `unreachable` (for a caller, "no index there"), the block gets None
    instead; errors raised inside the block are never caught here.
    """
    try:
        client = connect(location, create=create)
    except unreachable:
        yield None
        return
    try:
        yield client
    finally:
        client.close()


def name(location: MilvusLocation, part: str) -> str:
    return f"{location.collection}_{part}"


def exists(client: Any, location: MilvusLocation) -> bool:
    """Whether the index's three collections exist."""
    return all(client.has_collection(name(location, part)) for part in (CHUNKS, SENTENCES, META))


def load(client: Any, location: MilvusLocation) -> None:
    """Load the collections for search and query (a fresh Milvus Lite process starts them released)."""
    for part in (CHUNKS, SENTENCES, META):
        client.load_collection(name(location, part))


def require(client: Any, location: MilvusLocation) -> None:
    """Load the index's collections; IndexNotFoundError saying how to build one when there is no index."""
    if not exists(client, location) or read_generation(client, location) is None:
        raise IndexNotFoundError(_missing(location))
    load(client, location)


def _missing(location: MilvusLocation) -> str:
    return (
        f"No index in Milvus at '{location}'. Build one with: rag ingest PATH... --index {location} "
        f"(or move a local index there: rag index export --index DIR --to {location})"
    )


def create(client: Any, location: MilvusLocation, dim: int, dense_index: str, hnsw_m: int) -> None:
    """Create the three collections (those missing) for vectors of `dim` dimensions."""
    from pymilvus import DataType, MilvusClient

    def schema(*fields: tuple) -> Any:
        made = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        for field_name, kind, options in fields:
            made.add_field(field_name, kind, **options)
        return made

    key = {"is_primary": True, "max_length": ID_CHARS}
    if not client.has_collection(name(location, CHUNKS)):
        index = client.prepare_index_params()
        dense_params = {"M": hnsw_m, "efConstruction": max(2 * hnsw_m, 80)} if dense_index == "HNSW" else {}
        index.add_index("dense", index_type=dense_index, metric_type="IP", params=dense_params)
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
        _create_collection(client, name(location, CHUNKS), index, schema(
            ("id", DataType.VARCHAR, key), ("doc_id", DataType.VARCHAR, {"max_length": NAME_BYTES}),
            ("position", DataType.INT64, {}), ("chunk", DataType.JSON, {}),
            ("dense", DataType.FLOAT_VECTOR, {"dim": dim}), ("sparse", DataType.SPARSE_FLOAT_VECTOR, {}),
        ))
    if not client.has_collection(name(location, SENTENCES)):
        index = client.prepare_index_params()
        index.add_index("vector", index_type="FLAT", metric_type="IP")
        _create_collection(client, name(location, SENTENCES), index, schema(
            ("id", DataType.VARCHAR, key), ("chunk_id", DataType.VARCHAR, {"max_length": ID_CHARS}),
            ("start", DataType.INT64, {}), ("end", DataType.INT64, {}),
            ("vector", DataType.FLOAT_VECTOR, {"dim": dim}),
        ))
    if not client.has_collection(name(location, META)):
        index = client.prepare_index_params()
        index.add_index("unused", index_type="FLAT", metric_type="L2")
        _create_collection(client, name(location, META), index, schema(
            ("id", DataType.VARCHAR, key), ("blob", DataType.VARCHAR, {"max_length": NAME_BYTES}),
            ("part", DataType.INT64, {}), ("text", DataType.VARCHAR, {"max_length": 65_535}),
            ("unused", DataType.FLOAT_VECTOR, {"dim": 2}),  # Milvus needs a vector field in every collection
        ))


def _create_collection(client: Any, collection: str, index: Any, schema: Any) -> None:
    # Indexes are created without waiting on their build state: Milvus Lite has no timestamp service
    # to wait with (it logs errors), and loading the collection waits for the index anyway.
    client.create_collection(collection, schema=schema, consistency_level="Strong")
    client.create_index(collection, index, sync=False)
    client.load_collection(collection)


def drop(client: Any, location: MilvusLocation) -> None:
    for part in (CHUNKS, SENTENCES, META):
        if client.has_collection(name(location, part)):
            client.drop_collection(name(location, part))


def rows(client: Any, collection: str, fields: list[str], filter: str = "") -> Iterator[dict[str, Any]]:
    """Every row of a collection (or those matching `filter`), in batches."""
    iterator = client.query_iterator(collection, batch_size=_QUERY_BATCH, filter=filter, output_fields=fields)
    try:
        while batch := iterator.next():
            yield from batch
    finally:
        iterator.close()


def _quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def write_blob(client: Any, location: MilvusLocation, blob: str, text: str) -> None:
    """Store `text` under `blob`, replacing what was there."""
    parts = [text[i:i + BLOB_PART_CHARS] for i in range(0, len(text), BLOB_PART_CHARS)] or [""]
    collection = name(location, META)
    key = hashlib.sha1(blob.encode("utf-8")).hexdigest()
    records = [{"id": f"{key}#{i}", "blob": blob, "part": i, "text": part, "unused": [0.0, 0.0]} for i, part in enumerate(parts)]
    for start in range(0, len(records), BATCH):
        client.upsert(collection, records[start:start + BATCH])
    client.delete(collection, filter=f"blob == {_quote(blob)} and part >= {len(parts)}")


def delete_blob(client: Any, location: MilvusLocation, blob: str) -> None:
    client.delete(name(location, META), filter=f"blob == {_quote(blob)}")


def read_blobs(client: Any, location: MilvusLocation, prefix: str = "") -> dict[str, str]:
    """Every blob whose name starts with `prefix`, reassembled from its parts."""
    parts: dict[str, dict[int, str]] = {}
    for row in rows(client, name(location, META), ["blob", "part", "text"]):
        if row["blob"].startswith(prefix):
            parts.setdefault(row["blob"], {})[int(row["part"])] = row["text"]
    return {blob: "".join(texts[i] for i in sorted(texts)) for blob, texts in parts.items()}


def read_blob(client: Any, location: MilvusLocation, blob: str) -> str | None:
    found = client.query(name(location, META), filter=f"blob == {_quote(blob)}", output_fields=["part", "text"], limit=16_384)
    if not found:
        return None
    return "".join(row["text"] for row in sorted(found, key=lambda row: int(row["part"])))


def read_generation(client: Any, location: MilvusLocation) -> str | None:
    """The token of the last completed write (None before the first). One cheap call: readers poll it."""
    try:
        described = client.describe_collection(name(location, META))
    except Exception:  # noqa: BLE001 - pymilvus raises MilvusException (or a subclass) for a missing collection
        return None
    return (described.get("properties") or {}).get(GENERATION_PROPERTY)


def write_generation(client: Any, location: MilvusLocation, generation: str) -> None:
    client.alter_collection_properties(name(location, META), properties={GENERATION_PROPERTY: generation})
