"""What `rag list` and `rag info` print, from an index's manifest: rows per document, a short summary for people,
and the full JSON for scripts."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rag.core.locations import MilvusLocation, parse_location
from rag.index.local import current_generation
from rag.refusal.calibration import Calibration, calibration_status


def list_rows(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per document: name, passages, characters, when added and last changed, where from."""
    built = manifest.get("built_at", "")
    return [
        {"doc_id": d["doc_id"], "passages": int(d.get("chunks", 0)), "chars": int(d.get("chars", 0)),
         "added_at": d.get("added_at", built), "updated_at": d.get("updated_at", built),
         "source": d.get("source") or d.get("path", "")}
        for d in manifest.get("documents", [])
    ]


def info_summary(location: str | Path, manifest: dict[str, Any], generation: str) -> dict[str, Any]:
    """`rag info --json`: what the index was built from and with, its size and its calibration."""
    summary = {k: manifest.get(k) for k in ("built_at", "embedder", "settings", "index", "counts", "sources")}
    summary["generation"] = generation
    summary["size_bytes"] = index_size(location)
    summary["documents"] = [{k: d.get(k) for k in ("doc_id", "chunks", "encoding", "source", "added_at")} for d in manifest["documents"]]
    summary["skipped"] = manifest.get("skipped", [])
    summary["calibration"] = manifest.get("calibration")
    summary["calibration_status"] = calibration_status(manifest)
    return summary


def info_lines(location: str | Path, manifest: dict[str, Any], knowledge_base: bool) -> list[str]:
    """`rag info`: a few lines a person reads at a glance."""
    counts = manifest.get("counts", {})
    size = index_size(location)
    embedder = manifest.get("embedder", {})
    chunking = manifest.get("settings", {}).get("chunking", {})
    lines = [
        f"Index:        {location}" + (" (the knowledge base rag ask, rag ui and rag serve use)" if knowledge_base else ""),
        f"Documents:    {counts.get('documents', 0):,} ({counts.get('chunks', 0):,} passages, "
        f"{counts.get('sentences', 0):,} evidence sentences)"
        + (f"; {counts['skipped']} files skipped at the last ingest" if counts.get("skipped") else ""),
        f"Size:         {_size(size) if size is not None else 'n/a (Milvus)'}; last changed {manifest.get('built_at', '?')}",
        f"Embedder:     {embedder.get('spec', '?')} ({embedder.get('dim', '?')} dimensions); passages up to "
        f"{chunking.get('max_chars', '?')} characters; {manifest.get('index', {}).get('dense', '?')} dense index + BM25",
        f"Refusals:     {calibration_status(manifest)}",
        "More:         rag list (the documents), rag info --json (everything)",
    ]
    if Calibration.from_manifest(manifest) is None:
        lines.insert(5, "              (rag calibrate fits them to these documents: about 15 minutes on 2 cores)")
    return lines


def index_size(location: str | Path) -> int | None:
    """Bytes on disk of the index's current generation (None for Milvus)."""
    where = parse_location(location)
    if isinstance(where, MilvusLocation):
        return None
    folder = current_generation(where)
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(folder) for f in files)


def _size(n_bytes: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n_bytes < 1024 or unit == "GB":
            return f"{n_bytes:,.0f} {unit}" if unit == "bytes" else f"{n_bytes:,.1f} {unit}"
        n_bytes /= 1024
    return str(n_bytes)
