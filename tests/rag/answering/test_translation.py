"""A checked English answer retold in Chinese, sentence by sentence (`rag.answering.translation`)."""
from pathlib import Path

import pytest

from rag.answering.answerer import Retelling, Token
from rag.answering.citations import CitationChecker
from rag.answering.translation import AnswerTranslator, acceptable
from rag.api import RAG
from rag.core.config import Config
from rag.core.schema import Chunk
from rag_ingest.builder import IndexBuilder
from tests.conftest import CHATML, ScriptedGenerator, scripted_rag

README = """# ratekit

## Buckets

A token bucket refills at 5 tokens per second. By default, load_config() does not override existing settings.

## Storage

Buckets are kept in memory unless a Redis URL is given.
"""


def test_a_translation_is_shown_only_in_the_target_language_with_every_number_name_and_code_span() -> None:
    source = "A token bucket refills at 5 tokens per second."
    assert acceptable(source, "令牌桶每秒补充 5 个令牌。", "zh")
    assert not acceptable(source, "令牌桶每秒补充五个令牌。", "zh")  # the number was lost
    assert not acceptable(source, "A token bucket refills quickly.", "zh")  # not translated
    assert not acceptable(source, "资料中没有答案。", "zh")
    assert not acceptable(source, "令牌桶每秒补充 5 个令牌[1]。", "zh")  # an answer with markers, not a translation
    assert acceptable("load_config() keeps settings.", "LOAD_CONFIG() 保留设置。", "zh")  # case aside
    assert not acceptable("load_config() keeps settings.", "加载配置函数保留设置。", "zh")  # the name was translated
    assert not acceptable(source, "令牌桶每秒补充 50 个令牌。", "zh")  # "5" is not "50"
    assert not acceptable("It is not thread-safe.", "它是线程安全的。", "zh")  # the "not" was lost
    assert acceptable("It doesn’t override existing settings.", "它不会覆盖已有的设置。", "zh")


def test_a_label_or_bullet_the_model_puts_before_its_translation_is_dropped() -> None:
    for reply in ("译文：令牌桶每秒补充 5 个令牌。", "- 令牌桶每秒补充 5 个令牌。"):
        translator = AnswerTranslator(ScriptedGenerator(reply, chat_template=CHATML))
        assert translator.sentence("A token bucket refills at 5 tokens per second.", "zh") == "令牌桶每秒补充 5 个令牌。"


def test_each_kept_sentence_is_translated_and_keeps_its_citation() -> None:
    text = README[README.index("A token"):README.index("## Storage")].strip()
    chunk = Chunk("c0", "readme.md", text, 0, len(text))
    checked = CitationChecker().check(
        "A token bucket refills at 5 tokens per second [1]. Paris is the capital of France [1].", {1: chunk}, "en",
    )
    assert [s.status for s in checked.sentences] == ["kept", "removed"]
    generator = ScriptedGenerator(["令牌桶每秒补充 5 个令牌。"], chat_template=CHATML)
    translator = AnswerTranslator(generator)
    assert translator.usable("zh") and translator.usable("en") and not translator.usable("fr")
    retold = translator.answer(checked, "zh")
    assert retold.text == "令牌桶每秒补充 5 个令牌[1]。" and retold.citations == checked.citations
    assert "A token bucket refills at 5 tokens per second." in generator.prompts[0]
    lost = AnswerTranslator(ScriptedGenerator(["令牌桶每秒补充令牌。"], chat_template=CHATML)).answer(checked, "zh")
    assert lost.text.startswith("A token bucket refills at 5 tokens per second")  # the number was dropped: English stays
    assert not AnswerTranslator(ScriptedGenerator("x")).usable("zh")  # a base model has no chat to ask


def test_a_list_item_shown_whole_is_translated_whole_on_its_own_line() -> None:
    text = "- **Refill**: a token bucket refills at 5 tokens per second.\n- **Storage**: buckets are kept in memory."
    chunk = Chunk("c0", "readme.md", text, 0, len(text))
    checked = CitationChecker().check("- Refill [1].\n- Storage [1].", {1: chunk}, "en", question="What are the features?")
    assert [s.spelled_out.split(":")[0] for s in checked.sentences] == ["Refill", "Storage"]
    generator = ScriptedGenerator(["补充：令牌桶每秒补充 5 个令牌。", "存储：桶保存在内存中。"], chat_template=CHATML)
    retold = AnswerTranslator(generator).answer(checked, "zh")
    assert "Refill: a token bucket refills at 5 tokens per second." in generator.prompts[0]  # the whole item
    assert retold.text == "- 补充：令牌桶每秒补充 5 个令牌[1]。\n- 存储：桶保存在内存中[1]。"


def rag_over(tmp_path: Path, embedder, name: str, text: str):
    """A maker of scripted chat-model RAGs (outputs, ``[answer]`` keys) over one document `name` holding `text`."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / name).write_text(text, encoding="utf-8")
    IndexBuilder(Config(), embedder).build([tmp_path / "docs"], tmp_path / "index", progress=False)

    def make(outputs: list[str], **answer) -> RAG:
        return scripted_rag(tmp_path / "index", embedder, outputs, chat_template=CHATML, **answer)

    return make


@pytest.fixture
def readme_rag(tmp_path: Path, keyword_embedder):
    return rag_over(tmp_path, keyword_embedder, "readme.md", README)


def test_a_chinese_question_over_english_documents_is_drafted_in_english_and_retold_in_chinese(readme_rag) -> None:
    rag = readme_rag(["A token bucket refills at 5 tokens per second [1].", "令牌桶每秒补充 5 个令牌。"])
    english, asked = "How fast does a token bucket refill?", "令牌桶补充得多快？"
    events = list(rag.answerer.stream(english, rag.retrieve(english), language="zh", asked=asked))
    answer = events[-1]
    retelling = [event for event in events if isinstance(event, Retelling)]
    assert retelling == [Retelling(0, 1, "zh"), Retelling(1, 1, "zh")], "how far the retelling is, one sentence"
    assert events.index(retelling[0]) > max(i for i, event in enumerate(events) if isinstance(event, Token))
    draft_prompt, translation_prompt = rag.answerer.generator.prompts
    assert english in draft_prompt and asked not in draft_prompt and "Answer briefly in English" in draft_prompt
    assert "A token bucket refills at 5 tokens per second." in translation_prompt
    assert translation_prompt.startswith(draft_prompt), "the request continues the answer's chat (cached for a follow-up)"
    assert answer.text == "令牌桶每秒补充 5 个令牌[1]。" and answer.language == "zh" and answer.fallback is None
    assert "refills at 5 tokens per second" in answer.citations[0].text  # the citation opens the English sentence
    assert "translate_ms" in answer.timings

    off = readme_rag(["令牌桶每秒补充 5 个令牌[1]。"], english_drafts=False)
    list(off.answerer.stream(english, off.retrieve(english), language="zh", asked=asked))
    assert asked in off.answerer.generator.prompts[0]  # the model reads the person's question and answers in Chinese


def test_the_narrow_retry_also_drafts_in_english(readme_rag) -> None:
    rag = readme_rag(["The documents do not answer this.", "A token bucket refills at 5 tokens per second [1].",
                      "令牌桶每秒补充 5 个令牌。"], narrow_retry=True)
    english, asked = "How fast does a token bucket refill?", "令牌桶补充得多快？"
    answer = list(rag.answerer.stream(english, rag.retrieve(english), language="zh", asked=asked))[-1]
    retry = rag.answerer.generator.prompts[1]
    assert english in retry and asked not in retry and "Answer briefly in English" in retry
    assert answer.text == "令牌桶每秒补充 5 个令牌[1]。" and answer.attempts == 2


def test_a_chinese_draft_declined_in_english_is_refused_in_chinese(readme_rag) -> None:
    rag = readme_rag(["The documents do not answer this."])
    english, asked = "Which databases can store buckets besides Redis?", "除了 Redis 还能存在哪些数据库里？"
    answer = list(rag.answerer.stream(english, rag.retrieve(english), language="zh", asked=asked))[-1]
    assert answer.abstained and answer.language == "zh" and rag.answerer.generator.calls == 1


def test_a_latin_word_of_the_person_s_question_stays_in_the_translation() -> None:
    source = "The burst parameter controls how bursty the output may be."
    assert acceptable(source, "突发参数控制输出的突发程度。", "zh")
    assert not acceptable(source, "突发参数控制输出的突发程度。", "zh", keep=["burst", "PyrateLimiter"])
    assert acceptable(source, "burst 参数控制输出的突发程度。", "zh", keep=["burst", "PyrateLimiter"])
    generator = ScriptedGenerator("burst 参数控制输出的突发程度。", chat_template=CHATML)
    assert AnswerTranslator(generator).sentence(source, "zh", keep=["burst", "PyrateLimiter"]) == "burst 参数控制输出的突发程度。"
    assert "burst 不要翻译" in generator.prompts[0] and "PyrateLimiter" not in generator.prompts[0]  # only the words it uses


def test_a_chat_that_leaves_no_room_is_not_continued_the_request_follows_the_system_prompt_alone() -> None:
    generator = ScriptedGenerator("令牌桶每秒补充 5 个令牌。", chat_template=CHATML)
    source = "A token bucket refills at 5 tokens per second."
    chat = [{"role": "system", "content": "Answer from the passages."}, {"role": "user", "content": "passage " * 1000},
            {"role": "assistant", "content": source + " [1]"}]
    assert AnswerTranslator(generator).sentence(source, "zh", chat=chat) == "令牌桶每秒补充 5 个令牌。"
    assert generator.calls == 1 and "passage passage" not in generator.prompts[0]
    short = [chat[0], {"role": "user", "content": "Which rate?"}, chat[2]]
    AnswerTranslator(generator).sentence(source, "zh", chat=short)
    assert generator.prompts[1].index("Which rate?") < generator.prompts[1].index("翻译成中文")


NOTES = """# 限流

## 令牌桶

令牌桶每秒补充 5 个令牌。桶默认保存在内存中，配置 Redis 地址后保存在 Redis 里。
"""


def test_an_english_translation_keeps_names_as_written_and_may_be_longer_and_plural() -> None:
    source = "参数高效微调 7B 模型只需存储几百 MB 的适配器权重，由多块 GPU 训练。"
    english = ("Parameter-efficient fine-tuning of a 7B model stores only a few hundred MB of adapter weights, "
               "trained on several GPUs.")
    assert acceptable(source, english, "en")  # about 3x the characters; "GPU" comes back as "GPUs"
    assert not acceptable(source, english.replace("7B", "7"), "en")  # "7B" is one name, not the number 7
    assert not acceptable(source, "参数高效微调只需存储适配器权重。", "en")  # not translated
    assert not acceptable(source, english + " " + english * 6, "en")  # ran on


def test_a_translation_unusable_in_the_answer_s_chat_is_asked_for_once_more_after_the_system_prompt_alone() -> None:
    generator = ScriptedGenerator(["The bucket refills [1] 5 tokens per second.", "The bucket refills 5 tokens per second."],
                                  chat_template=CHATML)
    chat = [{"role": "system", "content": "根据资料回答。"}, {"role": "user", "content": "资料：令牌桶每秒补充 5 个令牌。"},
            {"role": "assistant", "content": "令牌桶每秒补充 5 个令牌[1]。"}]
    translation = AnswerTranslator(generator).sentence("令牌桶每秒补充 5 个令牌。", "en", chat=chat)
    assert translation == "The bucket refills 5 tokens per second."
    assert "资料：令牌桶" in generator.prompts[0] and "资料：令牌桶" not in generator.prompts[1]
    assert "Translate the following Chinese sentence into English" in generator.prompts[1]


@pytest.fixture
def notes_rag(tmp_path: Path, keyword_embedder):
    return rag_over(tmp_path, keyword_embedder, "notes.md", NOTES)


def test_an_english_question_over_chinese_documents_is_drafted_in_chinese_and_retold_in_english(notes_rag) -> None:
    rag = notes_rag(["令牌桶每秒补充 5 个令牌[1]。", "A token bucket refills 5 tokens per second."], chinese_drafts=True)
    chinese, asked = "令牌桶每秒补充多少个令牌？", "How many tokens does a token bucket refill per second?"
    events = list(rag.answerer.stream(chinese, rag.retrieve(chinese), language="en", asked=asked))
    answer = events[-1]
    assert [e for e in events if isinstance(e, Retelling)] == [Retelling(0, 1, "en"), Retelling(1, 1, "en")]
    draft_prompt, translation_prompt = rag.answerer.generator.prompts
    assert chinese in draft_prompt and asked not in draft_prompt and "请用中文简短回答" in draft_prompt
    assert "令牌桶每秒补充 5 个令牌。" in translation_prompt and translation_prompt.startswith(draft_prompt)
    assert answer.text == "A token bucket refills 5 tokens per second [1]." and answer.language == "en"
    assert "令牌桶每秒补充 5 个令牌" in answer.citations[0].text  # the citation opens the Chinese sentence

    off = notes_rag(["A token bucket refills 5 tokens per second [1]."], chinese_drafts=False)
    list(off.answerer.stream(chinese, off.retrieve(chinese), language="en", asked=asked))
    assert asked in off.answerer.generator.prompts[0] and "Answer briefly in English" in off.answerer.generator.prompts[0]


def test_an_english_follow_up_after_a_chinese_draft_is_still_rewritten_in_english(notes_rag) -> None:
    from rag.api import _rewrites_in_documents_language

    answerer = notes_rag(["x"], chinese_drafts=True).answerer
    assert answerer.answers_from_translation("en", "zh") and answerer.answers_from_translation("zh", "en")
    assert not _rewrites_in_documents_language(answerer, "en", "zh")  # the model names the wrong referent in Chinese
    assert _rewrites_in_documents_language(answerer, "zh", "en")
    assert not notes_rag(["x"], chinese_drafts=False).answerer.answers_from_translation("en", "zh")
