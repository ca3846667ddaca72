"""The defaults the front doors open: one knowledge base for the CLI, the chat UI and the HTTP server, and the
bundled corpus's own index for evaluation.

- **The knowledge base** (``data_dir``, default ``~/.local/share/rag/collection`` on Linux): ``documents/`` (files
  uploaded through the UI or HTTP) and ``index/`` (everything indexed, wherever it came from). On first use it is
  seeded with the bundled corpus. `rag ask`/`search`/`ingest`/`remove`/`list`/`info`/`calibrate` without
  ``--index``, `rag ui` and `rag serve` all use it, so a document added through any of them is answerable
  through the others.
- **The bundled corpus's index** (``~/.cache/rag/default-index``): built from ``corpus/`` alone and rebuilt when
  the corpus changes; the evaluation and benchmarks use it (their questions are about that corpus, and a
  user's additions must not move their numbers), and seeding copies its vectors.

`rag.api.RAG.open()` only *opens* indexes (the library never builds one); the front doors call `open_rag` here.
"""
from __future__ import annotations

import logging
from pathlib import Path

from rag.api import RAG
from rag.core.config import Config
from rag.core.paths import default_corpus_files, default_data_dir, default_index_dir
from rag.embedding.embedders import Embedder, make_embedder
from rag.index.local import IndexStore
from rag_ingest.builder import IndexBuilder
from rag_ingest.knowledge_base import KnowledgeBase, open_knowledge_base

log = logging.getLogger(__name__)


def ensure_default_index(config: Config, embedder: Embedder | None = None, progress: bool = True) -> Path:
    """The bundled corpus's index, (re)built from ``corpus/`` when missing or out of date.

    An index a user built at that location from other documents is left alone.
    """
    index_dir = default_index_dir()
    files = default_corpus_files()
    builder = IndexBuilder(config, embedder)
    if builder.needs_build(files, index_dir, only_if_sources_match=True):
        log.warning("Building the bundled corpus's index at %s (first run only)", index_dir)
        builder.build(files, index_dir, progress=progress)
    return index_dir


def open_bundled_rag(config: Config | None = None, progress: bool = True) -> RAG:
    """What the evaluation measures: ``config.index_dir`` when set (``--index``), else the bundled corpus's index
    (built first when needed) — never the knowledge base, whose documents its users change."""
    config = config if config is not None else Config.load()
    if config.index_dir is not None:
        return RAG.open(config.index_dir, config=config)
    embedder = make_embedder(config.embedder)
    built = ensure_default_index(config, embedder, progress=progress)
    return RAG(IndexStore.open(built, embedder_spec=embedder.spec), config, embedder)


def knowledge_base(config: Config, embedder: Embedder | None = None, progress: bool = True) -> KnowledgeBase:
    """The knowledge base in ``config.data_dir`` (or the per-user data folder), ready: seeded with the bundled
    corpus on first use, and up to date with its ``documents/`` folder."""
    data_dir = Path(config.data_dir).expanduser() if config.data_dir else default_data_dir()
    embedder = embedder if embedder is not None else make_embedder(config.embedder)
    if progress and not (data_dir / "index").exists():
        log.warning("Setting up the knowledge base at %s with the bundled documents (first use only)", data_dir)
    return open_knowledge_base(data_dir, config, embedder, config.server.max_upload_bytes)


def open_rag(index_dir: str | Path | None = None, config: Config | None = None, progress: bool = True) -> RAG:
    """`RAG.open` of `index_dir` or ``config.index_dir``; with neither, the knowledge base (seeded first when new)."""
    config = config if config is not None else Config.load()
    chosen = index_dir or config.index_dir
    if chosen is not None:
        return RAG.open(chosen, config=config)
    embedder = make_embedder(config.embedder)
    base = knowledge_base(config, embedder, progress=progress)
    return RAG(IndexStore.open(base.index_dir, embedder_spec=embedder.spec), config, embedder)
