"""Split the dev set into a tuning part and a test part nobody tunes on.

    python -m rag_eval.split            # rewrites eval/data/tune.jsonl and eval/data/test.jsonl

The split is stratified by question kind (``type``, and ``subtype`` for unanswerable questions:
off-topic, on-topic but absent, only asked as a bare question): from each stratum of
`eval/data/dev.jsonl` a seeded random ``TEST_SHARE`` goes to the test part, the rest to the tuning
part. Every question of `eval/data/new_test.jsonl` (written from the documents after the dev set,
without looking at any tuning result) goes to the test part, and every question of
`eval/data/tune_new.jsonl` (written later in the same style, from sections no test question uses,
so the tuning part has questions of that style too) to the tuning part. Thresholds, weights, chunk sizes, rrf_k
and rules are chosen on the tuning part only; the README reports the test part.
"""
from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
DEV_FILE = DATA / "dev.jsonl"
NEW_TEST_FILE = DATA / "new_test.jsonl"
NEW_TUNE_FILE = DATA / "tune_new.jsonl"
TUNE_FILE = DATA / "tune.jsonl"
TEST_FILE = DATA / "test.jsonl"
TEST_SHARE = 0.3
SEED = 20261126


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def stratum(record: dict) -> tuple[str, str]:
    return str(record.get("type") or ""), str(record.get("subtype") or "")


def split(dev: list[dict], share: float = TEST_SHARE, seed: int = SEED) -> tuple[list[dict], list[dict]]:
    """(tune, test) records of `dev`, each in dev order; `share` of every stratum (rounded, at least one
    where a stratum has two or more) goes to test."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for record in dev:
        groups[stratum(record)].append(record["id"])
    rng = random.Random(seed)
    test_ids: set[str] = set()
    for key in sorted(groups):
        ids = sorted(groups[key])
        rng.shuffle(ids)
        n = round(len(ids) * share)
        if len(ids) >= 2:
            n = max(n, 1)
        test_ids.update(ids[:n])
    return [r for r in dev if r["id"] not in test_ids], [r for r in dev if r["id"] in test_ids]


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def build() -> tuple[list[dict], list[dict]]:
    """The tuning and test parts as records: the dev split plus every new tuning and test question."""
    tune, test = split(read_jsonl(DEV_FILE))
    return tune + read_jsonl(NEW_TUNE_FILE), test + read_jsonl(NEW_TEST_FILE)


def main() -> None:
    tune, test = build()
    write_jsonl(TUNE_FILE, tune)
    write_jsonl(TEST_FILE, test)
    for name, records in (("tune", tune), ("test", test)):
        unanswerable = sum(not r.get("answerable", True) for r in records)
        print(f"{name}: {len(records)} questions, {unanswerable} unanswerable")


if __name__ == "__main__":
    main()
