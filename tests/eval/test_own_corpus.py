"""rag_eval.own_corpus: the second corpus ships with its questions, and the table counts what it is given."""
import json

from rag_eval.own_corpus import SECOND_CORPUS, SECOND_QUESTIONS, table


def test_the_second_corpus_holds_the_gold_text_of_its_answerable_questions() -> None:
    texts = "\n".join(p.read_text(encoding="utf-8") for p in SECOND_CORPUS.glob("*.md"))
    questions = [json.loads(line) for line in SECOND_QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    answerable = [q for q in questions if q["answerable"]]
    assert answerable and len(answerable) < len(questions)
    assert all(any(g in texts for g in q["gold_substrings"]) for q in answerable)


def test_the_table_counts_unanswerable_kinds_together() -> None:
    row = {"threshold": 0.2, "found@5": 3, "refused_answerable": 1, "total_answerable": 4,
           "refused_absent": 2, "total_absent": 3, "refused_off_topic": 1, "total_off_topic": 1}
    text = table({"shipped defaults": row})
    assert "| shipped defaults | 0.200 | 3/4 (75%) | 2/3 | 1/1 | 1/4 (25.0%) |" in text
