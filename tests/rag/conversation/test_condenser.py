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
