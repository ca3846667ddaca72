"""Index generations: readers always see one whole generation, even while a writer rebuilds in a loop."""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

from rag.api import RAG
from rag.core.config import Config
from rag.index.local import (
    CURRENT,
    MANIFEST,
    IndexStore,
    current_generation,
    generation_id,
    list_generations,
    read_manifest,
)
from rag_ingest.builder import IndexBuilder
from tests.conftest import TINY_DOCS, KeywordEmbedder

# Variant B rewrites one document so that a store mixing A's chunks with B's text (or arrays) is caught.
VARIANT_B = {
    **TINY_DOCS,
    "attention.md": "# 注意力机制（修订版）\n\n## 交叉注意力\n\n交叉注意力让解码器关注编码器的输出。"
    "它是序列到序列模型的核心部件，也被多模态模型广泛使用。\n",
}
QUESTIONS = ["什么是 LoRA？", "注意力机制是什么？", "混合精度训练的优势是什么？"]


def _write(folder: Path, docs: dict[str, str]) -> Path:
    folder.mkdir(parents=True)
    for name, text in docs.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _variants(doc_id: str, start: int, end: int, text: str) -> set[str]:
    """The variants (A, B) whose `doc_id` has `text` at `start:end`."""
    return {name for name, docs in (("A", TINY_DOCS), ("B", VARIANT_B)) if docs[doc_id][start:end] == text}


def _one_variant(records) -> bool:
    """True when a single variant explains every ``(doc_id, start, end, text)`` record."""
    common = {"A", "B"}
    for record in records:
        common &= _variants(*record)
    return bool(common)


def _check_store(store: IndexStore) -> None:
    doc_ids = {d["doc_id"] for d in store.manifest["documents"]}
    assert {c.doc_id for c in store.chunks} <= doc_ids == set(store.documents)
    assert len(store.chunks) == len(store.embeddings) == len(store.dense) == len(store.sparse)
    assert len(store.sentences) == len(store.sentence_embeddings)
    assert _one_variant((c.doc_id, c.start, c.end, c.text) for c in store.chunks)


def test_readers_see_one_generation_while_a_writer_rebuilds(tmp_path: Path) -> None:
    """A forked writer switches the index 200+ times while threads open it and a long-lived RAG answers."""
    sources = [_write(tmp_path / "a", TINY_DOCS), _write(tmp_path / "b", VARIANT_B)]
    index_dir = tmp_path / "index"
    embedder = KeywordEmbedder()
    IndexBuilder(Config(), embedder).build([sources[0]], index_dir, progress=False)
    config = Config()
    config.answer.mode = "extractive"  # what is under test is the index, not the generator
    rag = RAG(IndexStore.open(index_dir), config, embedder)
    rag.warm_up()
    swaps = 200
    pid = os.fork()
    if pid == 0:  # the writer: rebuild alternately from A and B
        code = 1
        try:
            writer = IndexBuilder(Config(), embedder)
            for number in range(swaps):
                writer.build([sources[(number + 1) % 2]], index_dir, progress=False)
            code = 0
        finally:
            os._exit(code)
    failures: list[str] = []
    opened = [0]
    answered = [0]
    reloads = [0]
    done = threading.Event()

    def open_repeatedly() -> None:
        while not done.is_set():
            try:
                _check_store(IndexStore.open(index_dir, embedder_spec=embedder.spec))
                opened[0] += 1
            except Exception as exc:  # noqa: BLE001 - every failure is the test's finding
                failures.append(f"open: {type(exc).__name__}: {exc}")

    def ask_repeatedly() -> None:
        while not done.is_set():
            for question in QUESTIONS:
                try:
                    reloads[0] += rag.reload()
                    answer = rag.ask(question)
                    hits = [(h.chunk.doc_id, h.chunk.start, h.chunk.end, h.chunk.text) for h in answer.hits]
                    cited = [(c.doc_id, c.start, c.end, c.text) for c in answer.citations]
                    assert _one_variant(hits + cited), (question, hits, cited)
                    answered[0] += 1
                except Exception as exc:  # noqa: BLE001
                    failures.append(f"ask: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=open_repeatedly) for _ in range(2)] + [threading.Thread(target=ask_repeatedly)]
    for thread in threads:
        thread.start()
    _, status = os.waitpid(pid, 0)
    done.set()
    for thread in threads:
        thread.join()
    print(f"{swaps} swaps: {opened[0]} opens, {answered[0]} answers, {reloads[0]} reloads, {len(failures)} failures")
    assert os.waitstatus_to_exitcode(status) == 0, "the writer failed"
    assert failures == [], "\n".join(failures[:3])
    assert opened[0] > 50 and answered[0] > 50
    assert reloads[0] > 10  # the long-lived RAG followed the rebuilds
    assert len(list_generations(index_dir)) <= 3  # old generations are removed once nobody opens them
    _check_store(IndexStore.open(index_dir))


def test_an_open_store_keeps_its_generation_after_rebuilds(tiny_corpus: Path, tmp_path: Path, keyword_embedder) -> None:
    index_dir = tmp_path / "index"
    builder = IndexBuilder(Config(), keyword_embedder)
    builder.build([tiny_corpus], index_dir, progress=False)
    old = IndexStore.open(index_dir)
    rag = RAG(old, Config(), keyword_embedder, follow=False)
    before = [h.chunk.id for h in rag.retrieve("LoRA 是什么", k=3)]
    (tiny_corpus / "attention.md").write_text("# 新\n\n完全不同的新内容，关于别的主题。\n", encoding="utf-8")
    for _ in range(3):  # the old generation's folder is gone after this
        builder.build([tiny_corpus], index_dir, progress=False)
    assert not old.folder.exists()
    assert [h.chunk.id for h in rag.retrieve("LoRA 是什么", k=3)] == before  # mmapped arrays still readable
    assert rag.store is old
    assert rag.reload() and rag.store is not old
    assert "完全不同的新内容" in "".join(rag.store.documents.values())


def test_following_rag_picks_up_a_rebuild_before_the_next_question(tiny_corpus: Path, tmp_path: Path, keyword_embedder) -> None:
    index_dir = tmp_path / "index"
    builder = IndexBuilder(Config(), keyword_embedder)
    builder.build([tiny_corpus], index_dir, progress=False)
    rag = RAG(IndexStore.open(index_dir), Config(), keyword_embedder)
    first = rag.store.generation
    (tiny_corpus / "new.md").write_text("# 量化\n\n量化把权重从 FP16 压缩到 INT4，显著减少显存。\n", encoding="utf-8")
    builder.build([tiny_corpus], index_dir, progress=False)
    hits = rag.retrieve("量化 INT4 显存", k=2)
    assert rag.store.generation != first
    assert hits[0].chunk.doc_id == "new.md"


def test_layout_pointer_and_permissions(tiny_corpus: Path, tmp_path: Path, keyword_embedder) -> None:
    index_dir = tmp_path / "index"
    old_umask = os.umask(0o022)
    try:
        IndexBuilder(Config(), keyword_embedder).build([tiny_corpus], index_dir, progress=False)
    finally:
        os.umask(old_umask)
    generation = current_generation(index_dir)
    assert (index_dir / CURRENT).read_text().strip() == generation.name == generation_id(index_dir)
    assert (generation / MANIFEST).is_file() and not (index_dir / MANIFEST).exists()
    for folder in (index_dir, generation):
        assert folder.stat().st_mode & 0o777 == 0o755  # the umask's permissions, not mkdtemp's 0700


def test_flat_layout_index_is_read_and_converted_by_the_next_build(tiny_corpus: Path, tmp_path: Path, keyword_embedder) -> None:
    index_dir = tmp_path / "index"
    builder = IndexBuilder(Config(), keyword_embedder)
    builder.build([tiny_corpus], index_dir, progress=False)
    generation = current_generation(index_dir)
    for item in generation.iterdir():  # the layout of earlier versions: files directly in the folder
        if item.name != ".readers":
            item.rename(index_dir / item.name)
    shutil.rmtree(generation)
    (index_dir / CURRENT).unlink()
    flat = IndexStore.open(index_dir)
    assert flat.generation == "." and len(flat.chunks) > 0
    assert read_manifest(index_dir)["sources"] == [str(tiny_corpus.resolve())]
    report = builder.build([tiny_corpus], index_dir, progress=False)
    assert report.reused_documents == 2  # the flat index's vectors were reused
    assert (index_dir / CURRENT).is_file() and not (index_dir / MANIFEST).exists()
    assert sorted(p.name for p in index_dir.iterdir()) == sorted([CURRENT, current_generation(index_dir).name])


def test_a_generation_being_opened_is_not_removed(tiny_corpus: Path, tmp_path: Path, keyword_embedder, monkeypatch) -> None:
    """The writer skips a generation whose reader lock is held, and removes it on a later build."""
    import fcntl

    from rag.index.local import READERS_LOCK

    index_dir = tmp_path / "index"
    builder = IndexBuilder(Config(), keyword_embedder)
    builder.build([tiny_corpus], index_dir, progress=False)
    held = current_generation(index_dir)
    with open(held / READERS_LOCK, "rb") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        for _ in range(3):
            builder.build([tiny_corpus], index_dir, progress=False)
        assert held.is_dir()
    builder.build([tiny_corpus], index_dir, progress=False)
    assert not held.exists() and len(list_generations(index_dir)) == 2


def test_seeding_copies_only_the_current_generation(tiny_corpus: Path, tmp_path: Path, keyword_embedder) -> None:
    from rag_ingest.builder import copy_current_generation

    source = tmp_path / "source"
    builder = IndexBuilder(Config(), keyword_embedder)
    for _ in range(2):
        builder.build([tiny_corpus], source, progress=False)
    target = tmp_path / "copy"
    assert copy_current_generation(source, target)
    assert sorted(p.name for p in target.iterdir()) == sorted([CURRENT, current_generation(source).name])
    assert builder.build([tiny_corpus], target, progress=False).reused_documents == 2
    assert not copy_current_generation(tmp_path / "nothing-here", tmp_path / "copy2")
    assert not (tmp_path / "copy2").exists()
