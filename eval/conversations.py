"""Conversation metrics: is a follow-up answered about the topic it continues, and is a switch to a topic the
documents don't cover refused?

Sets (``eval/data/conversations_{tune,test}.jsonl``, written by hand from the bundled documents; the test set from
sections no tuning conversation uses): each record has ``history`` (the earlier questions, asked for real first),
``question`` (the second turn), ``type`` (``followup`` or ``topic_switch``), ``subtype`` for follow-ups
(``pronoun``, ``ordinal``, ``ellipsis``, ``aspect``: what makes it lean on the turn before), ``lang`` and, for
follow-ups, ``gold_substrings`` (exact source text a passage answering the second turn holds).

Per conversation the earlier questions are asked in one `rag.Conversation`, then the second turn. Reported:

- ``followup_gold``: share of follow-ups answered (not refused) with at least one citation whose passage holds a
  gold substring; ``control_gold``: the same follow-up asked alone, without history (the gap is what the history
  buys); ``followup_retrieved`` / ``control_retrieved``: a gold passage among the passages the answerer reads;
- ``switch_refused``: share of topic switches refused;
- ``rewrite_ms`` and ``overhead_ms`` (rewrite + retrieval) percentiles over second turns, and over the turns the
  model rewrote (``model_rewrite_ms``); ``methods``: how each standalone question was made.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Callable, Sequence

from rag.answering.answerer import Answer
from rag.api import RAG
from rag.core.errors import ConfigError
from rag_eval.datasets import DATA_DIR, EvalQuestion, load_questions
from rag_eval.stats import percentile

CONVERSATION_SETS = {name: DATA_DIR / f"conversations_{name}.jsonl" for name in ("tune", "test")}


def conversation_set(value: str | Path | None, default: str = "test") -> Path:
    """A bundled conversation set by name (``tune``, ``test``), else a file path; None picks `default`."""
    value = default if value is None else value
    return CONVERSATION_SETS.get(str(value), Path(value))


def load_conversations(path: str | Path) -> list[EvalQuestion]:
    """The conversations of a set; each needs a ``history`` list of earlier questions."""
    conversations = load_questions(path)
    for conversation in conversations:
        history = conversation.extra.get("history")
        if not isinstance(history, list) or not history or not all(isinstance(q, str) and q.strip() for q in history):
            raise ConfigError(f"{path}: conversation '{conversation.id}' needs 'history', a list of earlier questions.")
    return conversations


def holds_gold(answer: Answer, gold: Sequence[str]) -> bool:
    """Answered, with a citation whose passage holds a gold substring."""
    if answer.abstained:
        return False
    passages = {hit.chunk.id: hit.chunk.text for hit in answer.hits}
    return any(any(g in passages.get(c.chunk_id, c.text) for g in gold) for c in answer.citations)


def read_gold(answer: Answer, gold: Sequence[str], passages: int) -> bool:
    """A gold passage among the first `passages` hits (what the answerer reads)."""
    return any(any(g in hit.chunk.text for g in gold) for hit in answer.hits[:passages])


class ConversationEvaluator:
    """Runs the conversations of a set through `rag`; returns (flat metrics, one record per conversation)."""

    def __init__(self, conversations: Sequence[EvalQuestion], mode: str | None = None, control: bool = True) -> None:
        self.conversations = list(conversations)
        self.mode = mode
        self.control = control

    def __call__(self, rag: RAG, progress: Callable[[Any], Any] = lambda it: it) -> tuple[dict[str, Any], list[dict]]:
        passages = rag.config.answer.passages
        records = []
        for conversation in progress(self.conversations):
            chat = rag.conversation(mode=self.mode)
            earlier = [chat.ask(question) for question in conversation.extra["history"]]
            answer = chat.ask(conversation.question)
            record: dict[str, Any] = {
                "id": conversation.id, "type": conversation.type, "subtype": conversation.subtype, "lang": conversation.lang,
                "history": [{"question": a.question, "answer": a.text, "abstained": a.abstained} for a in earlier],
                "question": conversation.question, "standalone_question": answer.standalone_question,
                "method": answer.standalone_method, "answer": answer.text, "abstained": answer.abstained,
                "rewrite_ms": answer.timings.get("rewrite_ms", 0.0), "retrieve_ms": answer.timings.get("retrieve_ms", 0.0),
                "total_ms": answer.timings.get("total_ms", 0.0),
            }
            if conversation.answerable:
                record["gold"] = holds_gold(answer, conversation.gold_substrings)
                record["retrieved"] = read_gold(answer, conversation.gold_substrings, passages)
                if self.control:
                    alone = rag.ask(conversation.question, mode=self.mode)
                    record["control_gold"] = holds_gold(alone, conversation.gold_substrings)
                    record["control_retrieved"] = read_gold(alone, conversation.gold_substrings, passages)
                    record["control_answer"] = alone.text
            records.append(record)
        return summarize(records), records


def summarize(records: Sequence[dict]) -> dict[str, Any]:
    """The flat metrics of a run's records (see the module docstring)."""
    followups = [r for r in records if r["type"] != "topic_switch"]
    switches = [r for r in records if r["type"] == "topic_switch"]

    def share(rows: Sequence[dict], key: str) -> float:
        counted = [r for r in rows if key in r]
        return sum(bool(r[key]) for r in counted) / len(counted) if counted else float("nan")

    rewrite = [r["rewrite_ms"] for r in records]
    overhead = [r["rewrite_ms"] + r["retrieve_ms"] for r in records]
    model = [r["rewrite_ms"] for r in records if r["method"] == "llm"]
    return {
        "conversations": len(records), "followups": len(followups), "switches": len(switches),
        "followup_gold": share(followups, "gold"), "control_gold": share(followups, "control_gold"),
        "followup_retrieved": share(followups, "retrieved"), "control_retrieved": share(followups, "control_retrieved"),
        "followup_gold_n": sum(bool(r.get("gold")) for r in followups),
        "control_gold_n": sum(bool(r.get("control_gold")) for r in followups),
        "switch_refused": share(switches, "abstained"), "switch_refused_n": sum(r["abstained"] for r in switches),
        "rewrite_ms_p50": percentile(rewrite, 50), "rewrite_ms_p95": percentile(rewrite, 95),
        "overhead_ms_p50": percentile(overhead, 50), "overhead_ms_p95": percentile(overhead, 95),
        "model_rewrite_ms_p50": percentile(model, 50), "model_rewrites": len(model),
        "methods": dict(Counter(r["method"] for r in records)),
    }


def report(metrics: dict[str, Any]) -> str:
    """The metrics as a Markdown table."""
    f, s = metrics["followups"], metrics["switches"]
    rows = [
        ("follow-ups answered with a gold-holding citation", f"{metrics['followup_gold_n']}/{f} ({metrics['followup_gold']:.0%})"),
        ("the same follow-ups asked alone (control)", f"{metrics['control_gold_n']}/{f} ({metrics['control_gold']:.0%})"),
        ("gold passage read, in conversation / alone", f"{metrics['followup_retrieved']:.0%} / {metrics['control_retrieved']:.0%}"),
        ("topic switches refused", f"{metrics['switch_refused_n']}/{s} ({metrics['switch_refused']:.0%})"),
        ("rewrite p50 / p95 (all second turns)", f"{metrics['rewrite_ms_p50'] / 1000:.2f} / {metrics['rewrite_ms_p95'] / 1000:.2f} s"),
        ("rewrite + retrieval p50 / p95", f"{metrics['overhead_ms_p50'] / 1000:.2f} / {metrics['overhead_ms_p95'] / 1000:.2f} s"),
        (f"model rewrites ({metrics['model_rewrites']}) p50", f"{metrics['model_rewrite_ms_p50'] / 1000:.2f} s"),
        ("how standalone questions were made", ", ".join(f"{k} {v}" for k, v in sorted(metrics["methods"].items()))),
    ]
    return "| metric | value |\n|---|---:|\n" + "".join(f"| {name} | {value} |\n" for name, value in rows)
