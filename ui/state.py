"""Resources shared by every rerun and every browser session (``st.cache_resource``).

The embedder and the generator load once per process. A `RAG` is cached per index *generation* (the
index's ``CURRENT`` pointer), so a rebuild from the knowledge-base page is picked up on the next
question while unchanged indexes are never reopened; the cached `RAG` also follows rebuilds itself.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import streamlit as st

from rag.api import RAG
from rag.core.config import Config
from rag.core.errors import RagError
from rag.embedding.embedders import Embedder, make_embedder
from rag.index.stores import open_store, store_generation
from rag.models import ModelStatus, configured_models
from rag_ingest.knowledge_base import KnowledgeBase, open_knowledge_base
from rag_ui import options


def config_key(config: Config) -> str:
    """A hashable fingerprint of a configuration (cache keys)."""
    return json.dumps(config.to_dict(), sort_keys=True, default=str)


@st.cache_resource(show_spinner=False)
def embedder(spec: str) -> Embedder:
    """The embedding model, loaded once per process."""
    model = make_embedder(spec)
    model.warm_up()
    return model


@st.cache_resource(show_spinner=False)
def generator(spec: str, n_ctx: int, repeat_penalty: float) -> Any:
    """The LLM (loaded on its first answer, then kept); None when the spec is invalid."""
    from rag.generation.factory import make_generator

    try:
        return make_generator(spec, n_ctx=n_ctx, repeat_penalty=repeat_penalty)
    except RagError:
        return None


@st.cache_resource(show_spinner=False)
def collection(data_dir: str, max_upload_bytes: int, _config: Config, key: str) -> KnowledgeBase:
    """The knowledge base in `data_dir`, seeded with the bundled corpus and indexed on first start."""
    return open_knowledge_base(data_dir, _config, embedder(_config.embedder), max_upload_bytes)


def index_version(index_dir: Path | str) -> str:
    """Changes whenever the index at `index_dir` (a folder or a store URI) is rebuilt."""
    return store_generation(index_dir)


@st.cache_resource(show_spinner=False, max_entries=4)
def _rag(index_dir: str, version: str, _config: Config, key: str) -> RAG:
    config = _config
    model = embedder(config.embedder)
    store = open_store(index_dir, embedder_spec=model.spec)
    answer = config.answer
    rag = RAG(store, config, model, generator=generator(answer.generator, answer.n_ctx, answer.repeat_penalty))
    rag.warm_up()
    return rag


def open_rag(index_dir: Path | str, config: Config) -> RAG:
    """The `RAG` for the current version of `index_dir` (cached)."""
    return _rag(str(index_dir), index_version(index_dir), config, config_key(config))


def index_dir_for(config: Config) -> Path | str:
    """The index the chat uses: the read-only ``index_dir`` or the knowledge base's (prepared on first call)."""
    if config.index_dir is not None:
        return config.index_dir
    return collection_for(config).index_dir


def collection_for(config: Config) -> KnowledgeBase:
    """The knowledge base in the settings' ``data_dir``."""
    max_upload_bytes = int(config.ui.max_upload_mb * 1024 * 1024)
    return collection(str(options.data_dir(config)), max_upload_bytes, config, config_key(config))


def model_statuses(config: Config) -> list[ModelStatus]:
    """Embedder and reranker (from `rag.models`), plus the answer generator and its runtime."""
    return configured_models(config)

