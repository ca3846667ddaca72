"""`rag calibrate` on a small English knowledge base: questions written per passage (by a stand-in model that
reads the passage), held-out folds, the fit, storage in the manifest, use by `RAG`, and the question cache."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.api import RAG
from rag.core.config import Config
from rag.index.local import IndexStore, list_generations, read_manifest
from rag.refusal.calibration import Calibration
from rag.refusal.relevance import DEFAULT_RELEVANCE
from rag_ingest.builder import IndexBuilder
from rag_ingest.calibration import calibrate, calibrate_and_store
from rag_ingest.holdout import make_holdout, question_rows
from rag_ingest.question_writer import parse_reply

TOPICS = {
    "volcanoes.md": ("Volcanoes", ["magma chambers feed eruptions through vents", "basalt lava flows travel far before cooling",
                                   "ash clouds ground aircraft across continents", "calderas form when summits collapse"]),
    "bees.md": ("Bees", ["worker bees gather nectar and pollen from flowers", "the queen lays thousands of eggs each summer",
                         "waggle dances tell the hive where flowers grow", "beeswax combs store honey for winter"]),
    "tides.md": ("Tides", ["the moon's gravity raises ocean bulges", "spring tides follow full and new moons",
                           "neap tides have the smallest range", "tidal bores surge up narrow estuaries"]),
    "glass.md": ("Glassmaking", ["silica sand melts in furnaces above 1,500 degrees", "annealing relieves stress in cooled glass",
                                 "float glass spreads on a bath of molten tin", "borosilicate glass resists thermal shock"]),
    "chess.md": ("Chess openings", ["the Sicilian defence answers e4 with c5", "gambits sacrifice a pawn for development",
                                    "castling early protects the king", "the Ruy Lopez attacks the knight on c6"]),
}


class PassageQuestioner:
    """Stands in for the LLM: asks about the first sentence of the passage it is shown, in the language asked for
    (a base model: no chat template, so it continues after "Question:")."""

    spec = "test:questioner"
    chat_template = None
    context_size = 2048

    def __init__(self) -> None:
        self.calls = 0

    def warm_up(self) -> None:
        pass

    def count_tokens(self, text: str) -> int:
        return len(text) // 4 + 1

    def complete(self, prompt: str, max_tokens: int = 256, stop=()) -> str:
        self.calls += 1
        passage = re.search(r"<passage>\n(.*?)\n</passage>", prompt, re.S).group(1)
        sentence = passage.splitlines()[-1].split(". ")[0].rstrip(".")
        words = sentence.split()
        if "in Chinese" in prompt:
            return f" {' '.join(words[:3])} 是什么意思？\nAnswer: 意思是 {sentence}。"
        return f" Which {words[0]} {' '.join(words[1:3])} {words[-1]}?\nAnswer: {sentence}."

    def stream(self, prompt: str, max_tokens: int = 256, stop=()):
        yield self.complete(prompt, max_tokens, stop)


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Questions are cached under the user cache folder: a private one per test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def write_topics(folder: Path) -> Path:
    """Five short English documents, four sections each: a 5-document knowledge base."""
    folder.mkdir()
    for name, (title, facts) in TOPICS.items():
        sections = "\n\n".join(
            f"## {fact.split()[1].title()}\n\n{fact.capitalize()}. It is a well known fact about {title.lower()}, found in "
            "every good textbook." for fact in facts
        )
        (folder / name).write_text(f"# {title}\n\n{sections}\n", encoding="utf-8")
    return folder


@pytest.fixture
def english_index(tmp_path: Path, keyword_embedder) -> Path:
    folder = write_topics(tmp_path / "docs")
    config = Config()
    config.chunking.max_chars = 200
    config.chunking.min_chars = 20
    config.chunking.overlap_chars = 0
    IndexBuilder(config, keyword_embedder).build([folder], tmp_path / "index", progress=False)
    return tmp_path / "index"


def _config(questions: int = 16) -> Config:
    config = Config()
    config.calibration.questions = questions
    config.calibration.cv_repeats = 2
    return config


def test_holdout_folds_cover_every_passage_once_and_questions_visit_every_unit(english_index: Path) -> None:
    chunks = IndexStore.open(english_index).chunks
    holdout = make_holdout(chunks, folds=5, seed=0)
    rows = sorted(r for fold in range(holdout.folds) for r in holdout.fold_rows(fold))
    assert rows == list(range(len(chunks))) and holdout.folds == 5
    asked = question_rows(chunks, holdout, 10, seed=0)
    unit_of = {row: u for u, unit in enumerate(holdout.units) for row in unit}
    assert len(holdout.units) == 10, "each 5-passage document is cut in two (a fold holds ~1/5 of the passages)"
    assert len({unit_of[r] for r in asked}) == 10 and {chunks[r].doc_id for r in asked} == set(TOPICS), "one per unit"
    assert question_rows(chunks, holdout, 14, seed=0)[:10] == asked, "asking for more extends the list"


def test_calibration_fits_stores_and_is_used(english_index: Path, keyword_embedder, tmp_path: Path) -> None:
    writer = PassageQuestioner()
    result = calibrate(english_index, _config(), keyword_embedder, writer)
    assert (tmp_path / "cache" / "rag" / "calibration" / "questions.jsonl").is_file()
    kinds = result.calibration.record["questions"]
    assert kinds["answerable"] == kinds["absent"] == 16 and kinds["off_topic"] > 30
    assert writer.calls == 16 and result.written == 16
    assert 0 < result.calibration.relevance.threshold < 1
    assert result.in_sample.answerable_refused <= 0.05 * 16
    assert "Calibrated on" in result.summary() and "Cross-validated" in result.summary()

    generations = len(list_generations(english_index))
    stored = calibrate_and_store(english_index, _config(), progress=False, embedder=keyword_embedder, generator=writer)
    assert writer.calls == 16, "the second run reads every question from the cache"
    manifest = read_manifest(english_index)
    assert Calibration.from_manifest(manifest).relevance == stored.calibration.relevance
    assert len(list_generations(english_index)) >= min(generations + 1, 2), "stored as a new generation"
    rag = RAG(IndexStore.open(english_index), Config(), keyword_embedder)
    assert rag.refusal.threshold == stored.calibration.relevance.threshold != DEFAULT_RELEVANCE.threshold
    assert rag.refusal.relevance.weights == stored.calibration.relevance.weights


def test_an_ingest_keeps_the_calibration_and_records_what_it_was_fitted_on(english_index: Path, keyword_embedder, tmp_path) -> None:
    calibrate_and_store(english_index, _config(), progress=False, embedder=keyword_embedder, generator=PassageQuestioner())
    extra = tmp_path / "extra.md"
    extra.write_text("# Kites\n\n## Wind\n\nKites need steady wind above ten knots to fly well.\n", encoding="utf-8")
    IndexBuilder(Config(), keyword_embedder).add([extra], english_index, progress=False)
    manifest = read_manifest(english_index)
    assert manifest["calibration"]["documents"] == 5 and manifest["counts"]["documents"] == 6


def test_unparseable_or_vague_replies_are_dropped() -> None:
    assert parse_reply("Question: What does the passage say?\nAnswer: Many things.", "en") is None
    assert parse_reply("Question: 这段话讲了什么？\nAnswer: 很多。", "zh") is None
    assert parse_reply("no labels at all, just rambling", "en") is None
    assert parse_reply("Question: What is GCRA?\nAnswer: A rate limiting algorithm.", "zh") is None, "asked in Chinese"
    written = parse_reply("Question: 什么是 GCRA？\nAnswer: 一种限流算法。", "zh")
    assert written is not None and written.question == "什么是 GCRA？"
