"""The embedded default: the bundled corpus's index, built on first use.

`rag.api.RAG.open()` only *opens* indexes (the library never builds one); the front doors
(CLI, HTTP server, UI) and scripts call `open_rag` here, which builds the default index from the
bundled corpus the first time, or again when the corpus changed.
"""
from __future__ import annotations

import logging
from pathlib import Path

from rag.api import RAG
from rag.core.config import Config
from rag.core.paths import default_corpus_files, default_index_dir
from rag.embedding.embedders import Embedder, make_embedder
from rag.index.local import IndexStore
from rag_ingest.builder import IndexBuilder

log = logging.getLogger(__name__)


def ensure_default_index(config: Config, embedder: Embedder | None = None, progress: bool = True) -> Path:
    """The default index directory, (re)built from the bundled corpus when missing or out of date.

    An index a user built at the default location from other documents is left alone.
    """
    index_dir = default_index_dir()
    files = default_corpus_files()
    builder = IndexBuilder(config, embedder)
    if builder.needs_build(files, index_dir, only_if_sources_match=True):
        log.warning("Building the default index from the bundled corpus at %s (first run only)", index_dir)
        builder.build(files, index_dir, progress=progress)
    return index_dir


def open_rag(index_dir: str | Path | None = None, config: Config | None = None, progress: bool = True) -> RAG:
    """Like `RAG.open`, but with no index given the default one is built first when needed."""
    config = config if config is not None else Config.load()
    chosen = index_dir or config.index_dir
    if chosen is not None:
        return RAG.open(chosen, config=config)
    embedder = make_embedder(config.embedder)
    built = ensure_default_index(config, embedder, progress=progress)
    return RAG(IndexStore.open(built, embedder_spec=embedder.spec), config, embedder)
