"""The tuning/test split: disjoint, stratified, reproducible, and its gold text really is in the corpus."""
from collections import Counter

import pytest

from rag.core.paths import default_corpus_files
from rag_eval.datasets import (
    DATA_DIR,
    DEV_SET,
    SPLITS,
    TEST_SET,
    TUNE_SET,
    dataset_path,
    load_questions,
)
from rag_eval.split import (
    NEW_TEST_FILE,
    NEW_TUNE_FILE,
    build,
    read_jsonl,
    split,
    stratum,
)

UNANSWERABLE_KINDS = {"off_topic", "absent", "bare_question"}


@pytest.fixture(scope="module")
def corpus() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in default_corpus_files())


def test_committed_files_are_what_the_split_script_writes() -> None:
    tune, test = build()
    assert read_jsonl(TUNE_SET) == tune
    assert read_jsonl(TEST_SET) == test


def test_parts_are_disjoint_and_cover_the_dev_set() -> None:
    tune = {q.id for q in load_questions(TUNE_SET)}
    test = {q.id for q in load_questions(TEST_SET)}
    dev = {q.id for q in load_questions(DEV_SET)}
    new = {r["id"] for r in read_jsonl(NEW_TEST_FILE)}
    new_tune = {r["id"] for r in read_jsonl(NEW_TUNE_FILE)}
    assert not tune & test
    assert (tune - new_tune) | (test - new) == dev
    assert not (new | new_tune) & dev
    assert new <= test and new_tune <= tune


def test_test_part_size_and_unanswerable_spread() -> None:
    test = load_questions(TEST_SET)
    unanswerable = [q for q in test if not q.answerable]
    assert len(test) >= 60
    assert len(unanswerable) >= len(test) / 4
    kinds = Counter(q.subtype for q in unanswerable)
    assert set(kinds) == UNANSWERABLE_KINDS
    assert min(kinds.values()) >= 4
    assert {"paraphrase", "keyword", "english", "multi"} <= {q.type for q in test if q.answerable}
    assert {"zh", "en"} <= {q.lang for q in test}


def test_every_stratum_of_the_dev_set_reaches_both_parts() -> None:
    dev = read_jsonl(DEV_SET)
    tune, test = split(dev)
    for key, n in Counter(stratum(r) for r in dev).items():
        in_test = sum(stratum(r) == key for r in test)
        assert 1 <= in_test < n, key
    assert split(dev) == (tune, test)  # seeded: the same every time


@pytest.mark.parametrize("name", ["tune", "test", "comparisons_tune.jsonl", "comparisons_test.jsonl"])
def test_gold_substrings_occur_in_the_corpus(name: str, corpus: str) -> None:
    questions = load_questions(SPLITS.get(name, DATA_DIR / name))
    assert len({q.id for q in questions}) == len(questions)
    for question in questions:
        assert question.answerable == bool(question.gold_substrings), question.id
        if not question.answerable:
            assert question.subtype in UNANSWERABLE_KINDS, question.id
        for gold in question.gold_substrings:
            assert gold in corpus, f"{question.id}: gold substring not in the corpus: {gold}"


def test_new_test_questions_have_unique_gold_and_key_facts(corpus: str) -> None:
    """Each new question's gold substring names one place in the corpus, and a Chinese question's key
    facts are words its source document uses."""
    new = {r["id"] for r in read_jsonl(NEW_TEST_FILE)}
    for question in load_questions(TEST_SET):
        if question.id not in new or not question.answerable:
            continue
        assert question.key_facts, question.id
        for gold in question.gold_substrings:
            assert corpus.count(gold) == 1, f"{question.id}: {gold}"
        if question.lang == "zh":
            source = next(p for p in default_corpus_files() if p.name == question.extra["doc"]).read_text(encoding="utf-8")
            for fact in question.key_facts:
                assert fact in source, f"{question.id}: key fact not in {question.extra['doc']}: {fact}"


def test_dataset_path_names_a_split_or_a_file(tmp_path) -> None:
    assert dataset_path(None) == TEST_SET
    assert dataset_path(None, default="tune") == TUNE_SET
    assert dataset_path("dev") == DEV_SET
    assert dataset_path(tmp_path / "x.jsonl") == tmp_path / "x.jsonl"


def test_key_facts_and_subtype_load(tmp_path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "q", "gold_substrings": ["a"], "key_facts": ["b", "c"]}\n'
                    '{"question": "r", "answerable": false, "subtype": "off_topic"}\n', encoding="utf-8")
    first, second = load_questions(path)
    assert first.key_facts == ("b", "c") and "key_facts" not in first.extra
    assert second.subtype == "off_topic"


def test_the_added_tuning_questions_share_no_question_or_gold_passage_with_the_test_part() -> None:
    added = {r["id"] for r in read_jsonl(NEW_TUNE_FILE)}
    tune = [q for q in load_questions(TUNE_SET) if q.id in added]
    test = load_questions(TEST_SET)
    assert len(tune) == len(added) >= 30
    assert not {q.question for q in tune} & {q.question for q in test}
    assert not {g for q in tune for g in q.gold_substrings} & {g for q in test for g in q.gold_substrings}
