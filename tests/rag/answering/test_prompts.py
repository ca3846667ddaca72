"""Prompt building and context fitting, with a fake token counter (1 character = 1 token)."""
from __future__ import annotations

import os

import pytest

from rag.answering.prompts import (
    ANSWER_IN,
    COMPLETION_STOP,
    EXAMPLES,
    LIST_REMINDER,
    REMINDER,
    REVISE,
    SAFETY_TOKENS,
    SYSTEM_PROMPT,
    Passage,
    PromptTooLongError,
    build_answer_prompt,
    chat_messages,
    fit_passages,
    render_completion,
    revision_prompt,
)
from rag.core.errors import ConfigError
from rag.core.language import detect_language
from rag.core.text import split_sentences
from rag.generation.chat import render_chat
from rag.refusal.policy import NO_ANSWER, is_no_answer
from tests.conftest import CHATML

PASSAGES = [
    Passage(1, "h", "AAAA。BBBB。"),  # rendered "[1]AAAA。BBBB。" = 13 characters
    Passage(2, "h", "CCCC。DDDD。"),  # 13
    Passage(3, "h", "EEEE。"),  # 8
]


def render(kept) -> str:
    return "".join(f"[{p.number}]{p.text}" for p in kept)


def fit(budget: int, passages=PASSAGES):
    return fit_passages(passages, render, len, budget)


def test_everything_is_kept_when_it_fits() -> None:
    assert fit(34) == (PASSAGES, (), None)


def test_lowest_ranked_passages_are_dropped_first() -> None:
    kept, dropped, trimmed = fit(33)  # 13 + 13 = 26 fit; [3] needs 8 more and is a single sentence
    assert kept == PASSAGES[:2] and dropped == (3,) and trimmed is None


def test_the_last_kept_passage_is_cut_at_a_sentence_boundary() -> None:
    kept, dropped, trimmed = fit(21)  # 13 for [1], then "[2]CCCC。" = 8
    assert kept == [PASSAGES[0], Passage(2, "h", "CCCC。")]
    assert dropped == (3,) and trimmed == 2


def test_a_passage_whose_first_sentence_does_not_fit_is_dropped_not_cut() -> None:
    kept, dropped, trimmed = fit(20)  # "[2]CCCC。" would need 21
    assert kept == PASSAGES[:1] and dropped == (2, 3) and trimmed is None


def test_even_the_top_passage_is_cut_when_only_its_first_sentence_fits() -> None:
    kept, dropped, trimmed = fit(8)
    assert kept == [Passage(1, "h", "AAAA。")] and dropped == (2, 3) and trimmed == 1
    assert fit(7) == ([], (1, 2, 3), None)


def test_original_numbers_are_kept() -> None:
    passages = [Passage(4, "h", "AAAA。"), Passage(7, "h", "BBBB。CCCC。"), Passage(9, "h", "DDDD。")]
    kept, dropped, trimmed = fit(16, passages)
    assert [p.number for p in kept] == [4, 7] and kept[1].text == "BBBB。" and dropped == (9,) and trimmed == 7


def test_english_and_line_break_boundaries() -> None:
    passages = [Passage(1, "", "First one. Second one? Third!"), Passage(2, "", "第一行\n第二行。第三句；")]
    assert fit(len("[1]First one. Second one?"), passages)[0] == [Passage(1, "", "First one. Second one?")]
    kept, _, _ = fit(len("[1]First one. Second one? Third![2]第一行"), passages)
    assert kept[1].text == "第一行"


@pytest.mark.parametrize("budget", range(0, 40))
def test_never_cut_inside_a_sentence_and_never_over_budget(budget: int) -> None:
    text = "Mixed precision is fast. 混合精度节省显存。It needs loss scaling! 另一句？\n最后一行"
    passages = [Passage(1, "", text), Passage(2, "", "x。y。")]
    kept, _, _ = fit_passages(passages, render, len, budget)
    assert len(render(kept)) <= budget
    boundaries = {end for _, end in split_sentences(text)}
    for passage in kept:
        original = next(p for p in passages if p.number == passage.number).text
        assert original.startswith(passage.text)
        assert passage.text == original or len(passage.text) in boundaries


def test_a_question_too_long_for_the_context_is_a_clear_error() -> None:
    with pytest.raises(PromptTooLongError, match="shorter question"):
        fit_passages(PASSAGES, lambda kept: "Q" * 50 + render(kept), len, 40)


@pytest.mark.parametrize(
    "text, language",
    [
        ("混合精度训练有什么好处？", "zh"),
        ("KV cache 是什么？", "zh"),
        ("LoRA和QLoRA的区别", "zh"),
        ("SemanticChunker 语义分块", "zh"),  # one long Latin word: still a Chinese query
        ("vLLM TensorRT-LLM 推理优化", "zh"),
        ("How does LoRA work? 中文", "en"),
        ("What is QLoRA?", "en"),
        ("What is the KV cache used for in 大模型 inference?", "en"),
        ("", "en"),
        ("？？", "en"),
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_completion_prompt_shape() -> None:
    passages = [Passage(1, "训练 > 5. 混合精度训练的优势是什么？", "优势如下：\n\n* 更快。\n* 更省显存。")]
    prompt = render_completion("混合精度训练有什么好处？", passages)
    assert prompt.endswith("资料：\n[1] 训练 > 5. 混合精度训练的优势是什么？\n优势如下：\n* 更快。\n* 更省显存。\n问题：混合精度训练有什么好处？\n答案：")
    assert NO_ANSWER["zh"] in prompt and all(example.question in prompt for example in EXAMPLES)
    english = render_completion("What are the benefits?", passages)
    assert english.endswith("Question: What are the benefits?\nAnswer:")
    # The examples are a fixed prefix, so llama.cpp can reuse its cached state between questions.
    prefix = render_completion("Q", [])[: -len("Passages:\n\nQuestion: Q\nAnswer:")]
    assert prompt.startswith(prefix) and english.startswith(prefix)


class FakeGenerator:
    """Counts characters as tokens; optionally has a chat template."""

    spec = "fake"

    def __init__(self, context_size: int, chat_template: str | None = None) -> None:
        self.context_size = context_size
        self.chat_template = chat_template
        self.special_tokens = {"bos_token": "<s>", "eos_token": "</s>"}

    def count_tokens(self, text: str) -> int:
        return len(text)


def test_answer_prompt_reserves_the_answer_tokens() -> None:
    question = "混合精度训练有什么好处？"
    long_passages = [Passage(n, f"标题{n}", "混合精度训练更快。" * 20) for n in range(1, 6)]
    fixed = len(render_completion(question, []))
    generator = FakeGenerator(context_size=fixed + 350)
    prompt = build_answer_prompt(question, long_passages, generator, max_tokens=100)
    assert prompt.prompt_tokens <= generator.context_size - 100 - SAFETY_TOKENS
    assert prompt.prompt_tokens == len(prompt.text) and not prompt.chat and prompt.stop == COMPLETION_STOP
    assert prompt.passages[0] == long_passages[0] and prompt.trimmed == 2 and prompt.dropped == (3, 4, 5)
    assert prompt.passages[1].text.endswith("。") and len(prompt.passages[1].text) < len(long_passages[1].text)
    assert prompt.language == "zh" and prompt.text.endswith("答案：")


def test_answer_prompt_with_no_room_for_any_passage_is_an_error() -> None:
    question = "混合精度训练有什么好处？"
    generator = FakeGenerator(context_size=len(render_completion(question, [])) + 100 + SAFETY_TOKENS + 3)
    with pytest.raises(PromptTooLongError, match="no passage"):
        build_answer_prompt(question, [Passage(1, "h", "一句很长很长的话。")], generator, max_tokens=100)


GEMMA_LIKE = (
    "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'system' %}"
    "{{ raise_exception('System role not supported') }}{% endif %}"
    "<start_of_turn>{{ m['role'] }}\n{{ m['content'] }}<end_of_turn>\n{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)


def test_chat_prompt_uses_the_template_with_system_rules() -> None:
    generator = FakeGenerator(context_size=4000, chat_template=CHATML)
    prompt = build_answer_prompt("What is QLoRA?", [Passage(2, "微调 > QLoRA", "QLoRA 把冻结的权重量化到 4 bit。")], generator)
    assert prompt.chat and prompt.language == "en" and "</s>" in prompt.stop and "<|im_end|>" in prompt.stop
    assert prompt.text.startswith(f"<|im_start|>system\n{SYSTEM_PROMPT}<|im_end|>")
    assert (f"<|im_start|>user\n{ANSWER_IN['en']}\n<passages>\n[2] 微调 > QLoRA\nQLoRA 把冻结的权重量化到 4 bit。\n</passages>\n\n"
            f"Question: What is QLoRA?\n{REMINDER['en']}<|im_end|>") in prompt.text
    assert prompt.text.endswith("<|im_start|>assistant\n")


def test_the_system_prompt_is_one_prefix_for_both_languages() -> None:
    chinese = chat_messages("混合精度训练有什么好处？", [Passage(1, "h", "更快。")])
    english = chat_messages("What is QLoRA?", [Passage(1, "h", "更快。")])
    assert chinese[0] == english[0]  # llama.cpp reuses the evaluated system prompt across questions
    # The instruction opens the user turn (shared with the previous question of the same language, so it is
    # reused too); only a short reminder follows the question, where small models heed it.
    other = chat_messages("KV cache 是什么？", [Passage(1, "另一个", "不同的资料。")])
    assert chinese[1]["content"].startswith(f"{ANSWER_IN['zh']}\n<passages>")
    assert os.path.commonprefix([chinese[1]["content"], other[1]["content"]]).startswith(ANSWER_IN["zh"])
    assert english[1]["content"].startswith(ANSWER_IN["en"])
    assert other[1]["content"].endswith(REMINDER["zh"]) and english[1]["content"].endswith(REMINDER["en"])
    assert all("[" in REMINDER[lang] and len(REMINDER[lang]) < len(ANSWER_IN[lang]) for lang in ("zh", "en"))
    # A question asking for several things (好处) is reminded to list every item, one per line.
    assert chinese[1]["content"].endswith(LIST_REMINDER["zh"]) and "每条一行" in LIST_REMINDER["zh"]


def test_templates_without_a_system_role_get_the_rules_in_the_user_turn() -> None:
    messages = chat_messages("混合精度训练有什么好处？", [Passage(1, "h", "更快。")])
    text = render_chat(GEMMA_LIKE, messages, eos_token="<eos>")
    # No BOS text: llama.cpp adds the BOS token itself when it tokenizes the prompt.
    assert text.startswith("<start_of_turn>user\n你是一个严谨的问答助手")
    assert "资料中没有答案" in text and text.endswith("<start_of_turn>model\n") and text.count("<start_of_turn>") == 2


def test_no_answer_phrase_is_recognised() -> None:
    assert is_no_answer("资料中没有答案。") and is_no_answer(" The documents do not answer this.")
    assert not is_no_answer("混合精度训练更快[1]。")


def test_a_broken_chat_template_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="chat_template=''"):
        render_chat("{% for m in messages %}{{ m['content'] ", [{"role": "user", "content": "hi"}])
    with pytest.raises(ConfigError, match="Only users"):
        render_chat("{{ raise_exception('Only users') }}", [{"role": "user", "content": "hi"}])


def test_a_revision_continues_the_conversation_and_needs_room() -> None:
    passages = [Passage(1, "微调 > QLoRA", "QLoRA 把冻结的权重量化到 4 bit。")]
    chat = FakeGenerator(context_size=4000, chat_template=CHATML)
    prompt = build_answer_prompt("什么是 QLoRA？", passages, chat, max_tokens=100)
    revision = revision_prompt(prompt, "什么是 QLoRA？", "QLoRA 是一种优化器[1]。", chat, max_tokens=100)
    assert revision is not None and revision.text.startswith(prompt.text)
    assert revision.text[len(prompt.text):].startswith("QLoRA 是一种优化器[1]。<|im_end|>\n<|im_start|>user\n" + REVISE["zh"])
    assert revision.passages == prompt.passages and revision.prompt_tokens == len(revision.text)
    # No room left for another answer of max_tokens: no revision.
    tight = FakeGenerator(context_size=prompt.prompt_tokens + 100 + SAFETY_TOKENS + 10, chat_template=CHATML)
    assert revision_prompt(prompt, "什么是 QLoRA？", "QLoRA 是一种优化器[1]。", tight, max_tokens=100) is None
    # A base model's few-shot prompt is not a conversation.
    base = build_answer_prompt("什么是 QLoRA？", passages, FakeGenerator(context_size=4000), max_tokens=100)
    assert revision_prompt(base, "什么是 QLoRA？", "QLoRA 是一种优化器[1]。", FakeGenerator(context_size=4000)) is None


def test_a_comparison_is_reminded_of_each_thing_it_compares() -> None:
    from rag.answering.answerer import clean_generated
    from rag.answering.prompts import COMPARISON_REMINDER

    chinese = chat_messages("LoRA 和 Adapter Tuning 分别是怎么工作的？", [Passage(1, "h", "更快。")])
    assert chinese[1]["content"].endswith(COMPARISON_REMINDER["zh"].format(things="LoRA、Adapter Tuning"))
    english = chat_messages("What is the difference between LoRA and QLoRA?", [Passage(1, "h", "faster.")])
    assert english[1]["content"].endswith("(In English, answer for each of LoRA and QLoRA, one line each, each with [n].)")
    # an echo of it is not part of the answer
    echoed = f"{COMPARISON_REMINDER['zh'].format(things='LoRA、Adapter Tuning')}LoRA 训练低秩矩阵[1]。"
    assert clean_generated(echoed) == "LoRA 训练低秩矩阵[1]。"
