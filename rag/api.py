"""The public Python API: open an index and query it. The CLI, UI and eval all go through here."""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from functools import cache, cached_property, partial
from pathlib import Path
from typing import Any, Iterator, Sequence

from rag.answering.answerer import Answer, Answerer, AnswerEvent
from rag.answering.extractive import ExtractiveAnswerer
from rag.answering.sentences import SentenceRanker
from rag.conversation.condenser import Condenser, Plan, Standalone
from rag.conversation.followup import names_new_topic
from rag.conversation.history import Turn
from rag.conversation.memo import TurnMemo
from rag.conversation.session import Conversation, as_turns
from rag.conversation.translate import documents_language
from rag.core.config import Config, LimitsConfig
from rag.core.errors import IndexNotFoundError, InputLimitError
from rag.core.language import Language, detect_language
from rag.core.paths import knowledge_base_index
from rag.core.schema import Chunk, Hit
from rag.core.text import tokenize
from rag.embedding.embedders import Embedder, make_embedder
from rag.index.local import LEGACY_GENERATION, generation_id
from rag.index.protocol import Store
from rag.index.stores import open_store
from rag.index.stores import store_exists as _store_exists
from rag.refusal.calibration import embedder_warning, relevance_for, semantic_margin_for
from rag.refusal.policy import RefusalPolicy
from rag.refusal.relevance import RelevanceScorer
from rag.retrieval.evidence import EvidenceScorer
from rag.retrieval.rerankers import Reranker, make_reranker
from rag.retrieval.retriever import Retriever

log = logging.getLogger(__name__)


class RAG:
    """Question answering over one index.

    >>> rag = RAG.open()                       # the default index (build it first: rag ingest)
    >>> hits = rag.retrieve("混合精度训练有什么好处？", k=5)

    A `RAG` follows its index: before each question it checks (one small file read) whether a build has
    switched the index to a new generation and, if so, opens that one (`reload`). Each question is
    answered from one generation from start to end.
    """

    def __init__(
        self, store: Store, config: Config, embedder: Embedder, generator: Any = None, follow: bool = True,
        refusal: RefusalPolicy | None = None,
    ) -> None:
        """Prefer `RAG.open`. `generator` (a `rag.generation.base.Generator`) replaces the configured one; `refusal`
        replaces the configured refusal policy.

        With `follow` (default) a rebuilt index is picked up before the next question.
        """
        self.config = config
        self.embedder = embedder
        self.follow = follow
        self._given_generator = generator
        self._generator: Any = None
        self._generator_lock = threading.Lock()
        self._warm = False
        self._lock = threading.Lock()
        self._given_refusal = refusal
        self.memo = TurnMemo()
        """The answers given recently, so a client's plain-text history gets their passages and prompts back."""
        self._view = self._make_view(store, previous=None)

    def _make_view(self, store: Store, previous: "_View | None") -> "_View":
        """Everything that reads the index, built over `store`; models are shared with `previous`."""
        config = self.config
        retriever = Retriever(store, self.embedder, config.retrieval)
        scorer = EvidenceScorer(store, retriever.query_vector)
        reranker: Reranker = make_reranker(config.rerank.reranker, scorer, config.rerank, generator_factory=self._shared_generator)
        if previous is not None and getattr(previous.reranker, "scorer", None) is None and reranker.spec == previous.reranker.spec:
            reranker = previous.reranker  # a model-backed reranker (cross-encoder) keeps its loaded model
        ranker = SentenceRanker(scorer, self.embedder.embed_passages)
        refusal = self._refusal_for(store)
        answerer = Answerer(ExtractiveAnswerer(ranker), refusal, config.answer, self._shared_generator,
                            semantic_min_margin=semantic_margin_for(store.manifest))
        relevance = RelevanceScorer(scorer, refusal.relevance)
        language = cache(partial(documents_language, store.chunks))
        condenser = Condenser(
            config.conversation, self._shared_generator,
            new_topic=partial(names_new_topic, document_frequency=store.sparse.document_frequency, documents_language=language),
            documents_language=language, answered_from_translation=partial(_rewrites_in_documents_language, answerer),
            in_documents=scorer.uses_name,
        )
        view = _View(store, retriever, scorer, reranker, relevance, answerer, condenser, generation_of(store))
        if self._warm:
            view.reranker.warm_up()
        return view

    def _refusal_for(self, store: Store) -> RefusalPolicy:
        """The given policy, else one over the index's calibration (`rag calibrate`) or the shipped defaults; the
        ``rerank.min_relevance*`` settings override its thresholds."""
        if self._given_refusal is not None:
            return self._given_refusal
        warning = embedder_warning(store.manifest)
        if warning:
            log.warning("Index %s: %s", store.location, warning)
        return RefusalPolicy(
            relevance_for(store.manifest), threshold=self.config.rerank.min_relevance,
            model_threshold=self.config.rerank.min_relevance_llm,
        )

    @property
    def refusal(self) -> RefusalPolicy:
        """Decides when the documents don't answer (relevance threshold, the LLM's own judgement)."""
        return self._view.answerer.refusal

    # The parts of the current view, for callers that inspect them.
    @property
    def store(self) -> Store:
        return self._view.store

    @property
    def retriever(self) -> Retriever:
        return self._view.retriever

    @property
    def evidence(self) -> EvidenceScorer:
        """Evidence measures (best sentence, coverage, bare-question margin) for hits of this index."""
        return self._view.evidence

    @property
    def reranker(self) -> Reranker:
        return self._view.reranker

    @property
    def answerer(self) -> Answerer:
        return self._view.answerer

    @classmethod
    def open(cls, index_dir: str | Path | None = None, config: Config | None = None, progress: bool = True) -> "RAG":
        """Open `index_dir` (or ``config.index_dir``, or the knowledge base's index in ``data_dir``, which the
        CLI, the chat UI and the HTTP server share): a folder or a store URI (``milvus:./kb.db``,
        ``milvus+http://host:19530/<collection>``; see `rag.core.locations`).

        The library never builds an index: when the knowledge base has not been set up this raises
        `IndexNotFoundError` naming the command that does it (``rag ingest``). Front doors use
        `rag_ingest.default_index.open_rag`, which seeds it with the bundled corpus on first use. `progress`
        is kept for callers of the earlier signature and has no effect here.
        """
        config = config if config is not None else Config.load()
        embedder = make_embedder(config.embedder)
        chosen = index_dir or config.index_dir
        if chosen is None:
            chosen = knowledge_base_index(config.data_dir)
            if not store_exists(chosen):
                raise IndexNotFoundError(
                    f"The knowledge base at '{chosen.parent}' has not been set up yet. Set it up (seeded with the bundled "
                    "corpus) with: rag ingest (or, in Python, open it with rag_ingest.default_index.open_rag(), which "
                    "does so on first use); or give an index directory of your own."
                )
        store = open_store(chosen, embedder_spec=embedder.spec)
        return cls(store, config, embedder)

    def reload(self) -> bool:
        """Switch to the index's current generation if a build replaced ours; returns whether it did."""
        view = self._view
        root = view.store.location
        if view.store.latest_generation() == view.generation:
            return False
        with self._lock:
            if self._view.store.latest_generation() == self._view.generation:
                return False
            store = open_store(root, embedder_spec=self.embedder.spec, previous=self._view.store)
            self._view = self._make_view(store, previous=self._view)
            log.info("Index %s was rebuilt; now answering from %s", root, store.generation)
            return True

    def _current(self) -> "_View":
        """The view to answer one question from (after picking up a rebuild, when following)."""
        if self.follow:
            self.reload()
        return self._view

    def _shared_generator(self) -> Any:
        """The LLM, created once per `RAG` and shared by every generation's answerer."""
        with self._generator_lock:
            if self._generator is None:
                self._generator = self._given_generator if self._given_generator is not None else self._make_generator()
            return self._generator

    def warm_up(self) -> None:
        """Load the models now rather than on the first question (thread-safe, idempotent)."""
        with self._lock:
            if not self._warm:
                self._view.retriever.warm_up()
                self._view.reranker.warm_up()
                self._warm = True

    def retrieve(
        self,
        question: str,
        k: int | None = None,
        mode: str | None = None,
        rerank: bool = True,
        timings: dict[str, float] | None = None,
        carried: Sequence[str] = (),
    ) -> list[Hit]:
        """The best `k` passages for `question`, each with a 0..1 ``relevance`` score.

        `mode` picks the first stage (``hybrid`` default, ``dense``, ``sparse``); its top
        ``rerank.top_n`` hits are re-ordered by the configured reranker unless `rerank` is False.
        `carried` chunk ids (a previous answer's citations, `Standalone.carried`) join the candidates.
        A `timings` dict receives ``first_stage_ms``, ``rerank_ms`` and ``retrieve_ms``.
        Raises InputLimitError for a question or `k` over the configured limits (`Config.limits`).
        """
        return self._retrieve(self._current(), question, k, mode, rerank, timings, carried)

    def _retrieve(
        self, view: "_View", question: str, k: int | None, mode: str | None, rerank: bool, timings: dict[str, float] | None,
        carried: Sequence[str] = (),
    ) -> list[Hit]:
        self.warm_up()
        question = check_question(question, self.config.limits)
        k = check_top_k(self.config.retrieval.top_k if k is None else k, self.config.limits)
        started = time.perf_counter()
        candidates = view.retriever.retrieve(question, k=max(k, self.config.rerank.top_n), mode=mode)
        candidates += view.carried_hits(carried, candidates)
        fused = time.perf_counter()
        ordered = view.reranker.rerank(question, candidates) if rerank else candidates
        hits = view.relevance.score(question, ordered[:k])
        if timings is not None:
            done = time.perf_counter()
            timings.update(
                first_stage_ms=1000 * (fused - started), rerank_ms=1000 * (done - fused), retrieve_ms=1000 * (done - started)
            )
        return hits

    def ask(
        self, question: str, mode: str | None = None, k: int | None = None, rerank: bool = True,
        history: Sequence[Turn] | None = None,
    ) -> Answer:
        """A cited answer (``.text .citations .abstained .hits .timings .mode .standalone_question``); `mode` is ``llm``
        or ``extractive``; `history` the earlier turns of the conversation, oldest first (see `stream`)."""
        answer = None
        for event in self.stream(question, mode=mode, k=k, rerank=rerank, history=history):
            answer = event
        assert isinstance(answer, Answer)
        return answer

    def stream(
        self, question: str, mode: str | None = None, k: int | None = None, rerank: bool = True,
        history: Sequence[Turn] | None = None,
    ) -> Iterator[AnswerEvent]:
        """In LLM mode a `Reading` event (the excerpts the model reads, as soon as they are chosen), `Progress` events as
        the model reads them (a llama.cpp model: prompt tokens read of total), `Token` events as it writes and
        `Retelling` events while an answer drafted in the documents' language is translated into the question's; then
        the final, citation-checked `Answer`.

        `k` and `rerank` are as for `retrieve`; the answer's timings include every stage's. With `history` (earlier
        turns, oldest first: `Turn.from_answer(answer)` or `Turn(question, answer_text)`), a follow-up is made
        standalone first (`standalone`) and that question is searched, judged for refusal and answered; the
        passages the previous answer cited join the candidates. `rag.Conversation` keeps the history for you.
        """
        view = self._current()
        mode = mode or self.config.answer.mode
        question = check_question(question, self.config.limits)
        timings: dict[str, float] = {}
        standalone = self._run_plan(view, self._plan(view, question, as_turns(history or ()), mode), timings)
        hits = self._retrieve(view, standalone.question, k, None, rerank, timings, carried=standalone.carried)
        language = detect_language(question)  # the person's, whatever language a rewrite came out in
        for event in view.answerer.stream(
            standalone.question, hits, mode=mode, timings=timings, language=language,
            quote_if_declined=self.quotes_if_declined(standalone), asked=standalone.translated_from,
        ):
            if isinstance(event, Answer):
                event = self.finish(event, question, standalone)
            yield event

    def conversation(self, mode: str | None = None, k: int | None = None, rerank: bool = True) -> Conversation:
        """A new `rag.Conversation` over this index: each question is read after the ones before it."""
        return Conversation(self, mode=mode, k=k, rerank=rerank)

    def standalone(self, question: str, history: Sequence[Turn] | None = None, mode: str | None = None) -> Standalone:
        """The question `stream` would search for `question` after `history` (with `mode`'s rewrite method)."""
        return self.run_standalone(self.plan_standalone(question, history, mode))

    def plan_standalone(self, question: str, history: Sequence[Turn] | None, mode: str | None = None) -> Plan:
        """The cheap part of `standalone`: a plan whose ``needs_model`` says whether the model must still write the
        question (a server queues that part for the model); `run_standalone` finishes it. Raises InputLimitError
        for a question over the configured limits."""
        question = check_question(question, self.config.limits)
        return self._plan(self._view, question, history, mode or self.config.answer.mode)

    def run_standalone(self, plan: Plan, timings: dict[str, float] | None = None) -> Standalone:
        """The standalone question of `plan` (the model's rewrite or translation, when it needs one), cut to the
        question limits; `timings` receives ``rewrite_ms`` when the plan had earlier turns or a translation."""
        return self._run_plan(self._view, plan, timings)

    def _plan(self, view: "_View", question: str, history: Sequence[Turn] | None, mode: str) -> Plan:
        return view.condenser.plan(question, [self.memo.complete(turn) for turn in history or ()], mode)

    def _run_plan(self, view: "_View", plan: Plan, timings: dict[str, float] | None) -> Standalone:
        started = time.perf_counter()
        standalone = check_standalone(view.condenser.run(plan), self.config.limits)
        if timings is not None and (plan.turns or plan.translate_to):
            timings["rewrite_ms"] = 1000 * (time.perf_counter() - started)
        return standalone

    def quotes_if_declined(self, standalone: Standalone | None) -> bool:
        """Whether the answer to `standalone` is quoted from the sources when the model declines despite strong evidence
        (a follow-up, with ``conversation.quote_when_declined`` on)."""
        return self.config.conversation.quote_when_declined and standalone is not None and standalone.follows_up

    def finish(self, answer: Answer, question: str, standalone: Standalone) -> Answer:
        """`answer` (to `standalone.question`) as the answer to the person's `question`, remembered for later turns."""
        answer.question, answer.standalone_question, answer.standalone_method = question, standalone.question, standalone.method
        rewrite = answer.timings.get("rewrite_ms", 0.0)
        for stage in ("first_token_ms", "total_ms"):  # the answerer counts from retrieval; the rewrite came first
            if stage in answer.timings:
                answer.timings[stage] += rewrite
        self.memo.remember(Turn.from_answer(answer))
        return answer

    def _make_generator(self):
        from rag.generation.factory import make_generator

        settings = self.config.answer
        return make_generator(settings.generator, n_ctx=settings.n_ctx, repeat_penalty=settings.repeat_penalty)

    @property
    def min_relevance(self) -> float:
        """Best-hit relevance below which the documents are taken not to answer a question."""
        return self.refusal.threshold

    def is_answerable(self, hits: list[Hit]) -> bool:
        """Whether the best (first) of `hits` is relevant enough to answer from (see `rag.refusal.policy`)."""
        return self.refusal.answerable(hits)


def store_exists(index_dir: str | Path) -> bool:
    """Whether an index (a folder of either layout, or a store URI) is at `index_dir`."""
    return _store_exists(index_dir)


@dataclass(frozen=True)
class _View:
    """The objects that read one index generation; a question uses one view from start to end."""

    store: Store
    retriever: Retriever
    evidence: EvidenceScorer
    reranker: Reranker
    relevance: RelevanceScorer
    answerer: Answerer
    condenser: Condenser
    generation: str

    @cached_property
    def _chunks_by_id(self) -> dict[str, Chunk]:
        return {chunk.id: chunk for chunk in self.store.chunks}

    def carried_hits(self, chunk_ids: Sequence[str], candidates: Sequence[Hit]) -> list[Hit]:
        """Hits for the passages of `chunk_ids` (a previous answer's citations) not among `candidates`; ids this
        generation doesn't hold (the index was rebuilt since) are skipped."""
        if not chunk_ids:
            return []
        present = {hit.chunk.id for hit in candidates}
        chunks = [self._chunks_by_id.get(i) for i in dict.fromkeys(chunk_ids) if i not in present]
        return [Hit(chunk, 0.0, {"carried": 1.0}) for chunk in chunks if chunk is not None]


def generation_of(store: Store) -> str:
    """The `generation_id` token of the generation a store was opened from."""
    if store.generation != LEGACY_GENERATION:
        return store.generation
    return generation_id(Path(store.path))


def check_question(question: str, limits: LimitsConfig) -> str:
    """`question`, or InputLimitError when it is over the length limits (cut instead when configured)."""
    if len(question) > limits.max_question_chars:
        if limits.question_overflow != "truncate":
            raise InputLimitError(
                f"The question is {len(question):,} characters long; the limit is limits.max_question_chars = "
                f"{limits.max_question_chars:,}. Ask a shorter question (or set limits.question_overflow = \"truncate\")."
            )
        log.warning("Question cut from %d to %d characters (limits.max_question_chars)", len(question), limits.max_question_chars)
        question = question[: limits.max_question_chars]
    tokens = tokenize(question)
    if len(tokens) > limits.max_question_tokens:
        if limits.question_overflow != "truncate":
            raise InputLimitError(
                f"The question has {len(tokens):,} words; the limit is limits.max_question_tokens = "
                f"{limits.max_question_tokens:,}. Ask a shorter question (or set limits.question_overflow = \"truncate\")."
            )
        while len(tokens) > limits.max_question_tokens:
            question = question[: int(len(question) * limits.max_question_tokens / len(tokens) * 0.95)]
            tokens = tokenize(question)
        log.warning("Question cut to %d words (limits.max_question_tokens)", len(tokens))
    return question


def check_standalone(standalone: Standalone, limits: LimitsConfig) -> Standalone:
    """`standalone` with its question cut to the question limits: the person's question was within them, and a
    rewrite (or the rule, which adds the previous question) must not turn it into an error."""
    question = check_question(standalone.question, limits.model_copy(update={"question_overflow": "truncate"}))
    return standalone if question == standalone.question else Standalone(question, standalone.method, standalone.carried)


def check_top_k(k: int, limits: LimitsConfig) -> int:
    """`k` when it is a whole number from 1 to ``limits.max_top_k``, else InputLimitError."""
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= limits.max_top_k:
        raise InputLimitError(f"k (top_k) must be a whole number from 1 to {limits.max_top_k} (limits.max_top_k); got {k!r}.")
    return k


def _rewrites_in_documents_language(answerer: Answerer, asked: Language, documents: Language) -> bool:
    """Whether a follow-up in `asked` is rewritten in the documents' language when the chat it continues is in theirs:
    a Chinese follow-up over English documents (its answer is drafted in English anyway). An English follow-up after
    an answer drafted in Chinese is rewritten in English: asked in Chinese, the 1.5B model named the wrong referent
    ("Why are they important?" after emergent abilities became "为什么LLMs重要？"; docs/answers.md)."""
    return documents == "en" and answerer.answers_from_translation(asked, documents)
