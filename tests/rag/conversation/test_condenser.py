"""Which way a question becomes standalone, cheapest first; the model only when a follow-up needs it."""
from rag.conversation.condenser import Condenser
from rag.conversation.history import Turn
from rag.core.config import ConversationConfig
from rag.core.errors import ModelLoadError
from tests.conftest import CHATML, ScriptedGenerator
from tests.rag.conversation.test_rewrite import TRANSCRIPT

FIRST = Turn("混合精度训练有什么好处？", "混合精度训练可以提高计算速度[1]。", "混合精度训练有什么好处？", ("c1", "c2"),
             transcript=TRANSCRIPT)


def condenser(output: str = "混合精度训练有什么缺点？", new_topic=lambda q: False, **settings) -> tuple[Condenser, ScriptedGenerator]:
    generator = ScriptedGenerator(output, chat_template=CHATML)
    return Condenser(ConversationConfig(**settings), lambda: generator, new_topic=new_topic), generator


def test_without_earlier_turns_or_with_a_question_that_stands_alone_nothing_is_rewritten() -> None:
    chat, generator = condenser()
    assert chat.condense("它有什么缺点？", [], "llm").method == "none"
    standalone = chat.condense("今天北京天气怎么样？", [FIRST], "llm")
    assert (standalone.question, standalone.method, standalone.carried) == ("今天北京天气怎么样？", "as-is", ())
    assert generator.calls == 0


def test_a_follow_up_is_rewritten_by_the_model_and_gets_the_cited_passages() -> None:
    chat, generator = condenser()
    plan = chat.plan("它有什么缺点？", [FIRST], "llm")
    assert plan.needs_model and generator.calls == 0  # planning is cheap: a server queues the rest
    standalone = chat.run(plan)
    assert (standalone.question, standalone.method, standalone.carried) == ("混合精度训练有什么缺点？", "llm", ("c1", "c2"))
    assert generator.calls == 1


def test_when_the_model_answers_instead_the_rule_gives_the_question() -> None:
    chat, _ = condenser(output="精度损失会降低性能[1]。")
    standalone = chat.condense("它有什么缺点？", [FIRST], "llm")
    assert standalone.method == "rule" and standalone.question == "它有什么缺点？（上文：混合精度训练有什么好处？）"


def test_a_model_that_cannot_be_loaded_leaves_the_rule() -> None:
    def broken():
        raise ModelLoadError("no model here")

    chat = Condenser(ConversationConfig(), broken)
    assert chat.condense("它有什么缺点？", [FIRST], "llm").method == "rule"


def test_extractive_answers_use_the_rule_and_never_load_the_model() -> None:
    chat, generator = condenser()
    standalone = chat.condense("它有什么缺点？", [FIRST], "extractive")
    assert standalone.method == "rule" and standalone.carried == ("c1", "c2") and generator.calls == 0
    forced, generator = condenser(rewrite="llm")
    assert forced.condense("它有什么缺点？", [FIRST], "extractive").method == "llm" and generator.calls == 1
    off, _ = condenser(rewrite="none")
    assert off.condense("它有什么缺点？", [FIRST], "llm").method == "none"


def test_a_follow_up_about_an_unknown_thing_and_a_list_reference_need_no_model() -> None:
    chat, generator = condenser(new_topic=lambda q: "比特币" in q)
    assert chat.condense("那比特币呢？", [FIRST], "llm").method == "new-topic"
    listed = Turn("方法有哪些？", "主要包括以下几种：变分自编码器、生成对抗网络和流模型[1]。", cited=("c9",))
    standalone = chat.condense("第三个是怎么实现的？", [listed], "llm")
    assert (standalone.question, standalone.method, standalone.carried) == ("流模型是怎么实现的？", "ordinal", ("c9",))
    assert generator.calls == 0


def test_a_refused_turn_carries_no_passages_and_the_switch_off_keeps_them_out() -> None:
    chat, _ = condenser()
    refused = Turn("什么是 RoPE？", "文档中没有找到这个问题的答案。", abstained=True, cited=("c1",))
    assert chat.condense("它有什么缺点？", [refused], "llm").carried == ()
    off, _ = condenser(carry_citations=False)
    assert off.condense("它有什么缺点？", [FIRST], "llm").carried == ()


def test_a_follow_up_copied_back_gets_the_name_the_model_gives_for_its_pronoun() -> None:
    chat, generator = condenser(output=["Why does it reduce memory use?", "混合精度训练"])
    standalone = chat.condense("Why does it reduce memory use?", [FIRST], "llm")
    assert (standalone.question, standalone.method) == ("Why does 混合精度训练 reduce memory use?", "referent")
    assert standalone.follows_up and standalone.carried == ("c1", "c2")
    assert 'what does "it" refer to' in generator.prompts[1]


ENGLISH_CHAT = (
    {"role": "system", "content": "Answer from the passages."},
    {"role": "user", "content": "Passages: …\n\nQuestion: What does the burst parameter of a token bucket control?"},
    {"role": "assistant", "content": "It controls how bursty the output may be [1]. It defaults to limit [1]."},
)
DRAFTED_IN_ENGLISH = Turn("令牌桶的 burst 参数是做什么用的？", "它控制输出的突发程度[1]。",
                          "What does the burst parameter of a token bucket control?", ("c1",), transcript=ENGLISH_CHAT)


def english_documents(output, answered_from_translation=lambda asked, documents: True):
    generator = ScriptedGenerator(output, chat_template=CHATML)
    chat = Condenser(ConversationConfig(), lambda: generator, documents_language=lambda: "en",
                     answered_from_translation=answered_from_translation)
    return chat, generator


def test_a_chinese_follow_up_after_an_english_draft_is_rewritten_in_english_in_that_chat() -> None:
    chat, generator = english_documents("What is the default value of burst?")
    standalone = chat.condense("它默认是多少？", [DRAFTED_IN_ENGLISH], "llm")
    assert (standalone.question, standalone.method) == ("What is the default value of burst?", "llm")
    assert standalone.translated_from == "它默认是多少？", "answered from the English question, retold in Chinese"
    assert generator.calls == 1 and 'Rewrite the follow-up "它默认是多少？"' in generator.prompts[0]
    assert "bursty" in generator.prompts[0], "the request continues the English chat"


def test_otherwise_the_follow_up_is_rewritten_in_its_own_language_and_then_translated() -> None:
    chat, generator = english_documents(["burst 默认是多少？", "What is the default of burst?"],
                                        answered_from_translation=lambda asked, documents: False)
    standalone = chat.condense("它默认是多少？", [DRAFTED_IN_ENGLISH], "llm")
    assert "把追问“它默认是多少？”改写" in generator.prompts[0]
    assert (standalone.question, standalone.translated_from) == ("What is the default of burst?", "burst 默认是多少？")
    chinese_chat = Turn(DRAFTED_IN_ENGLISH.question, DRAFTED_IN_ENGLISH.answer, DRAFTED_IN_ENGLISH.standalone_question,
                        ("c1",), transcript=TRANSCRIPT)
    chat, generator = english_documents(["burst 默认是多少？", "What is the default of burst?"])
    chat.condense("它默认是多少？", [chinese_chat], "llm")
    assert "把追问“它默认是多少？”改写" in generator.prompts[0], "a Chinese chat is continued in Chinese"


def test_a_referent_named_in_the_english_chat_is_put_into_the_chinese_follow_up_and_translated() -> None:
    chat, generator = english_documents(["它默认是多少？", "burst", "What is the default of burst?"])
    standalone = chat.condense("它默认是多少？", [DRAFTED_IN_ENGLISH], "llm")
    assert 'what does "它" refer to' in generator.prompts[1]
    assert (standalone.question, standalone.method, standalone.translated_from) == (
        "What is the default of burst?", "referent", "burst默认是多少？")


def test_a_long_english_referent_in_a_chinese_follow_up_is_still_translated() -> None:
    chat, generator = english_documents(["它有啥用？", "the burst parameter of the token bucket", "What is the burst parameter for?"])
    standalone = chat.condense("它有啥用？", [DRAFTED_IN_ENGLISH], "llm")
    assert generator.calls == 3, "rewrite, referent, then the translation of the half-Chinese question"
    assert (standalone.question, standalone.translated_from) == (
        "What is the burst parameter for?", "burst parameter of the token bucket有啥用？")  # its article dropped
