"""`rag ingest` (build or refresh an index), `rag info` (what an index holds) and `rag index export` (to Milvus)."""
from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from rag.core.config import Config
from rag.core.errors import RagError
from rag.core.terminal import printable, safe_json
from rag_app.cli.common import INDEX_HELP

log = logging.getLogger("rag")


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    ingest = commands.add_parser("ingest", parents=[common], help="index documents (.md, .txt, .pdf, .docx, .html, folders)")
    ingest.add_argument("paths", nargs="*", help="files or folders; default: the sources the index was built from")
    ingest.add_argument("--index", help=INDEX_HELP)
    ingest.add_argument("--quiet", action="store_true", help="no progress bars")
    ingest.set_defaults(handler=run_ingest)

    info = commands.add_parser("info", parents=[common], help="describe an index")
    info.add_argument("--index", help=INDEX_HELP)
    info.set_defaults(handler=run_info)

    index = commands.add_parser("index", parents=[common], help="index maintenance: export a local index to Milvus")
    index_commands = index.add_subparsers(dest="index_command", required=True)
    export = index_commands.add_parser("export", parents=[common], help="copy a local index into Milvus (no re-embedding)")
    export.add_argument("--index", help="the local index folder (default: the default index)")
    export.add_argument("--to", required=True, help="milvus:./path.db (Milvus Lite) or milvus+http://host:19530/<collection>")
    export.add_argument("--quiet", action="store_true", help="no progress bars")
    export.set_defaults(handler=run_export)


def run_ingest(args: argparse.Namespace, config: Config) -> int:
    from rag.core.paths import default_corpus_files, default_index_dir
    from rag.index.stores import store_manifest
    from rag_ingest.builder import IndexBuilder

    index_dir = config.index_dir or default_index_dir()
    paths: list[str | Path] = list(args.paths)
    if not paths:
        try:
            paths = list(store_manifest(index_dir)["sources"])
        except RagError:
            paths = list(default_corpus_files())
        log.info("Re-ingesting %s", ", ".join(map(str, paths)))
    report = IndexBuilder(config).build(paths, index_dir, progress=not args.quiet)
    print(report.summary())
    return 0


def run_export(args: argparse.Namespace, config: Config) -> int:
    from rag.core.paths import default_index_dir
    from rag_ingest.export import export_index

    summary = export_index(config.index_dir or default_index_dir(), args.to, config, progress=not args.quiet)
    print(f"Exported {summary['chunks']} passages of {summary['documents']} documents from {printable(summary['from'])} "
          f"to {printable(summary['to'])} ({summary['dense']} dense index, generation {summary['generation']}, "
          f"{summary['seconds']}s; no passage embedded again).")
    return 0


def run_info(args: argparse.Namespace, config: Config) -> int:
    from rag.core.paths import default_index_dir
    from rag.index.stores import store_generation, store_manifest

    index_dir = config.index_dir or default_index_dir()
    manifest = store_manifest(index_dir)
    summary = {k: manifest[k] for k in ("built_at", "embedder", "settings", "index", "counts", "sources")}
    summary["generation"] = store_generation(index_dir)
    summary["documents"] = [{k: d[k] for k in ("doc_id", "chunks", "encoding")} for d in manifest["documents"]]
    summary["skipped"] = manifest["skipped"]
    print(safe_json(summary, indent=2))
    return 0
