from pathlib import Path

import pytest

from rag.core.errors import ConfigError
from rag.core.paths import default_corpus_files
from rag_eval.datasets import DEV_SET, load_questions


def test_jsonl_and_csv_read_alike(tmp_path: Path) -> None:
    jsonl = tmp_path / "q.jsonl"
    jsonl.write_text('{"question": "什么是 LoRA？", "gold_substrings": ["低秩"]}\n\n{"question": "天气", "answerable": false}\n')
    csv = tmp_path / "q.csv"
    csv.write_text('question,answerable,gold_substrings\n什么是 LoRA？,true,低秩\n天气,false,\n', encoding="utf-8")
    for path in (jsonl, csv):
        first, second = load_questions(path)
        assert (first.question, first.answerable, first.gold_substrings) == ("什么是 LoRA？", True, ("低秩",))
        assert (second.answerable, second.gold_substrings) == (False, ())


@pytest.mark.parametrize(
    ("content", "message"),
    [('{"answerable": true}\n', r"q.jsonl:1: the 'question' field"), ("{not json\n", r"q.jsonl:1: not valid JSON"),
     ('{"question": "x", "gold_substrings": "oops"}\n', "'gold_substrings' must be a list")],
)
def test_bad_rows_name_file_line_and_field(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_questions(path)


def test_dev_set_is_sound() -> None:
    questions = load_questions(DEV_SET)
    corpus = "\n".join(path.read_text(encoding="utf-8") for path in default_corpus_files())
    assert len(questions) >= 60
    assert len({q.id for q in questions}) == len(questions)
    assert sum(not q.answerable for q in questions) >= 10
    assert {"paraphrase", "keyword", "english", "multi", "unanswerable"} <= {q.type for q in questions}
    for question in questions:
        assert question.answerable == bool(question.gold_substrings), question.id
        for gold in question.gold_substrings:
            assert gold in corpus, f"{question.id}: gold substring not in the corpus: {gold}"
