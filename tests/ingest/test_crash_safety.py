"""Crash safety: a build killed at any step, twice in a row, leaves a whole index that `info` and a
no-path refresh read correctly, and the next build cleans up what the killed ones left."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import rag_ingest.builder as builder_module
from rag.core.config import Config
from rag.index.local import IndexStore, list_generations, read_manifest
from rag_ingest.builder import BUILD_STEPS, IndexBuilder
from tests.conftest import KeywordEmbedder

CRASHED = 77


def _crashing_build(paths: list[Path], index_dir: Path, step: str) -> int:
    """Run a build in a forked process that dies (os._exit: no cleanup, like kill -9) at `step`."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            def crash(name: str) -> None:
                if name == step:
                    os._exit(CRASHED)

            builder_module.step_hook = crash
            IndexBuilder(Config(), KeywordEmbedder()).build(paths, index_dir, progress=False)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


@pytest.mark.parametrize("step", BUILD_STEPS)
def test_two_crashes_in_a_row_at_each_step_leave_a_whole_index(step: str, tiny_corpus: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    IndexBuilder(Config(), KeywordEmbedder()).build([tiny_corpus], index_dir, progress=False)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.md").write_text("# 笔记\n\n梯度累积在显存不足时模拟更大的批量。\n", encoding="utf-8")
    switched = BUILD_STEPS.index(step) >= BUILD_STEPS.index("switched")
    for attempt in (1, 2):
        assert _crashing_build([other], index_dir, step) == CRASHED, f"crash {attempt} at {step} did not happen"
        store = IndexStore.open(index_dir)  # checks every file agrees
        expected = other if switched else tiny_corpus
        assert read_manifest(index_dir)["sources"] == [str(expected.resolve())]  # what `rag info` shows
        assert {c.doc_id for c in store.chunks} == ({"notes.md"} if switched else {"mixed-precision.md", "attention.md"})
    # A no-path refresh (rag ingest --index X) rebuilds from the surviving generation's own sources.
    sources = read_manifest(index_dir)["sources"]
    IndexBuilder(Config(), KeywordEmbedder()).build(sources, index_dir, progress=False)
    leftovers = [p.name for p in index_dir.iterdir() if p.name.startswith(".")]
    assert leftovers == [], leftovers
    assert len(list_generations(index_dir)) <= 2
    assert len(IndexStore.open(index_dir).chunks) > 0


def test_a_crash_before_the_first_build_completes_leaves_no_index_and_no_litter(tiny_corpus: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    assert _crashing_build([tiny_corpus], index_dir, "staged-arrays") == CRASHED
    with pytest.raises(Exception, match="No index"):
        IndexStore.open(index_dir)
    IndexBuilder(Config(), KeywordEmbedder()).build([tiny_corpus], index_dir, progress=False)
    assert [p.name for p in index_dir.iterdir() if p.name.startswith(".")] == []
