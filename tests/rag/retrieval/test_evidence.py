"""EvidenceScorer: semantic_rank checked by hand on vectors laid out in a plane; the question measures."""
from __future__ import annotations

import math

import numpy as np

from rag.core.schema import Chunk, Hit
from rag.index.dense import DenseIndex
from rag.index.local import IndexStore
from rag.index.sparse import SparseIndex
from rag.retrieval.evidence import EvidenceScorer


def unit(degrees: float, dim: int = 4) -> np.ndarray:
    vector = np.zeros(dim, np.float32)
    vector[0], vector[1] = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return vector


def store_with_sentences(angles_per_chunk: list[list[float]]) -> IndexStore:
    """Chunks whose evidence sentences point at the given angles (one 10-character sentence each)."""
    chunks, sentences, vectors = [], [], []
    for row, angles in enumerate(angles_per_chunk):
        text = "".join(f"句子{row:03d}-{i:03d}。" for i in range(len(angles)))
        chunks.append(Chunk(f"c{row}", "d", text, 0, len(text)))
        for i, angle in enumerate(angles):
            sentences.append((row, 10 * i, 10 * i + 10))
            vectors.append(unit(angle))
    embeddings = np.stack([unit(0.0) for _ in chunks])
    return IndexStore(
        path=None, manifest={}, chunks=chunks, dense=DenseIndex.build(embeddings),
        sparse=SparseIndex.build([c.text for c in chunks]), embeddings=embeddings,
        sentences=np.array(sentences, np.int64), sentence_embeddings=np.stack(vectors),
    )


def test_rank_counts_the_corpus_sentences_closer_than_the_chunks_best() -> None:
    # Chunk 0 holds the sentences at 10° and 50°, chunk 1 the one at 20°, chunk 2 many far-away ones.
    store = store_with_sentences([[10.0, 50.0], [20.0], [90.0 + i * 0.1 for i in range(200)]])
    scorer = EvidenceScorer(store, lambda text: unit(12.0))
    assert scorer.semantic_rank("answer", store.chunks[0]) == (0, 0, 10)     # 10° is the closest of all
    assert scorer.semantic_rank("answer", store.chunks[1]) == (1, 0, 10)     # 20°: only 10° is closer
    rank, _, _ = scorer.semantic_rank("answer", store.chunks[2])
    assert rank == 3                                                           # 10°, 20° and 50° are closer


def test_a_closest_sentence_barely_above_the_median_ranks_nothing_with_a_margin() -> None:
    # The text points at 90°; chunk 0's sentence at 88° is the corpus' closest in both stores.
    many = 200
    near = store_with_sentences([[88.0], [95.0 + i * 4.0 / many for i in range(many)]])  # the rest 5-9° away
    far = store_with_sentences([[88.0], [150.0 + i * 0.01 for i in range(many)]])        # the rest 60° away
    for store in (near, far):
        assert EvidenceScorer(store, lambda text: unit(90.0)).semantic_rank("claim", store.chunks[0])[0] == 0
    # cos 2° - median cos ~7° = 0.007 is under a 0.05 margin: worst rank; cos 2° - cos 60° = 0.5 is not.
    assert EvidenceScorer(near, lambda text: unit(90.0)).semantic_rank("claim", near.chunks[0], min_margin=0.05)[0] == len(near.sentences)
    assert EvidenceScorer(far, lambda text: unit(90.0)).semantic_rank("claim", far.chunks[0], min_margin=0.05)[0] == 0


def test_a_small_corpus_ranks_too_and_its_margin_decides() -> None:
    # Three sentences: no size below which meaning stops counting; the margin over the median does the work.
    store = store_with_sentences([[10.0], [20.0], [80.0]])
    scorer = EvidenceScorer(store, lambda text: unit(10.0))
    assert scorer.semantic_rank("answer", store.chunks[0]) == (0, 0, 10)
    assert scorer.semantic_rank("answer", store.chunks[1])[0] == 1
    # cos 0° - median(cos 0°, cos 10°, cos 70°) = 1 - 0.985 = 0.015: under a 0.05 margin, over a 0.01 one
    assert scorer.semantic_rank("answer", store.chunks[0], min_margin=0.05)[0] == len(store.sentences)
    assert scorer.semantic_rank("answer", store.chunks[0], min_margin=0.01)[0] == 0


def store_with_texts(texts: list[str]) -> IndexStore:
    chunks = [Chunk(f"c{row}", "d", text, 0, len(text)) for row, text in enumerate(texts)]
    embeddings = np.stack([unit(0.0) for _ in chunks])
    return IndexStore(
        path=None, manifest={}, chunks=chunks, dense=DenseIndex.build(embeddings),
        sparse=SparseIndex.build([c.text for c in chunks]), embeddings=embeddings,
        sentences=np.zeros((0, 3), np.int64), sentence_embeddings=np.zeros((0, 4), np.float32),
    )


def test_unseen_name_flags_a_name_the_corpus_never_mentions() -> None:
    store = store_with_texts(["LoRA 在注意力层旁加低秩矩阵。", "多个 GPU 组成流水线。"])
    scorer = EvidenceScorer(store, lambda text: unit(0.0))
    assert scorer.question("RoPE 是怎么实现的？").unseen_name == 1.0
    assert scorer.question("What is QLoRA compared with LoRA?").unseen_name == 1.0
    # Names the corpus has, in any case or as an acronym plural, and plain words are not flagged.
    assert scorer.question("lora 的原理是什么？").unseen_name == 0.0
    assert scorer.question("Why use several GPUs for LoRA?").unseen_name == 0.0
    assert scorer.question("Why does training need a pipeline?").unseen_name == 0.0
    assert scorer.uses_name("LoRA") and scorer.uses_name("GPUs") and not scorer.uses_name("Mohe")


def test_threads_share_the_scorers_caches(monkeypatch) -> None:
    """Eight threads through caches of two entries, so nearly every call evicts, with the interpreter switching
    threads as often as it can: every result is the one a single thread gets. (The unguarded check-then-evict
    caches this replaced raised "dictionary changed size during iteration" or KeyError here.) Tokenising is
    made cheap so the threads spend their time in the caches."""
    import sys
    import threading

    from rag.retrieval import evidence

    monkeypatch.setattr(evidence, "TERM_CACHE_SIZE", 2)
    monkeypatch.setattr(evidence, "SIMILARITY_CACHE_SIZE", 2)
    monkeypatch.setattr(evidence, "tokenize", str.split)
    store = store_with_sentences([[0.0, 40.0], [10.0], [20.0, 60.0], [30.0], [50.0], [70.0, 80.0]])
    vectors = {f"text {n}": unit(15.0 * n) for n in range(6)}
    scorer = EvidenceScorer(store, lambda text: vectors[text])
    calls = [(f"text {n % 6}", store.chunks[(n * 5) % 6]) for n in range(3000)]

    def run(call: tuple[str, Chunk]) -> tuple:
        text, chunk = call
        return scorer.hits(text, [Hit(chunk, 0.0)]), scorer.semantic_rank(text, chunk, min_margin=0.01)

    expected = [run(call) for call in calls]
    results: list[list] = [[] for _ in range(8)]
    errors: list[BaseException] = []

    def worker(out: list) -> None:
        try:
            out.extend(run(call) for call in calls)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=worker, args=(out,)) for out in results]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == [] and all(out == expected for out in results)
