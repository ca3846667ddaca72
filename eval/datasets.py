"""Question sets for evaluation: JSONL (or CSV with the same columns).

Columns: ``question`` (required), ``answerable`` (bool, default true), ``gold_substrings`` (exact source
substrings a correct passage must contain; in CSV a JSON list or ``|``-separated), and optional
``id``, ``type`` (paraphrase, keyword, english, multi, unanswerable), ``subtype`` (for unanswerable
questions: off_topic, absent, bare_question), ``lang``, ``reference`` (a reference answer),
``key_facts`` (short phrases a correct answer states, in the question's language) and
``reference_contexts`` (passages a correct retrieval should return). List columns are, in CSV, a JSON
list or ``|``-separated. Other columns land in ``extra``.

Bundled sets (``eval/data``; see `rag_eval.split`): ``tune`` (fit and choose on this), ``test`` (report
this; nothing is tuned on it) and ``dev`` (both dev-set parts, the set earlier figures used).
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from rag.core.errors import ConfigError

DATA_DIR = Path(__file__).resolve().parent / "data"
DEV_SET = DATA_DIR / "dev.jsonl"
TUNE_SET = DATA_DIR / "tune.jsonl"
TEST_SET = DATA_DIR / "test.jsonl"
SPLITS = {"tune": TUNE_SET, "test": TEST_SET, "dev": DEV_SET}


def dataset_path(value: str | Path | None, default: str = "test") -> Path:
    """A bundled split by name (``tune``, ``test``, ``dev``), else a file path; None picks `default`."""
    if value is None:
        value = default
    return SPLITS.get(str(value), Path(value))


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    answerable: bool = True
    gold_substrings: tuple[str, ...] = ()
    type: str = ""
    subtype: str = ""
    lang: str = ""
    reference: str = ""
    key_facts: tuple[str, ...] = ()
    reference_contexts: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict, compare=False, hash=False)


def load_questions(path: str | Path = DEV_SET) -> list[EvalQuestion]:
    """Read a question set; errors name the file, the line and the field."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Question set '{path}' does not exist.")
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8", newline="") as handle:
            rows = [(number, _csv_row(row)) for number, row in enumerate(csv.DictReader(handle), start=2)]
    else:
        rows = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                try:
                    rows.append((number, json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise ConfigError(f"{path}:{number}: not valid JSON ({exc.msg}).") from None
    return [_question(record, f"{path}:{number}", number) for number, record in rows]


def _csv_row(row: dict) -> dict:
    """CSV cells are strings: list columns come as a JSON list or separated by ``|``."""
    for column in LIST_COLUMNS:
        cell = (row.get(column) or "").strip()
        if cell.startswith("["):
            try:
                row[column] = json.loads(cell)
            except json.JSONDecodeError:
                pass  # left as a string, so the check below reports the field
        else:
            row[column] = [g for g in cell.split("|") if g]
    return row


LIST_COLUMNS = ("gold_substrings", "reference_contexts", "key_facts")


def _string_list(record: dict, column: str, where: str) -> tuple[str, ...]:
    values = record.get(column) or []
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise ConfigError(f"{where}: '{column}' must be a list of non-empty strings.")
    return tuple(values)


def _question(record: dict, where: str, number: int) -> EvalQuestion:
    question = str(record.get("question") or "").strip()
    if not question:
        raise ConfigError(f"{where}: the 'question' field is missing or empty.")
    gold = _string_list(record, "gold_substrings", where)
    contexts = _string_list(record, "reference_contexts", where)
    key_facts = _string_list(record, "key_facts", where)
    answerable = record.get("answerable", True)
    if isinstance(answerable, str):
        answerable = answerable.strip().lower() not in {"false", "0", "no", ""}
    known = {"id", "question", "answerable", "gold_substrings", "type", "subtype", "lang", "reference",
             "key_facts", "reference_contexts"}
    return EvalQuestion(
        id=str(record.get("id") or f"line{number}"),
        question=question,
        answerable=bool(answerable),
        gold_substrings=gold,
        type=str(record.get("type") or ""),
        subtype=str(record.get("subtype") or ""),
        lang=str(record.get("lang") or ""),
        reference=str(record.get("reference") or ""),
        reference_contexts=contexts,
        key_facts=key_facts,
        extra={k: v for k, v in record.items() if k not in known},
    )
