"""Completing a list answer with the items of its cited list the model left out, on the benefits/challenges document."""
from __future__ import annotations

from pathlib import Path

import pytest

from rag.answering.completion import with_items
from rag.core.config import Config
from rag_ingest.builder import IndexBuilder
from tests.conftest import BENEFITS, BENEFITS_DOC, CHALLENGES, TINY_DOCS, scripted_rag


@pytest.fixture
def make_rag(tmp_path: Path, keyword_embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    name, text = BENEFITS_DOC
    (docs / name).write_text(text, encoding="utf-8")
    (docs / "attention.md").write_text(TINY_DOCS["attention.md"], encoding="utf-8")
    IndexBuilder(Config(), keyword_embedder).build([docs], tmp_path / "index", progress=False)
    return lambda output: scripted_rag(tmp_path / "index", keyword_embedder, output)


def test_a_benefits_answer_naming_one_item_quotes_the_others_from_its_list(make_rag) -> None:
    rag = make_rag(f"{BENEFITS[0]}[1]")
    answer = rag.ask("混合精度训练有什么好处？")
    assert answer.fallback is None and answer.completed == 2
    lines = answer.text.split("\n")
    assert len(lines) == 3 and all(item.split("：")[0] in line for item, line in zip(BENEFITS, lines))
    assert not any(challenge.split("：")[0] in answer.text for challenge in CHALLENGES)
    cited = [span.text for citation in answer.citations for span in citation.spans]
    assert [text.removeprefix("- ") for text in cited] == list(BENEFITS)  # each item cites its own line
    assert answer.to_json()["completed"] == 2


def test_a_question_asking_for_no_list_is_not_completed(make_rag) -> None:
    rag = make_rag(f"{BENEFITS[0]}[1]")
    answer = rag.ask("混合精度训练为什么更快？")
    assert answer.completed == 0 and "\n" not in answer.text


def test_an_answer_citing_no_item_of_the_list_asked_for_is_not_completed(make_rag) -> None:
    # the challenges list answers the question; the answer cites a benefit, so nothing of that list is "left out"
    rag = make_rag(f"{BENEFITS[0]}[1]")
    answer = rag.ask("混合精度训练有哪些挑战？")
    assert answer.completed == 0 and not any(challenge.split("：")[0] in answer.text for challenge in CHALLENGES)


@pytest.mark.parametrize(
    ("answer", "items", "language", "expected"),
    [
        ("* 更快[1]。\n* 更省[1]。", [(1, "更稳")], "zh", "* 更快[1]。\n* 更省[1]。\n* 更稳[1]。"),
        ("1. 更快[1]。\n2) 更省[1]。", [(1, "更稳"), (2, "更便宜。")], "zh",
         "1. 更快[1]。\n2) 更省[1]。\n3) 更稳[1]。\n4) 更便宜[2]。"),
        ("It is faster [1].", [(1, "It saves memory")], "en", "It is faster [1].\nIt saves memory [1]."),
    ],
)
def test_items_are_added_as_the_answer_lists(answer: str, items: list, language: str, expected: str) -> None:
    assert with_items(answer, items, language) == expected
