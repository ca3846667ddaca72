"""Move an existing local index into Milvus without embedding anything again.

Reads the current generation's files (chunks, documents, passage and sentence vectors, manifest) and
writes them through `rag_ingest.milvus_writer`, so the Milvus index answers as the folder does.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from rag.core.config import Config
from rag.core.errors import ConfigError
from rag.core.locations import MilvusLocation, parse_location
from rag.index.local import IndexStore
from rag_ingest.index_part import IndexPart
from rag_ingest.milvus_writer import dense_kind, write_index


def export_index(index_dir: str | Path, target: str, config: Config | None = None, progress: bool = True) -> dict:
    """Copy the local index at `index_dir` to the Milvus store URI `target`; returns a summary."""
    config = config if config is not None else Config()
    location = parse_location(target)
    if not isinstance(location, MilvusLocation):
        raise ConfigError(
            f"Export target '{target}' is not a Milvus store; give milvus:./path.db or milvus+http://host:19530/<collection>."
        )
    started = time.perf_counter()
    store = IndexStore.open(Path(index_dir))
    rows = IndexPart(
        list(store.chunks), np.asarray(store.embeddings), np.asarray(store.sentences), np.asarray(store.sentence_embeddings),
    )
    sha = {d["doc_id"]: d["sha256"] for d in store.manifest["documents"]}
    documents = [{"doc_id": doc_id, "sha256": sha[doc_id], "text": text} for doc_id, text in store.documents.items()]
    kind = dense_kind(len(rows.chunks), config)
    manifest = {**store.manifest, "index": {**store.manifest["index"], "dense": kind}, "exported_from": str(store.folder)}
    generation = write_index(location, manifest, documents, rows, config, progress)
    return {"from": str(store.folder), "to": str(location), "chunks": len(rows.chunks), "documents": len(documents),
            "sentences": len(rows.sentences), "dense": kind, "generation": generation,
            "seconds": round(time.perf_counter() - started, 1)}
