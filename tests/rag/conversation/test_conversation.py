"""Conversations through the public API on a tiny corpus, with a scripted chat model standing in for the LLM."""
from pathlib import Path

import pytest

from rag import Conversation, Turn
from rag.api import RAG
from rag.core.config import Config
from rag.index.local import IndexStore
from rag_ingest.builder import IndexBuilder
from tests.conftest import CHATML, ScriptedGenerator

LORA = "LoRA 通过低秩矩阵适配预训练模型，只训练很少的参数[1]。"


@pytest.fixture
def make_rag(tiny_corpus: Path, tmp_path: Path, keyword_embedder):
    IndexBuilder(Config(), keyword_embedder).build([tiny_corpus], tmp_path / "index", progress=False)

    def make(outputs: list[str], **limits) -> RAG:
        config = Config()
        config.rerank.min_relevance = 0.0  # the keyword embedder's relevance means nothing; nothing is refused
        config.answer.mode = "llm"
        config.answer.semantic_top_k = 0
        for key, value in limits.items():
            setattr(config.limits, key, value)
        return RAG(IndexStore.open(tmp_path / "index"), config, keyword_embedder,
                   generator=ScriptedGenerator(outputs, chat_template=CHATML))

    return make


def test_a_follow_up_is_rewritten_continuing_the_prompt_the_model_read_last(make_rag) -> None:
    rag = make_rag([LORA, "LoRA 训练哪些参数？", LORA])
    chat = rag.conversation()
    assert isinstance(chat, Conversation)
    first = chat.ask("什么是 LoRA？")
    second = chat.ask("它训练哪些参数？")
    assert (second.question, second.standalone_question, second.standalone_method) == (
        "它训练哪些参数？", "LoRA 训练哪些参数？", "llm")
    prompts = rag.answerer.generator.prompts
    assert prompts[1].startswith(prompts[0] + first.raw)  # llama.cpp reads only the request after its last state
    assert "LoRA 训练哪些参数？" in prompts[2] and "它训练哪些参数" not in prompts[2]  # the answer uses the rewrite
    assert not second.abstained and "LoRA" in second.citations[0].text
    assert second.to_json()["standalone_question"] == "LoRA 训练哪些参数？"
    assert second.timings["rewrite_ms"] > 0 and second.timings["total_ms"] >= second.timings["rewrite_ms"]
    assert len(chat) == 2 and chat.last is second
    chat.clear()
    assert chat.ask("什么是 LoRA？").standalone_method == "none"


def test_history_sent_as_plain_text_is_recognised_by_its_text(make_rag) -> None:
    rag = make_rag([LORA, "LoRA 训练哪些参数？", LORA])
    first = rag.ask("什么是 LoRA？")
    second = rag.ask("它训练哪些参数？", history=[{"question": "什么是 LoRA？", "answer": first.text}])
    prompts = rag.answerer.generator.prompts
    assert second.standalone_method == "llm" and prompts[1].startswith(prompts[0] + first.raw)


def test_extractive_follow_ups_use_the_rule_and_never_call_the_model(make_rag) -> None:
    rag = make_rag([LORA])
    history = [Turn("什么是 LoRA？", "LoRA 通过低秩矩阵适配预训练模型[1]。")]
    answer = rag.ask("它训练哪些参数？", mode="extractive", history=history)
    assert answer.standalone_question == "它训练哪些参数？（上文：什么是 LoRA？）" and answer.standalone_method == "rule"
    assert rag.answerer.generator.calls == 0 and "LoRA" in answer.text


def test_the_previous_answer_s_passages_join_the_candidates(make_rag) -> None:
    rag = make_rag([LORA])
    lora = next(c for c in rag.store.chunks if "LoRA" in c.text)
    alone = rag.retrieve("KV cache", k=10, mode="sparse")  # BM25 finds only passages sharing a word
    assert lora.id not in {h.chunk.id for h in alone}
    carried = rag.retrieve("KV cache", k=10, mode="sparse", carried=[lora.id, "gone-since-a-rebuild"])
    hit = next(h for h in carried if h.chunk.id == lora.id)
    assert hit.scores["carried"] == 1.0 and "relevance" in hit.scores  # judged like any other candidate


def test_a_rule_rewrite_stays_within_the_question_limits(make_rag) -> None:
    rag = make_rag([LORA], max_question_chars=60)
    history = [Turn("什么是 LoRA？" + "很" * 50, "LoRA……")]
    answer = rag.ask("它训练哪些参数？" + "呢" * 40, mode="extractive", history=history)
    assert len(answer.standalone_question) == 60 and answer.standalone_method == "rule"


def test_a_follow_up_is_answered_in_the_language_it_was_asked_in(make_rag) -> None:
    rag = make_rag([LORA, "LoRA 训练哪些参数？", "LoRA trains few parameters [1]."])
    chat = rag.conversation()
    chat.ask("什么是 LoRA？")
    assert chat.ask("Which parameters does it train?").language == "en"


def test_a_follow_up_the_model_declines_is_quoted_when_the_evidence_holds_unless_switched_off(make_rag) -> None:
    outputs = [LORA, "LoRA 训练哪些参数？", "资料中没有答案。"]
    chat = make_rag(outputs).conversation()
    chat.ask("什么是 LoRA？")
    second = chat.ask("它训练哪些参数？")
    assert not second.abstained and second.mode == "extractive" and second.fallback and "LoRA" in second.text
    rag = make_rag(outputs)
    rag.config.conversation.quote_when_declined = False
    chat = rag.conversation()
    chat.ask("什么是 LoRA？")
    assert chat.ask("它训练哪些参数？").abstained


def test_an_english_question_is_searched_in_the_documents_language_and_answered_in_english(make_rag) -> None:
    rag = make_rag(["LoRA 训练哪些参数？", "LoRA trains only a few parameters [1]."])
    answer = rag.ask("Which parameters does LoRA train?")
    assert (answer.question, answer.standalone_question, answer.standalone_method) == (
        "Which parameters does LoRA train?", "LoRA 训练哪些参数？", "translated")
    answer_prompt = rag.answerer.generator.prompts[1]
    assert "Which parameters does LoRA train?" in answer_prompt and "LoRA 训练哪些参数？" not in answer_prompt
    assert answer.timings["rewrite_ms"] > 0 and not answer.abstained
