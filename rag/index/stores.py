"""Open whichever index store a location names (see `rag.core.locations`): a folder or Milvus."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from rag.core.errors import IndexNotFoundError, RagError
from rag.core.locations import MilvusLocation, parse_location
from rag.index.local import IndexStore, generation_id, index_exists, read_manifest
from rag.index.protocol import Store


def open_store(location: str | Path, embedder_spec: str | None = None, previous: Store | None = None) -> Store:
    """Open the index at `location` (a folder or a store URI); errors as `IndexStore.open` raises them.

    `previous`, a store of the same location being replaced (a reload), lends its Milvus connection.
    """
    where = parse_location(location)
    if isinstance(where, MilvusLocation):
        from rag.index.milvus.store import MilvusStore

        client = previous.client if isinstance(previous, MilvusStore) and previous.path == str(where) else None
        return MilvusStore.open(where, embedder_spec=embedder_spec, client=client)
    return IndexStore.open(where, embedder_spec=embedder_spec)


def store_exists(location: str | Path) -> bool:
    """Whether an index is at `location`."""
    where = parse_location(location)
    if isinstance(where, MilvusLocation):
        from rag.index.milvus import collections as mc

        with mc.connected(where, unreachable=IndexNotFoundError) as client:
            if client is None:
                return False
            return mc.exists(client, where) and mc.read_generation(client, where) is not None
    return index_exists(where)


def store_manifest(location: str | Path) -> dict[str, Any]:
    """The manifest of the index at `location` (IndexNotFoundError when there is none)."""
    where = parse_location(location)
    if isinstance(where, MilvusLocation):
        from rag.index.milvus import collections as mc
        from rag.index.milvus.store import read_manifest as read_milvus_manifest

        with mc.connected(where) as client:
            mc.require(client, where)
            return read_milvus_manifest(client, where)
    return read_manifest(where)


def store_generation(location: str | Path) -> str:
    """A token that changes whenever the index at `location` is rebuilt ('missing' if there is none)."""
    where = parse_location(location)
    if isinstance(where, MilvusLocation):
        from rag.index.milvus import collections as mc

        with mc.connected(where, unreachable=RagError) as client:
            if client is None:
                return "missing"
            return mc.read_generation(client, where) or "missing"
    return generation_id(where)
