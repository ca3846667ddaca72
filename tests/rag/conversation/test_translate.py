"""A question in another language than the documents, translated into theirs before it is searched."""
from rag.conversation.condenser import Condenser
from rag.conversation.translate import QuestionTranslator, documents_language, keeps_names
from rag.core.config import ConversationConfig
from rag.core.schema import Chunk
from tests.conftest import CHATML, ScriptedGenerator


def chunks(*texts: str) -> list[Chunk]:
    return [Chunk(f"c{i}", "doc", text, 0, len(text)) for i, text in enumerate(texts)]


def test_the_documents_language_is_the_language_most_passages_are_in() -> None:
    chinese, english = ["混合精度训练使用两种精度。"] * 9, ["KV cache speeds up decoding."] * 9
    assert documents_language(chunks(*chinese, "KV cache speeds up decoding.")) == "zh"
    assert documents_language(chunks(*english, "混合精度。")) == "en"
    assert documents_language([]) is None
    # as many of each: mixed, so no question is translated
    assert documents_language(chunks(*chinese[:5], *english[:5])) is None


def test_the_model_s_translation_is_kept_only_when_it_is_a_question_in_the_target_language_with_its_names() -> None:
    def translate(reply: str, question: str = "What are the challenges of mixed precision training?") -> str | None:
        return QuestionTranslator(ScriptedGenerator(reply, chat_template=CHATML)).translate(question, "zh")

    assert translate("译文：“混合精度训练的挑战是什么？”") == "混合精度训练的挑战是什么？"
    assert translate("混合精度训练的挑战包括精度损失。") is None  # an answer, not the question
    assert translate("What are the challenges?") is None  # still English
    assert translate("长former如何处理长文档？", "How does Longformer cope with long documents?") is None  # a name translated
    assert translate("资料中没有答案。") is None


def test_names_must_survive_a_translation() -> None:
    assert keeps_names("How did GPT-4 improve over GPT-3?", "GPT-4相比GPT-3有哪些改进？")
    assert not keeps_names("What is the capital city of Australia?", "澳大利亚的首都是哪里？")
    assert keeps_names("What is LoRA?", "什么是lora？")  # case aside


def test_a_name_the_documents_never_write_in_latin_letters_may_be_translated() -> None:
    written = {"longformer"}.__contains__
    in_documents = lambda name: written(name.lower())  # noqa: E731
    assert keeps_names("When did construction of Mohe Airport start?", "漠河机场是哪一年动工的？", in_documents)
    assert not keeps_names("How does Longformer cope with long documents?", "长former如何处理长文档？", in_documents)
    generator = ScriptedGenerator("漠河机场是哪一年动工的？", chat_template=CHATML)
    condensed = Condenser(ConversationConfig(), lambda: generator, documents_language=lambda: "zh", in_documents=in_documents)
    plan = condensed.plan("When did construction of Mohe Airport start?", [], "llm")
    assert condensed.run(plan).question == "漠河机场是哪一年动工的？"
    strict, _ = condenser("漠河机场是哪一年动工的？")  # documents that write every name: the translation is rejected
    assert strict.run(strict.plan("When did construction of Mohe Airport start?", [], "llm")).question.startswith("When")


def condenser(reply: str = "混合精度训练的挑战是什么？", **settings) -> tuple[Condenser, ScriptedGenerator]:
    generator = ScriptedGenerator(reply, chat_template=CHATML)
    chat = Condenser(ConversationConfig(**settings), lambda: generator, documents_language=lambda: "zh")
    return chat, generator


def test_an_english_question_over_chinese_documents_is_searched_in_chinese_with_llm_answers_only() -> None:
    chat, generator = condenser()
    plan = chat.plan("What are the challenges of mixed precision training?", [], "llm")
    assert plan.needs_model and plan.translate_to == "zh" and generator.calls == 0
    standalone = chat.run(plan)
    assert (standalone.question, standalone.method) == ("混合精度训练的挑战是什么？", "translated")
    assert standalone.translated_from == "What are the challenges of mixed precision training?"
    assert not standalone.follows_up

    assert chat.condense("混合精度训练有什么挑战？", [], "llm").method == "none"  # already in the documents' language
    assert chat.condense("What are the challenges?", [], "extractive").method == "none"  # no model for extractive answers
    off, _ = condenser(translate_questions=False)
    assert off.condense("What are the challenges?", [], "llm").method == "none"
    assert generator.calls == 1


def test_a_question_the_model_does_not_translate_is_searched_as_it_is() -> None:
    chat, _ = condenser(reply="Mixed precision has three challenges.")
    standalone = chat.condense("What are the challenges of mixed precision training?", [], "llm")
    assert (standalone.question, standalone.method, standalone.translated_from) == (
        "What are the challenges of mixed precision training?", "none", None)
