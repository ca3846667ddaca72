"""The answer stage on a tiny corpus, with a scripted generator standing in for the LLM."""
import re
import threading
from pathlib import Path

import pytest

from rag.answering.answerer import (
    ABSTAIN_MESSAGE, DECLINED, DECLINED_NOTE, Answer, Reading, Token, clean_generated, fallback_note,
)
from rag.answering.prompts import REMINDER, REVISE
from rag.api import RAG
from rag.core.config import Config
from rag.core.errors import ConfigError
from rag_ingest.builder import IndexBuilder
from tests.conftest import CHATML, ScriptedGenerator, scripted_rag


@pytest.fixture
def make_rag(tiny_corpus: Path, tmp_path: Path, keyword_embedder):
    IndexBuilder(Config(), keyword_embedder).build([tiny_corpus], tmp_path / "index", progress=False)

    def make(output: str | list[str] = "", **settings) -> RAG:
        return scripted_rag(tmp_path / "index", keyword_embedder, output, **settings)

    return make


def test_llm_answer_is_checked_and_cited(make_rag) -> None:
    rag = make_rag("KV cache 缓存历史的键和值，加速自回归生成。北京今天是晴天。")
    answer = rag.ask("KV cache 有什么用？")
    assert answer.mode == "llm" and not answer.abstained and answer.fallback is None
    assert re.match(r"KV cache 缓存历史的键和值，加速自回归生成\[\d\]。$", answer.text) and "晴天" not in answer.text
    (citation,) = answer.citations
    source = (Path(rag.store.manifest["sources"][0]) / citation.doc_id).read_text(encoding="utf-8")
    assert source[citation.start:citation.end] == citation.text and "KV cache" in citation.text
    assert f"[{citation.n}]" in answer.text
    prompt = rag.answerer.generator.prompts[0]
    assert "KV cache 有什么用？" in prompt and "[1]" in prompt
    assert {"retrieve_ms", "first_token_ms", "generate_ms", "total_ms"} <= set(answer.timings)


def test_an_echo_of_the_question_and_its_reminder_is_not_counted_against_the_answer(make_rag) -> None:
    # The model repeated the question with the prompt's reminder before answering; without the reminder the
    # repeat is a question (claimless), so the supported answer passes instead of falling back.
    rag = make_rag(f"KV cache 有什么用？{REMINDER['zh']}\n加速自回归生成。")
    answer = rag.ask("KV cache 有什么用？")
    assert answer.fallback is None and answer.mode == "llm" and answer.removed == 1  # the question only
    assert REMINDER["zh"] not in answer.text and answer.text.startswith("加速自回归生成[")


def test_stream_yields_what_the_model_reads_then_tokens_in_order_then_the_answer(make_rag) -> None:
    output = "LoRA 通过低秩矩阵适配预训练模型。"
    rag = make_rag(output)
    events = list(rag.stream("什么是 LoRA？"))
    reading, tokens, final = events[0], events[1:-1], events[-1]
    assert isinstance(reading, Reading) and all(isinstance(e, Token) for e in tokens) and isinstance(final, Answer)
    assert "".join(t.text for t in tokens) == output
    assert final.raw == output
    # the excerpts it announces are the ones in the prompt, numbered as the draft's [n] will be
    prompt = rag.answerer.generator.prompts[0]
    squeezed = re.sub(r"\s+", "", prompt)  # the prompt folds blank lines
    assert reading.excerpts and all(re.sub(r"\s+", "", e.text.split("。")[0]) in squeezed for e in reading.excerpts)
    assert [p["n"] for p in reading.to_json()["passages"]] == [e.number for e in reading.excerpts]
    assert all(p["doc_id"] == reading.hits[p["n"] - 1].chunk.doc_id for p in reading.to_json()["passages"])


def test_extractive_answers_and_refusals_stream_no_reading_event(make_rag) -> None:
    assert [type(e) for e in make_rag("unused").stream("什么是 LoRA？", mode="extractive")] == [Answer]
    refusing = make_rag("unused", min_relevance=1.01)
    assert [type(e) for e in refusing.stream("KV cache 有什么用？", mode="llm")] == [Answer]


def test_unsupported_model_output_falls_back_to_extractive(make_rag) -> None:
    rag = make_rag("北京今天是晴天，适合出门。")
    answer = rag.ask("KV cache 有什么用？")
    assert answer.mode == "extractive" and answer.fallback and not answer.abstained
    assert "KV cache" in answer.text and answer.citations
    assert answer.raw == "北京今天是晴天，适合出门。"
    assert rag.answerer.generator.calls == 1 and answer.attempts == 1  # a base model has no conversation to revise in


UNSUPPORTED, SUPPORTED = "北京今天是晴天，适合出门[1]。", "KV cache 缓存历史的键和值，加速自回归生成[1]。"


def test_a_draft_that_fails_the_check_is_revised_in_the_same_conversation(make_rag) -> None:
    rag = make_rag([UNSUPPORTED, SUPPORTED], chat_template=CHATML)
    events = list(rag.stream("KV cache 有什么用？"))
    answer = events[-1]
    assert answer.mode == "llm" and answer.fallback is None and answer.attempts == 2
    assert re.match(r"KV cache 缓存历史的键和值，加速自回归生成\[\d\]。$", answer.text) and answer.raw == SUPPORTED
    first, second = rag.answerer.generator.prompts
    # The revision continues the first conversation (llama.cpp reuses its evaluated state): the same prompt,
    # then the draft as the model's turn, then the request to answer from the passages' own words.
    assert second.startswith(first) and REVISE["zh"] in second and UNSUPPORTED in second[len(first):]
    drafts = [(t.attempt, t.text) for t in events[:-1] if isinstance(t, Token)]
    assert "".join(text for n, text in drafts if n == 1) == UNSUPPORTED
    assert "".join(text for n, text in drafts if n == 2) == SUPPORTED


def test_a_revision_that_still_fails_falls_back_and_revisions_can_be_turned_off(make_rag) -> None:
    rag = make_rag([UNSUPPORTED, "上海明天下雨[1]。"], chat_template=CHATML)
    answer = rag.ask("KV cache 有什么用？")
    assert answer.mode == "extractive" and answer.fallback and answer.attempts == 2
    assert answer.raw == "上海明天下雨[1]。" and rag.answerer.generator.calls == 2

    rag = make_rag([UNSUPPORTED, SUPPORTED], chat_template=CHATML, revisions=0)
    answer = rag.ask("KV cache 有什么用？")
    assert answer.fallback and answer.attempts == 1 and rag.answerer.generator.calls == 1


def test_a_supported_draft_is_not_revised(make_rag) -> None:
    rag = make_rag([SUPPORTED, UNSUPPORTED], chat_template=CHATML)
    answer = rag.ask("KV cache 有什么用？")
    assert answer.mode == "llm" and answer.attempts == 1 and rag.answerer.generator.calls == 1


def test_low_relevance_abstains_with_nearest_sources(make_rag) -> None:
    rag = make_rag("不该被调用。", min_relevance=1.01)
    for mode in ("llm", "extractive"):
        answer = rag.ask("KV cache 有什么用？", mode=mode)
        assert answer.abstained and answer.text == ABSTAIN_MESSAGE["zh"]
        assert 0 < len(answer.citations) <= 3 and answer.citations[0].chunk_id == answer.hits[0].chunk.id
        assert all(c.kind == "nearest" for c in answer.citations)  # they support nothing
    assert rag.answerer.generator.prompts == []  # the model is never asked
    assert rag.ask("What is a KV cache?").text == ABSTAIN_MESSAGE["en"]


def test_on_doubtful_evidence_only_a_checked_llm_answer_answers(make_rag) -> None:
    # Every question is doubtful: relevance below min_relevance, above min_relevance_llm.
    rag = make_rag([SUPPORTED], chat_template=CHATML, min_relevance=1.01, min_relevance_llm=0.0)
    answer = rag.ask("KV cache 有什么用？")
    assert answer.mode == "llm" and not answer.abstained and answer.raw == SUPPORTED
    # A draft that fails the check (and its revision) is a refusal here, not an extractive fallback.
    rag = make_rag([UNSUPPORTED, UNSUPPORTED], chat_template=CHATML, min_relevance=1.01, min_relevance_llm=0.0)
    answer = rag.ask("KV cache 有什么用？")
    assert answer.abstained and answer.text == ABSTAIN_MESSAGE["zh"] and answer.raw == UNSUPPORTED
    assert answer.attempts == 2 and answer.citations  # revised once; the nearest sources are listed
    # Without the model (extractive mode) doubtful evidence is refused.
    assert rag.ask("KV cache 有什么用？", mode="extractive").abstained


def test_model_saying_the_passages_lack_the_answer_abstains(make_rag) -> None:
    answer = make_rag("资料中没有答案。").ask("KV cache 有什么用？")
    assert answer.abstained and answer.mode == "llm"


def test_extractive_mode_cites_exact_sentences(make_rag) -> None:
    rag = make_rag()
    answer = rag.ask("KV cache 有什么用？", mode="extractive")
    assert answer.mode == "extractive" and re.search(r"\[\d\][。.]?$", answer.text)
    for citation in answer.citations:
        text = rag.store.documents[citation.doc_id]
        assert text[citation.start:citation.end] == citation.text
    with pytest.raises(ConfigError, match="Unknown answer mode 'poetry'"):
        rag.ask("x", mode="poetry")


def test_concurrent_asks_match_sequential_ones(make_rag) -> None:
    rag = make_rag("KV cache 缓存历史的键和值，加速自回归生成。")
    questions = ["KV cache 有什么用？", "什么是 LoRA？", "多头注意力怎么算？", "混合精度有什么优势？"] * 3
    expected = {q: rag.ask(q, mode="extractive").text for q in set(questions)}
    results: dict[int, str] = {}

    def ask(i: int, question: str) -> None:
        results[i] = rag.ask(question, mode="extractive").text

    threads = [threading.Thread(target=ask, args=(i, q)) for i, q in enumerate(questions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[i] for i in range(len(questions))] == [expected[q] for q in questions]
    llm_threads = [threading.Thread(target=lambda: rag.ask("KV cache 有什么用？")) for _ in range(4)]
    for thread in llm_threads:
        thread.start()
    for thread in llm_threads:
        thread.join()
    assert len(rag.answerer.generator.prompts) == 4


def test_a_passage_cited_by_several_sentences_holds_each_of_them(make_rag) -> None:
    rag = make_rag()
    rag.answerer.extractive.max_sentences = 5
    question = "混合精度训练的优势是什么？"
    hits = rag.retrieve(question)
    sentences = rag.answerer.extractive.extract(question, hits[:3])
    answer = rag.ask(question, mode="extractive")
    by_number = {c.n: c for c in answer.citations}
    for sentence in sentences:
        citation = by_number[sentence.number]
        assert any(span.start <= sentence.start and sentence.end <= span.end for span in citation.spans)
        for span in citation.spans:
            assert rag.store.documents[citation.doc_id][span.start:span.end] == span.text
        assert (citation.start, citation.end, citation.text) == (citation.spans[0].start, citation.spans[0].end, citation.spans[0].text)


def test_a_draft_cut_by_the_token_limit_loses_its_unfinished_sentence(make_rag) -> None:
    draft = "KV cache 缓存历史的键和值[1]。它加速自回归生成[1]。此外它还能够让很长的对话"
    rag = make_rag(draft, max_tokens_zh=len(draft) // 3 - 2)  # the scripted model writes 3 characters a token
    answer = rag.ask("KV cache 有什么用？")
    assert answer.cut and answer.mode == "llm" and not answer.abstained
    assert "它加速自回归生成" in answer.text and "此外" not in answer.text
    assert "此外" in answer.raw  # the draft as streamed
    finished = make_rag(draft.split("此外")[0]).ask("KV cache 有什么用？")
    assert not finished.cut


def test_drop_unfinished_keeps_whole_sentences_of_every_line() -> None:
    from rag.answering.answerer import drop_unfinished

    assert drop_unfinished("更快[1]。更省显存[1]。第三个好处是") == "更快[1]。更省显存[1]。"
    assert drop_unfinished("更快。[1] 另外") == "更快。[1]"
    assert drop_unfinished("- 提高计算速度[1]\n- 降低内存占") == "- 提高计算速度[1]"
    # a cut last line keeps the sentences it finished: "正交的" was in the draft and is in the answer
    assert drop_unfinished("第一行[1]。\n缺乏语义信息：向量都是正交的。这意味着无法衡量相似度。 … 捕") == (
        "第一行[1]。\n缺乏语义信息：向量都是正交的。这意味着无法衡量相似度。 …")
    assert drop_unfinished("It is faster [1]. It also") == "It is faster [1]."
    assert drop_unfinished("一句没有结束的话") == ""


def test_an_excerpt_gap_the_model_copied_between_sentences_is_left_out() -> None:
    assert clean_generated("- 注意力优化：提高效率[1]。… * 计算资源：需要大量资源[1]。") == (
        "- 注意力优化：提高效率[1]。\n* 计算资源：需要大量资源[1]。")  # a list item gets its own line
    assert clean_generated("词嵌入是第一层[1]。… 关键在于，矩阵可训练[1]。 …") == "词嵌入是第一层[1]。关键在于，矩阵可训练[1]。"
    assert clean_generated("It is fast [1]. … It is small [2].") == "It is fast [1]. It is small [2]."
    assert clean_generated("… 它更快[1]。") == "它更快[1]。"
    # the model's own ellipses, and one inside a sentence, stay
    assert clean_generated("例如翻译、摘要……等任务[1]。") == "例如翻译、摘要……等任务[1]。"
    assert clean_generated("Wait... it works [1].") == "Wait... it works [1]."
    assert clean_generated("A … B [1].") == "A … B [1]."


def test_a_decline_despite_strong_evidence_is_asked_again_with_the_best_passage_alone(make_rag) -> None:
    declined, supported = "资料中没有答案。", "KV cache 缓存历史的键和值[1]。"
    rag = make_rag([declined, supported], chat_template=CHATML, narrow_retry=True)
    answer = rag.ask("KV cache 有什么用？")
    assert not answer.abstained and answer.mode == "llm" and answer.attempts == 2
    first, second = (prompt.rsplit("<passages>", 1)[1].split("</passages>")[0] for prompt in rag.answerer.generator.prompts)
    assert "[2]" in first and "[2]" not in second and "[1]" in second  # the narrow prompt holds passage 1 only
    assert make_rag([declined, supported]).ask("KV cache 有什么用？").abstained  # off by default
    assert make_rag([declined, "北京今天是晴天[1]。"], narrow_retry=True).ask("KV cache 有什么用？").abstained


def test_the_token_limit_follows_the_answers_language(make_rag) -> None:
    rag = make_rag("x", max_tokens=100, max_tokens_zh=300)
    assert rag.answerer.max_tokens("zh") == 300 and rag.answerer.max_tokens("en") == 100


def test_a_follow_up_the_model_declines_despite_strong_evidence_is_quoted_from_the_sources(make_rag) -> None:
    rag = make_rag("资料中没有答案。")
    question = "KV cache 有什么用？"
    hits = rag.retrieve(question)
    quoted = list(rag.answerer.stream(question, hits, quote_if_declined=True))[-1]
    assert not quoted.abstained and quoted.mode == "extractive" and "KV cache" in quoted.text
    assert quoted.fallback == DECLINED and quoted.raw == "资料中没有答案。"
    assert fallback_note(quoted) == DECLINED_NOTE["zh"]
    assert list(rag.answerer.stream(question, hits))[-1].abstained  # a question on its own: the model's word stands
    doubtful = make_rag("资料中没有答案。", min_relevance=1.01, min_relevance_llm=0.0)  # drafted, not answerable
    assert list(doubtful.answerer.stream(question, doubtful.retrieve(question), quote_if_declined=True))[-1].abstained


def test_a_revision_that_declines_despite_strong_evidence_is_quoted_from_the_sources(make_rag) -> None:
    # The first draft made a claim the check rejected; asked to revise, the model says the passages don't answer.
    rag = make_rag([UNSUPPORTED, "资料中没有答案。"], chat_template=CHATML)
    answer = rag.ask("KV cache 有什么用？")
    assert not answer.abstained and answer.mode == "extractive" and answer.fallback == DECLINED
    assert answer.attempts == 2 and "KV cache" in answer.text
    off = make_rag([UNSUPPORTED, "资料中没有答案。"], chat_template=CHATML, quote_when_revision_declines=False)
    assert off.ask("KV cache 有什么用？").abstained
    doubtful = make_rag([UNSUPPORTED, "资料中没有答案。"], chat_template=CHATML, min_relevance=1.01, min_relevance_llm=0.0)
    assert doubtful.ask("KV cache 有什么用？").abstained  # drafted on weak evidence: the decline stands
    # A first draft that declines is a refusal, as before.
    assert make_rag("资料中没有答案。").ask("KV cache 有什么用？").abstained


def test_a_decline_stands_when_the_quotes_name_nothing_the_question_names(make_rag) -> None:
    # The passages match "缓存历史的键和值" but none mentions FlashAttention: quoting them would answer something else.
    rag = make_rag([UNSUPPORTED, "资料中没有答案。"], chat_template=CHATML)
    answer = rag.ask("FlashAttention 怎样缓存历史的键和值？")
    assert answer.abstained and answer.attempts == 2
    follow_up = make_rag("资料中没有答案。")
    question = "FlashAttention 怎样缓存历史的键和值？"
    assert list(follow_up.answerer.stream(question, follow_up.retrieve(question), quote_if_declined=True))[-1].abstained
    # The same question naming what the passages hold is quoted, as before.
    assert not make_rag([UNSUPPORTED, "资料中没有答案。"], chat_template=CHATML).ask("KV cache 怎样缓存历史的键和值？").abstained


def test_a_question_about_a_name_no_document_mentions_is_refused_before_drafting(make_rag) -> None:
    # "张三丰" opens the question and no document mentions him: passages on KV cache would answer something else.
    rag = make_rag("张三丰用 KV cache 加速推理[1]。", chat_template=CHATML)
    for mode in ("llm", "extractive"):
        answer = rag.ask("张三丰的 KV cache 有什么用？", mode=mode)
        assert answer.abstained and answer.attempts == 0 and answer.raw is None
    assert not rag.ask("KV cache 有什么用？", mode="extractive").abstained


def test_a_decline_stands_when_no_document_mentions_what_the_question_is_about(make_rag) -> None:
    # A longer opening run may be a clause the documents word otherwise, so it is read only once the model declined.
    rag = make_rag([UNSUPPORTED, "资料中没有答案。"], chat_template=CHATML)
    answer = rag.ask("武当山掌门张三丰的 KV cache 有什么用？")
    assert answer.abstained and answer.attempts == 2


class ScriptKeepingGenerator(ScriptedGenerator):
    """A scripted model that can keep to a language's script (`rag.generation.base.ScriptKeepingGenerator`)."""

    def __init__(self, output: str) -> None:
        super().__init__(output)
        self.languages: list[str | None] = []

    def stream(self, prompt: str, max_tokens: int = 256, stop=()):
        self.languages.append(None)
        return super().stream(prompt, max_tokens, stop)

    def stream_in(self, language: str, prompt: str, max_tokens: int = 256, stop=()):
        self.languages.append(language)
        return super().stream(prompt, max_tokens, stop)


@pytest.mark.parametrize("keep_language, expected", [(True, ["en"]), (False, [None])])
def test_an_english_answer_is_written_in_the_english_script_where_the_model_can_keep_to_one(
    make_rag, keep_language: bool, expected: list[str | None],
) -> None:
    rag = make_rag(keep_language=keep_language)
    rag.answerer._generator = generator = ScriptKeepingGenerator("KV cache speeds up generation [1].")
    rag.ask("What is the KV cache for?")
    assert generator.languages == expected
    rag.ask("KV cache 有什么用？")
    assert generator.languages[-1] == ("zh" if keep_language else None)


def test_an_echoed_marker_placeholder_is_not_part_of_the_answer() -> None:
    assert clean_generated("[n] PEFT freezes most parameters [1]. 它只训练适配器[编号]。") == (
        "PEFT freezes most parameters [1]. 它只训练适配器。"
    )


def test_a_plain_text_article_is_read_under_its_title_not_with_it(tmp_path: Path, keyword_embedder) -> None:
    (tmp_path / "docs").mkdir()
    article = "漠河古莲机场\n\n漠河机场是中国位置最北的民用机场。于2006年动工。\n"
    (tmp_path / "docs" / "w00.txt").write_text(article, encoding="utf-8")
    IndexBuilder(Config(), keyword_embedder).build([tmp_path / "docs"], tmp_path / "index", progress=False)
    rag = scripted_rag(tmp_path / "index", keyword_embedder, "漠河机场于2006年动工[1]。")
    question = "漠河机场哪一年动工？"
    (excerpt,) = rag.answerer.excerpts(question, rag.retrieve(question))
    assert excerpt.heading == "漠河古莲机场" and not excerpt.text.startswith("漠河古莲机场")
    assert rag.ask(question, mode="extractive").text.startswith("漠河机场")  # the title line is never quoted


SELF_ATTENTION = "自注意力让每个 token 关注序列中的所有其他 token。"
MULTI_HEAD = "多头注意力把表示拆成多个子空间，分别计算注意力后拼接。"


def test_a_comparison_reads_each_thing_and_is_reminded_of_them(make_rag) -> None:
    rag = make_rag(SELF_ATTENTION + MULTI_HEAD, chat_template=CHATML)
    events = list(rag.stream("LoRA 和多头注意力分别是什么？"))
    reading, answer = events[0], events[-1]
    read = "\n".join(excerpt.text for excerpt in reading.excerpts)
    assert "低秩矩阵" in read and "多个子空间" in read  # each thing's passage is read, whatever ranks first
    prompt = rag.answerer.generator.prompts[0]
    assert "分别回答LoRA、多头注意力" in prompt
    assert "分别回答" not in answer.text


def test_a_thing_the_draft_left_out_is_asked_about_alone_and_added(make_rag) -> None:
    rag = make_rag([SELF_ATTENTION, MULTI_HEAD])
    events = list(rag.stream("自注意力和多头注意力分别是怎么计算的？"))
    answer = events[-1]
    first, second = rag.answerer.generator.prompts
    assert "多头注意力是怎么计算的？" in second and "自注意力和多头注意力" not in second
    # what the draft already cited (about the other thing) is left out of what the model reads for this one
    assert "自注意力让每个" in first[first.rindex("资料"):] and "自注意力让每个" not in second[second.rindex("资料"):]
    assert answer.mode == "llm" and answer.fallback is None and answer.attempts == 1
    assert re.fullmatch(r"自注意力让每个 token[^\[]*\[\d\]。多头注意力把表示拆成[^\[]*\[\d\]。", answer.text)
    # streamed as one draft: the part about the thing left out follows on a line of its own
    streamed = "".join(t.text for t in events if isinstance(t, Token) and t.attempt == 1)
    assert streamed == f"{SELF_ATTENTION}\n{MULTI_HEAD}" == answer.raw


def test_what_the_check_rejects_of_the_added_part_is_left_out(make_rag) -> None:
    rag = make_rag([SELF_ATTENTION, "北京今天是晴天。"])
    answer = rag.ask("自注意力和多头注意力分别是怎么计算的？")
    assert answer.fallback is None and answer.text.startswith("自注意力让每个 token") and "晴天" not in answer.text
    assert rag.answerer.generator.calls == 2


def test_a_draft_naming_every_thing_compared_is_not_extended(make_rag) -> None:
    rag = make_rag(SELF_ATTENTION + MULTI_HEAD)
    rag.ask("自注意力和多头注意力分别是怎么计算的？")
    assert rag.answerer.generator.calls == 1


def test_an_extractive_comparison_quotes_each_thing(make_rag) -> None:
    answer = make_rag().ask("LoRA 和多头注意力分别是什么？", mode="extractive")
    assert "低秩矩阵" in answer.text and "多个子空间" in answer.text
