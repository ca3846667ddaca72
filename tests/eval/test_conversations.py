"""Conversation metrics, hand-checked on made-up records, and the bundled conversation sets' shape."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.answering.answerer import Answer
from rag.answering.citations import Citation
from rag.core.errors import ConfigError
from rag.core.schema import Chunk, Hit
from rag_eval.conversations import CONVERSATION_SETS, holds_gold, load_conversations, read_gold, report, summarize

CORPUS = Path(__file__).resolve().parents[2] / "corpus"


def _answer(cited: list[str], abstained: bool = False) -> Answer:
    chunks = [Chunk("a", "d.md", "混合精度训练的挑战：精度损失。", 0, 15), Chunk("b", "d.md", "优势：更快。", 15, 21)]
    citations = [Citation(1, c, "d.md", "", "", 0, 1) for c in cited]
    return Answer("q", "", citations, abstained, "llm", [Hit(c, 1.0) for c in chunks], "zh")


def test_a_gold_citation_needs_an_answer_citing_a_passage_that_holds_the_gold() -> None:
    assert holds_gold(_answer(["a"]), ["精度损失"])
    assert not holds_gold(_answer(["b"]), ["精度损失"])  # cited, but not the gold passage
    assert not holds_gold(_answer(["a"], abstained=True), ["精度损失"])  # a refusal's nearest sources don't count
    assert read_gold(_answer([]), ["精度损失"], passages=1) and not read_gold(_answer([]), ["更快"], passages=1)


def test_summary_counts_follow_ups_controls_switches_and_rewrite_times() -> None:
    records = [
        {"type": "followup", "method": "llm", "gold": True, "control_gold": False, "retrieved": True,
         "control_retrieved": True, "abstained": False, "rewrite_ms": 1500.0, "retrieve_ms": 100.0},
        {"type": "followup", "method": "ordinal", "gold": False, "control_gold": False, "retrieved": False,
         "control_retrieved": False, "abstained": False, "rewrite_ms": 1.0, "retrieve_ms": 99.0},
        {"type": "topic_switch", "method": "as-is", "abstained": True, "rewrite_ms": 0.0, "retrieve_ms": 50.0},
    ]
    metrics = summarize(records)
    assert (metrics["followup_gold"], metrics["control_gold"], metrics["switch_refused"]) == (0.5, 0.0, 1.0)
    assert metrics["followup_retrieved"] == 0.5 and metrics["control_retrieved"] == 0.5
    assert metrics["rewrite_ms_p50"] == 1.0  # nearest rank: of 0, 1 and 1,500 ms the middle one
    assert metrics["overhead_ms_p50"] == 100.0 and metrics["model_rewrite_ms_p50"] == 1500.0
    assert metrics["methods"] == {"llm": 1, "ordinal": 1, "as-is": 1}
    table = report(metrics)
    assert "| follow-ups answered with a gold-holding citation | 1/2 (50%) |" in table
    assert "| topic switches refused | 1/1 (100%) |" in table


@pytest.mark.parametrize("name", ["tune", "test"])
def test_the_bundled_sets_have_enough_of_each_kind_and_gold_from_the_corpus(name: str) -> None:
    corpus = "\n".join(path.read_text(encoding="utf-8") for path in CORPUS.glob("*.md"))
    conversations = load_conversations(CONVERSATION_SETS[name])
    followups = [c for c in conversations if c.type == "followup"]
    switches = [c for c in conversations if c.type == "topic_switch"]
    assert len(followups) >= 20 and len(switches) >= 10 and len(conversations) == len(followups) + len(switches)
    assert {c.subtype for c in followups} == {"pronoun", "ordinal", "ellipsis", "aspect"}
    assert sum(c.lang == "en" for c in conversations) >= 6
    assert all(c.gold_substrings and all(g in corpus for g in c.gold_substrings) for c in followups)
    assert not any(c.answerable or c.gold_substrings for c in switches)


def test_the_sets_ask_different_first_questions() -> None:
    firsts = {name: {c.extra["history"][0] for c in load_conversations(path)} for name, path in CONVERSATION_SETS.items()}
    assert not firsts["tune"] & firsts["test"]


def test_a_conversation_without_history_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"id": "c1", "question": "它呢？", "history": []}) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="'c1' needs 'history'"):
        load_conversations(path)
