"""The knowledge base's commands: `rag ingest` (add or update documents; ``--sync``), `rag remove`, `rag list`,
`rag info`, `rag calibrate`, and `rag index export` (to Milvus).

Without ``--index`` (or ``index_dir``) they work on the knowledge base `rag ask`, `rag ui` and `rag serve` use
(``data_dir``, seeded with the bundled corpus on first use: `rag_ingest.default_index`).
"""
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
    ingest = commands.add_parser("ingest", parents=[common], help="add or update documents (.md, .txt, .pdf, .docx, .html, folders)")
    ingest.add_argument("paths", nargs="*", help="files or folders; default: read again the ones the index was given")
    ingest.add_argument("--index", help=INDEX_HELP)
    ingest.add_argument("--sync", action="store_true", help="make the index hold exactly PATHS: drop (and list) the others")
    ingest.add_argument("--calibrate", action="store_true", help="then fit refusals to the documents (rag calibrate)")
    ingest.add_argument("--quiet", action="store_true", help="no progress bars")
    ingest.set_defaults(handler=run_ingest)

    remove = commands.add_parser("remove", parents=[common], help="remove documents from the index (by the names rag list shows)")
    remove.add_argument("documents", nargs="+", metavar="DOC", help="document names, as rag list shows them")
    remove.add_argument("--index", help=INDEX_HELP)
    remove.set_defaults(handler=run_remove)

    listing = commands.add_parser("list", parents=[common], help="the documents an index holds: passages, added when, from where")
    listing.add_argument("--index", help=INDEX_HELP)
    listing.add_argument("--json", action="store_true", help="JSON output, one object per document")
    listing.set_defaults(handler=run_list)

    info = commands.add_parser("info", parents=[common], help="describe an index: documents, size, models, calibration")
    info.add_argument("--index", help=INDEX_HELP)
    info.add_argument("--json", action="store_true", help="everything the manifest says, as JSON")
    info.set_defaults(handler=run_info)

    calibrate = commands.add_parser(
        "calibrate", parents=[common], help="fit refusals and the citation check to the documents (no labels needed)"
    )
    calibrate.add_argument("--index", help=INDEX_HELP)
    calibrate.add_argument("--generator", dest="calibration_generator", help="model that writes the questions (default: answer.generator)")
    calibrate.add_argument("--questions", dest="calibration_questions", type=int, help="passages to ask about (default 60)")
    calibrate.add_argument("--quiet", action="store_true", help="no progress bar")
    calibrate.set_defaults(handler=run_calibrate)

    index = commands.add_parser("index", parents=[common], help="index maintenance: export a local index to Milvus")
    index_commands = index.add_subparsers(dest="index_command", required=True)
    export = index_commands.add_parser("export", parents=[common], help="copy a local index into Milvus (no re-embedding)")
    export.add_argument("--index", help="the local index folder (default: the knowledge base's index)")
    export.add_argument("--to", required=True, help="milvus:./path.db (Milvus Lite) or milvus+http://host:19530/<collection>")
    export.add_argument("--quiet", action="store_true", help="no progress bars")
    export.set_defaults(handler=run_export)


def run_ingest(args: argparse.Namespace, config: Config) -> int:
    from rag.index.stores import store_exists
    from rag_ingest.builder import IndexBuilder
    from rag_ingest.default_index import knowledge_base

    progress = not args.quiet
    if config.index_dir is None:
        base = knowledge_base(config, progress=progress)
        report = base.ingest(args.paths, sync=args.sync, progress=progress) if args.paths else base.refresh(sync=args.sync)
        location: str | Path = base.index_dir
    else:
        location = config.index_dir
        builder = IndexBuilder(config)
        if args.paths:
            report = builder.build(args.paths, location, progress) if args.sync else builder.add(args.paths, location, progress)
        elif store_exists(location):
            report = builder.refresh(location, sync=args.sync, progress=progress)
        else:
            raise RagError(f"No index at '{location}' to refresh; give the files or folders to index: rag ingest PATH... --index {location}")
    print(report.summary())
    if args.calibrate:
        return _calibrate(location, config, progress)
    return 0


def run_remove(args: argparse.Namespace, config: Config) -> int:
    from rag_ingest.builder import IndexBuilder
    from rag_ingest.default_index import knowledge_base

    if config.index_dir is None:
        report = knowledge_base(config).remove(args.documents)
    else:
        report = IndexBuilder(config).remove(args.documents, config.index_dir, progress=False)
    print(report.summary())
    return 0


def run_list(args: argparse.Namespace, config: Config) -> int:
    from rag.index.stores import store_manifest
    from rag_app.cli.index_views import list_rows

    manifest = store_manifest(_location(config))
    rows = list_rows(manifest)
    if args.json:
        for row in rows:
            print(safe_json(row))
        return 0
    print(f"{'document':40}  {'passages':>8}  {'added':16}  from")
    for row in rows:
        print(f"{printable(row['doc_id']):40}  {row['passages']:>8}  {row['added_at'][:16].replace('T', ' '):16}  "
              f"{printable(row['source'])}")
    print(f"({len(rows)} documents, {sum(r['passages'] for r in rows):,} passages)")
    return 0


def run_info(args: argparse.Namespace, config: Config) -> int:
    from rag.index.stores import store_generation, store_manifest
    from rag_app.cli.index_views import info_lines, info_summary

    location = _location(config)
    manifest = store_manifest(location)
    if args.json:
        print(safe_json(info_summary(location, manifest, store_generation(location)), indent=2))
        return 0
    for line in info_lines(location, manifest, knowledge_base=config.index_dir is None):
        print(printable(line))
    return 0


def run_calibrate(args: argparse.Namespace, config: Config) -> int:
    return _calibrate(_location(config), config, progress=not args.quiet)


def _calibrate(location: str | Path, config: Config, progress: bool) -> int:
    from rag_ingest.calibration import calibrate_and_store

    logging.getLogger("rag").setLevel(logging.INFO)
    result = calibrate_and_store(location, config, progress=progress)
    print(result.summary())
    print(f"Stored with the index at {printable(location)}; answers use it from now on (rag info shows it).")
    return 0


def _location(config: Config) -> str | Path:
    """``index_dir``, or the knowledge base's index (seeded on first use)."""
    if config.index_dir is not None:
        return config.index_dir
    from rag_ingest.default_index import knowledge_base

    return knowledge_base(config).index_dir


def run_export(args: argparse.Namespace, config: Config) -> int:
    from rag_ingest.export import export_index

    summary = export_index(_location(config), args.to, config, progress=not args.quiet)
    print(f"Exported {summary['chunks']} passages of {summary['documents']} documents from {printable(summary['from'])} "
          f"to {printable(summary['to'])} ({summary['dense']} dense index, generation {summary['generation']}, "
          f"{summary['seconds']}s; no passage embedded again).")
    return 0
