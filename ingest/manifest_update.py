"""Change only an index's manifest (store a calibration), as a new generation readers switch to.

A local index's generations are immutable, so the new one holds hard links to the current generation's files
(a copy where the file system has no hard links) and a new ``manifest.json``; the pointer switches as for a
build, under the same writer lock. In Milvus the manifest is a stored text: it is replaced, then the
generation token changes so readers reload.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Any, Callable

from rag.core.locations import MilvusLocation, parse_location
from rag.index.local import MANIFEST, READERS_LOCK, current_generation, read_manifest
from rag_ingest.builder import _exclusive_lock, _prune, _publish, _writing

Update = Callable[[dict[str, Any]], dict[str, Any]]


def update_manifest(location: str | Path, update: Update) -> dict[str, Any]:
    """Replace the manifest of the index at `location` with ``update(manifest)``; returns the new manifest."""
    where = parse_location(location)
    if isinstance(where, MilvusLocation):
        return _update_milvus(where, update)
    with _exclusive_lock(where):
        manifest = update(read_manifest(where))
        source = current_generation(where)
        with _writing(where, "write"):
            _publish(where, lambda staging: _link_generation(source, staging, manifest))
        with _writing(where, "prune"):
            _prune(where)
    return manifest


def _link_generation(source: Path, staging: Path, manifest: dict[str, Any]) -> None:
    for folder, _, files in os.walk(source):
        target = staging / Path(folder).relative_to(source)
        target.mkdir(parents=True, exist_ok=True)
        for name in files:
            if name in (MANIFEST, READERS_LOCK):
                continue
            try:
                os.link(Path(folder) / name, target / name)
            except OSError:
                shutil.copy2(Path(folder) / name, target / name)
    (staging / READERS_LOCK).touch()
    (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")


def _update_milvus(location: MilvusLocation, update: Update) -> dict[str, Any]:
    from rag.index.milvus import collections as mc
    from rag.index.milvus.store import MANIFEST_BLOB
    from rag.index.milvus.store import read_manifest as read_milvus_manifest

    with mc.connected(location) as client:
        mc.require(client, location)
        generation = f"gen-{time.time_ns():020d}-{secrets.token_hex(3)}"
        manifest = update(read_milvus_manifest(client, location))
        manifest["store"] = {**manifest.get("store", {}), "generation": generation}
        mc.write_blob(client, location, MANIFEST_BLOB, json.dumps(manifest, ensure_ascii=False))
        mc.write_generation(client, location, generation)  # last: readers switch on this token
    return manifest


def store_calibration(location: str | Path, record: dict[str, Any]) -> dict[str, Any]:
    """Put a calibration record (`rag.refusal.calibration.Calibration.to_record`) into the index's manifest."""
    return update_manifest(location, lambda manifest: {**manifest, "calibration": record})
