"""End-to-end answer metrics on a question set, judge-free and hand-checkable.

- answered / abstained against the `answerable` labels;
- ``cited_sentence_share``: share of answer sentences that end with at least one ``[n]``;
- ``gold_citation_share``: share of citations (on answerable questions with gold) whose passage
  contains one of the question's gold substrings;
- ``short_span_gold_share``: share of answered questions (answerable, with gold) citing a span of at most
  `SHORT_SPAN_CHARS` characters that holds a gold substring — what a person checking the answer sees when
  they open its citation; ``span_chars_p50``: the median length of the cited spans;
- ``unfinished``: answers whose text stops mid-sentence (its last line ends neither with closing
  punctuation nor with a citation marker); ``cut``: LLM drafts that reached the token limit (their unfinished
  sentence was dropped);
- ``cited_parts_share``: for questions whose gold has several parts (a comparison: one per thing compared), the
  share of the parts some cited span holds, refusals counting none — whether the answer covers, and cites, each;
- ``key_fact_recall``: the mean share of a question's key facts the answer states (answered questions with key facts);
- ``read_gold_share``: share of the answerable questions (with gold) whose excerpts the model read (LLM mode, not
  refused before reading) where that text holds a gold substring — excerpt recall as it happens, after any
  translation of the question; ``read`` counts those questions.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Sequence

from rag.answering.answerer import Answer, Reading
from rag.answering.citations import answer_sentences, parse_markers
from rag.core.text import join_cjk_wraps
from rag_eval.datasets import EvalQuestion
from rag_eval.key_facts import key_fact_recall
from rag_eval.retrieval import excerpts_hold_gold
from rag_eval.stats import percentile

AskFn = Callable[[str], tuple[Answer, "Reading | None"]]
"""Answers a question; also returns what the model read (None: no model read anything)."""
SHORT_SPAN_CHARS = 300
_ENDING = re.compile(r"(?:[。！？；.!?;…）)”’」』]|\[\d+(?:[,，、]\s*\d+)*\])\s*$")


def short_span_holds_gold(answer: Answer, gold: Sequence[str]) -> bool:
    """Whether a cited span of at most `SHORT_SPAN_CHARS` characters holds one of the gold substrings."""
    return any(len(span.text) <= SHORT_SPAN_CHARS and any(g in join_cjk_wraps(span.text) for g in gold)
               for citation in answer.citations for span in citation.spans)


def cited_parts(answer: Answer, gold: Sequence[str]) -> int:
    """How many of the gold substrings a span the answer cites as support holds."""
    spans = [join_cjk_wraps(span.text) for citation in answer.citations if citation.kind == "support"
             for span in citation.spans]
    return sum(any(g in span for span in spans) for g in gold)


def unfinished(text: str) -> bool:
    """Whether an answer stops mid-sentence: its last line ends neither with closing punctuation nor a marker."""
    last = text.rstrip().rsplit("\n", 1)[-1]
    return bool(last) and not _ENDING.search(last)


def cited_sentences(answer: Answer) -> tuple[int, int]:
    """``(sentences with a citation, sentences)`` of a non-abstained answer's text."""
    sentences = [s for s in answer_sentences(answer.text) if parse_markers(s)[0]]
    return sum(bool(parse_markers(s)[1]) for s in sentences), len(sentences)


def gold_citations(answer: Answer, gold: Sequence[str]) -> tuple[int, int]:
    """``(citations whose passage holds a gold substring, citations)``."""
    passages = {hit.chunk.id: hit.chunk.text for hit in answer.hits}
    hits = sum(any(g in passages.get(c.chunk_id, c.text) for g in gold) for c in answer.citations)
    return hits, len(answer.citations)


class AnswerEvaluator:
    """Runs `ask` over a question set; returns (flat metrics, one record per question)."""

    def __init__(self, questions: Sequence[EvalQuestion]) -> None:
        self.questions = list(questions)

    def __call__(self, ask: AskFn, progress: Callable[[Any], Any] = lambda it: it) -> tuple[dict[str, float], list[dict]]:
        records = []
        totals = {"answerable": 0, "answered": 0, "unanswerable": 0, "refused": 0, "cited": 0, "sentences": 0,
                  "gold_citations": 0, "citations": 0, "fallbacks": 0, "short_span_gold": 0, "with_gold": 0, "unfinished": 0, "cut": 0,
                  "read": 0, "read_gold": 0, "parts": 0, "parts_cited": 0}
        latencies = []
        facts: list[float] = []
        span_lengths: list[float] = []
        for question in progress(self.questions):
            answer, reading = ask(question.question)
            record = {"id": question.id, "question": question.question, "answerable": question.answerable,
                      **answer.to_json(), "raw": answer.raw, "cut": answer.cut}
            if reading is not None and question.answerable and question.gold_substrings:
                read = "\n".join(e.text for e in reading.excerpts)
                record["read_gold"] = excerpts_hold_gold(read, question.gold_substrings)
                totals["read"] += 1
                totals["read_gold"] += record["read_gold"]
            if question.answerable and len(question.gold_substrings) > 1:
                record["cited_parts"] = [cited_parts(answer, question.gold_substrings), len(question.gold_substrings)]
                totals["parts_cited"] += record["cited_parts"][0]
                totals["parts"] += record["cited_parts"][1]
            latencies.append(answer.timings.get("total_ms", 0.0))
            if question.answerable:
                totals["answerable"] += 1
                totals["answered"] += not answer.abstained
            else:
                totals["unanswerable"] += 1
                totals["refused"] += answer.abstained
            if not answer.abstained:
                cited, sentences = cited_sentences(answer)
                totals["cited"] += cited
                totals["sentences"] += sentences
                totals["fallbacks"] += answer.fallback is not None
                totals["unfinished"] += unfinished(answer.text)
                totals["cut"] += answer.cut
                if question.key_facts:
                    facts.append(key_fact_recall(answer.text, question.key_facts))
                span_lengths += [len(span.text) for citation in answer.citations for span in citation.spans]
                if question.answerable and question.gold_substrings:
                    good, count = gold_citations(answer, question.gold_substrings)
                    totals["gold_citations"] += good
                    totals["citations"] += count
                    record["gold_citations"] = [good, count]
                    totals["with_gold"] += 1
                    totals["short_span_gold"] += short_span_holds_gold(answer, question.gold_substrings)
            records.append(record)
        metrics = {
            **{k: float(v) for k, v in totals.items()},
            "answered_share": totals["answered"] / max(totals["answerable"], 1),
            "refused_share": totals["refused"] / max(totals["unanswerable"], 1),
            "cited_sentence_share": totals["cited"] / max(totals["sentences"], 1),
            "gold_citation_share": totals["gold_citations"] / max(totals["citations"], 1),
            "short_span_gold_share": totals["short_span_gold"] / max(totals["with_gold"], 1),
            "span_chars_p50": percentile(span_lengths, 50),
            "read_gold_share": totals["read_gold"] / max(totals["read"], 1),
            "cited_parts_share": totals["parts_cited"] / totals["parts"] if totals["parts"] else float("nan"),
            "key_fact_recall": sum(facts) / len(facts) if facts else float("nan"),
            "key_fact_questions": float(len(facts)),
            "total_ms_p50": percentile(latencies, 50),
            "total_ms_p95": percentile(latencies, 95),
        }
        return metrics, records


def asking(stream: Callable[[str], Any]) -> AskFn:
    """An `AskFn` over `RAG.stream`-like events: the final `Answer` and the last `Reading` before it."""
    def ask(question: str) -> tuple[Answer, Reading | None]:
        reading = None
        for event in stream(question):
            if isinstance(event, Reading):
                reading = event
            elif isinstance(event, Answer):
                return event, reading
        raise RuntimeError(f"no answer came for {question!r}")
    return ask
