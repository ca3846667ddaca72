import pytest

from rag.answering.citations import (
    CitationChecker,
    answer_sentences,
    parse_markers,
    support,
    supporting_spans,
    without_examples,
)
from rag.core.schema import Chunk

ADVANTAGES = "混合精度训练的优势：半精度浮点数的计算速度比单精度浮点数快，因此可以显著提高训练速度。半精度占用的内存更少。"
LORA = "LoRA 通过低秩矩阵适配预训练模型，只训练很少的参数。"
PASSAGES = {
    1: Chunk("a", "mp.md", ADVANTAGES, 100, 100 + len(ADVANTAGES), ("5. 混合精度训练的优势是什么？",)),
    2: Chunk("b", "lora.md", LORA, 0, len(LORA), ("LoRA",)),
}


@pytest.mark.parametrize(
    ("sentence", "text", "numbers"),
    [
        ("速度更快[1]。", "速度更快。", [1]),
        ("速度更快[1,2]。", "速度更快。", [1, 2]),
        ("速度更快[1][2]", "速度更快", [1, 2]),
        ("速度更快【2】。", "速度更快。", [2]),
        ("速度更快[1、3；2]", "速度更快", [1, 3, 2]),
        ("It is faster [12].", "It is faster.", [12]),
        ("没有标记。", "没有标记。", []),
    ],
)
def test_parse_markers(sentence: str, text: str, numbers: list[int]) -> None:
    assert parse_markers(sentence) == (text, numbers)


def test_markers_after_the_full_stop_stay_with_their_sentence() -> None:
    assert answer_sentences("A是B。[1]C是D[2]。[3]") == ["A是B。[1]", "C是D[2]。[3]"]


def test_support_is_unit_containment() -> None:
    # 4 bigrams of "提高速度": 提高 高速 速度 + ... all in the passage? "提高训练速度" holds 提高, 速度 but not 高速.
    assert support("提高速度", "显著提高训练速度") == pytest.approx(2 / 3)
    assert support("Mixed precision is fast", "mixed precision training") == pytest.approx(2 / 4)
    assert support("", "anything") == 0.0


def test_support_ignores_how_a_sentence_joins_its_words() -> None:
    # 室内 and 室外 are the claim; 有室, 内和, 和室 only join them ("和" is a function word as jieba cuts it).
    passage = "操场的种类大约分成两种。一种位于室内，一种位于室外。"
    assert support("种类有室内和室外", passage) == pytest.approx(3 / 3)
    assert support("种类有室内和草地", passage) == pytest.approx(2 / 3)  # 草地 is a claim of its own, unsupported
    checked = CitationChecker().check("操场的种类有室内和室外。", {1: Chunk("p", "p.txt", passage, 0, len(passage))},
                                      question="操场的种类有哪些？")
    assert [(s.status, s.cited) for s in checked.sentences] == [("attached", (1,))]


def test_a_claim_keeps_its_supported_head_when_its_examples_come_from_elsewhere() -> None:
    bird = "新西兰鸲鹟喜欢在地面上觅食。牠们主要猎食无脊椎动物，包括蝉、蚯蚓、蜗牛及蜘蛛。"
    passages = {1: Chunk("b", "bird.txt", bird, 0, len(bird))}
    question = "新西兰鸲鹟主要的食物是什么？"
    checked = CitationChecker().check("新西兰鸲鹟主要的食物是无脊椎动物，如蠕虫、蛞蝓及幼虫[1]。", passages, question=question)
    assert [(s.text, s.status) for s in checked.sentences] == [("新西兰鸲鹟主要的食物是无脊椎动物。", "kept")]
    assert checked.text == "新西兰鸲鹟主要的食物是无脊椎动物[1]。"
    wrong = CitationChecker().check("新西兰鸲鹟主要吃植物种子，如松子[1]。", passages, question=question)
    assert [s.status for s in wrong.sentences] == ["removed"]  # the head is no better supported than the whole


@pytest.mark.parametrize(("sentence", "head"), [
    ("主要吃无脊椎动物，如蠕虫、蜗牛。", "主要吃无脊椎动物。"), ("有多种方法，例如剪枝[1]", "有多种方法"),
    ("It uses regularisation, such as dropout.", "It uses regularisation."),
    ("数据少，如果不增强就会过拟合。", ""), ("，如蠕虫。", ""), ("没有例子。", ""),
])
def test_without_examples(sentence: str, head: str) -> None:
    assert without_examples(sentence) == head


def test_a_list_number_alone_is_no_claim_unless_it_is_the_whole_answer() -> None:
    passages = {1: Chunk("n", "n.md", "2. PEFT 只需存储几百 MB 的适配器权重。", 0, 27)}
    answer, question = "2 [1]. PEFT 只需存储几百 MB 的适配器权重[1]。", "PEFT 要存储多少？"
    numbered = CitationChecker().check(answer, passages, "zh", question=question)
    assert [(s.status, s.reason) for s in numbered.sentences] == [("removed", "numbering"), ("kept", "")]
    count = CitationChecker().check("2 [1].", passages, "en", question="How many steps are there?")
    assert [s.status for s in count.sentences] == ["kept"]


def test_a_count_in_words_answers_a_how_many_question() -> None:
    sport = "轻艇水球是一项由两队对垒的球类运动，每队派出五名球员作赛。"
    passages = {1: Chunk("s", "sport.txt", sport, 0, len(sport))}
    question = "轻艇水球每队中有几名队员？"
    assert CitationChecker().check("每队有五名队员[1]。", passages, question=question).text == "每队有五名队员[1]。"
    assert CitationChecker().check("每队有十名队员[1]。", passages, question=question).text == ""


def test_supported_citations_are_kept_and_resolve_to_the_exact_source_span() -> None:
    result = CitationChecker().check("半精度浮点数的计算速度比单精度浮点数快[1]。", PASSAGES)
    (sentence,) = result.sentences
    assert sentence.status == "kept" and sentence.cited == (1,)
    (citation,) = result.citations
    source = " " * 100 + ADVANTAGES  # the document, with the chunk at offset 100
    assert source[citation.start:citation.end] == citation.text
    assert "计算速度比单精度浮点数快" in citation.text and citation.heading.startswith("5. 混合精度")


def test_out_of_range_and_wrong_citations_are_repaired() -> None:
    result = CitationChecker().check("LoRA 只训练很少的参数[12]。半精度占用的内存更少[2]。", PASSAGES)
    assert [(s.status, s.cited) for s in result.sentences] == [("attached", (2,)), ("attached", (1,))]
    assert result.text == "LoRA 只训练很少的参数[2]。半精度占用的内存更少[1]。"


def test_unsupported_and_repeated_sentences_are_removed() -> None:
    answer = "半精度占用的内存更少[1]。半精度占用的内存更少[1]。北京今天是晴天[1]。"
    result = CitationChecker().check(answer, PASSAGES)
    assert [(s.status, s.reason) for s in result.sentences] == [("kept", ""), ("removed", "repeat"), ("removed", "unsupported")]
    assert result.text == "半精度占用的内存更少[1]。"
    # The repeat claimed nothing new: the share is of the claims, the kept one and the unsupported one.
    kept, unsupported = len("半精度占用的内存更少。"), len("北京今天是晴天。")
    assert result.kept_share == pytest.approx(kept / (kept + unsupported))


def test_semantic_support_rescues_a_translation_only_when_the_passage_ranks_high_enough() -> None:
    def semantic(sentence: str, chunk: Chunk):  # passage b holds the corpus' 2nd closest sentence
        return (1 if chunk.id == "b" else 40, chunk.start, chunk.start + 4)

    english = "LoRA adapts a pretrained model with low-rank matrices."
    assert CitationChecker().check(english, PASSAGES, "en").text == ""
    result = CitationChecker(semantic=semantic, semantic_top_k=2).check(english, PASSAGES, "en")
    assert result.sentences[0].cited == (2,) and result.citations[0].text == LORA[:4]
    strict = CitationChecker(semantic=semantic, semantic_top_k=1).check(english, PASSAGES, "en")
    assert strict.sentences[0].status == "removed"


def test_meaning_alone_never_supports_a_sentence_in_the_passage_own_language() -> None:
    def semantic(sentence: str, chunk: Chunk):  # every passage holds the corpus' closest sentence
        return (0, chunk.start, chunk.start + 4)

    checker = CitationChecker(semantic=semantic, semantic_top_k=1)
    # A Chinese claim on Chinese passages must share their words: "it means the same" is not evidence.
    assert checker.check("QLoRA 还使用分页优化器来应对显存峰值[1]。", PASSAGES).sentences[0].status == "removed"
    assert checker.check("Mixed precision halves the memory use [1].", PASSAGES, "en").sentences[0].status == "kept"


def test_echoes_of_the_question_are_removed_and_only_new_content_must_be_supported() -> None:
    question = "混合精度训练有什么好处？"
    checker = CitationChecker()
    echo = checker.check("混合精度训练的好处。[1]", PASSAGES, question=question)
    assert echo.sentences[0].status == "removed"
    # New content ("半精度占用的内存更少") is in passage 1; the words taken from the question don't count.
    kept = checker.check("混合精度训练的好处是半精度占用的内存更少。", PASSAGES, question=question)
    assert kept.sentences[0].cited == (1,)
    invented = checker.check("混合精度训练的好处是让模型变得更加聪明可靠。", PASSAGES, question=question)
    assert invented.sentences[0].status == "removed"


def test_restating_a_yes_no_question_asserts_its_answer_and_must_be_supported() -> None:
    # "需要很多标注数据" is what the question asks yes or no: restated, it is the answer, and the cited sentence (about
    # speed) does not say it, however well it supports the rest. Restating the open part ("混合精度训练") stays free.
    checker = CitationChecker()
    question = "混合精度训练有什么用，需要很多标注数据吗？"
    wrong_yes = checker.check("半精度浮点数的计算速度比单精度浮点数快，需要很多标注数据[1]。", PASSAGES, question=question)
    assert wrong_yes.sentences[0].status == "removed"
    speed = checker.check("混合精度训练可以让半精度浮点数的计算速度比单精度浮点数快[1]。", PASSAGES, question=question)
    assert speed.sentences[0].status == "kept"
    # A yes the cited sentence does state is kept, and it is not an echo although it repeats the question's words.
    stated = checker.check("半精度占用的内存更少[1]。", PASSAGES, question="半精度占用的内存会不会更少？")
    assert (stated.sentences[0].status, stated.sentences[0].reason) == ("kept", "")


def test_a_short_answer_in_new_words_is_not_an_echo() -> None:
    # Three new bigrams and nothing of the question's: a terse answer, kept when a passage supports it.
    short = CitationChecker().check("内存更少[1]。", PASSAGES, question="What does half precision save?")
    assert (short.sentences[0].status, short.sentences[0].reason) == ("kept", "")


def test_a_short_answer_naming_what_was_asked_for_is_not_an_echo() -> None:
    encoding = "字符编码：必须统一使用 UTF-8 编码，它能支持几乎所有的字符。"
    passages = {1: Chunk("e", "data.md", encoding, 0, len(encoding))}
    named = CitationChecker().check("UTF-8 编码[1]", passages, question="训练语料的文本编码应该统一用哪一种？")
    assert (named.sentences[0].status, named.sentences[0].reason) == ("kept", "")
    assert named.text == "UTF-8 编码[1]。"  # a kept sentence ends with closing punctuation, even where the model left it off
    # A restatement that names nothing new is still an echo.
    echo = CitationChecker().check("文本编码应该统一[1]。", passages, question="训练语料的文本编码应该统一用哪一种？")
    assert echo.sentences[0].reason == "echo"


def test_a_restatement_that_adds_a_number_or_an_english_content_word_answers_the_question() -> None:
    table = "| `ping` | `int` | 15 | Ping interval in seconds. When building XML, keys whose values are empty lists are skipped."
    passages = {1: Chunk("t", "sse.md", table, 0, len(table))}
    checker = CitationChecker()
    number = checker.check("The default ping interval is 15 seconds [1].", passages, "en", question="What is the default ping interval?")
    assert (number.sentences[0].status, number.sentences[0].reason) == ("kept", "")
    word = checker.check("A key whose value is an empty list is skipped [1].", passages, "en",
                         question="What happens to a key whose value is an empty list when building XML?")
    assert (word.sentences[0].status, word.sentences[0].reason) == ("kept", "")
    # Adding only filler is still an echo; so is a Chinese restatement with a bigram or two rearranged.
    filler = checker.check("The default ping interval is also important [1].", passages, "en", question="What is the default ping interval?")
    assert filler.sentences[0].reason == "echo"
    chinese = checker.check("默认的 ping 间隔是 15 秒[1]。", passages, question="默认的 ping 间隔是多少？")
    assert (chinese.sentences[0].status, chinese.sentences[0].reason) != ("removed", "echo")


def test_a_passage_cited_twice_gets_one_citation_with_each_supporting_sentence() -> None:
    result = CitationChecker().check("半精度浮点数的计算速度比单精度浮点数快[1]。半精度占用的内存更少[1]。", PASSAGES)
    (citation,) = result.citations
    # the two sentences are adjacent in the passage, so their spans join into one
    assert [s.text for s in citation.spans] == [ADVANTAGES]
    assert citation.text == citation.spans[0].text and citation.kind == "support"


NOTES = "LoRA 冻结原始权重。它与全量微调不同，下面是无关的长篇背景介绍，说了很多别的事情。LoRA 只训练低秩矩阵。"
NOTES_CHUNK = Chunk("n", "notes.md", NOTES, 50, 50 + len(NOTES), ("LoRA",))


def test_citations_hold_the_supporting_sentences_not_the_text_between_them() -> None:
    result = CitationChecker().check("LoRA 冻结原始权重[1]。LoRA 只训练低秩矩阵[1]。", {1: NOTES_CHUNK})
    (citation,) = result.citations
    assert [s.text for s in citation.spans] == ["LoRA 冻结原始权重。", "LoRA 只训练低秩矩阵。"]
    assert all(NOTES[s.start - 50:s.end - 50] == s.text for s in citation.spans)
    assert "背景介绍" not in "".join(s.text for s in citation.spans)
    record = citation.to_json()
    assert record["spans"] == [{"start": s.start, "end": s.end, "text": s.text} for s in citation.spans]
    assert (record["start"], record["end"], record["kind"]) == (citation.spans[0].start, citation.spans[0].end, "support")


def test_a_claim_drawn_from_two_sentences_cites_those_two_not_the_passage() -> None:
    result = CitationChecker().check("LoRA 冻结原始权重并只训练低秩矩阵[1]。", {1: NOTES_CHUNK})
    (citation,) = result.citations
    assert [s.text for s in citation.spans] == ["LoRA 冻结原始权重。", "LoRA 只训练低秩矩阵。"]


def test_a_code_fence_line_is_never_a_supporting_sentence() -> None:
    code = "Read values:\n```python\nvalues = dotenv_values('.env')\n```"
    chunk = Chunk("k", "dotenv.md", code, 0, len(code), ("dotenv",))
    _, spans = supporting_spans("Use dotenv_values in Python to read the .env values.", chunk)
    # "```python" holds one of the claim's words, but a fence line states nothing.
    assert [code[s:e] for s, e in spans] == ["Read values:", "values = dotenv_values('.env')"]


def test_english_sentences_of_a_chinese_answer_keep_their_space() -> None:
    text = "Burst controls how bursty the output is. It defaults to the limit."
    chunk = Chunk("t", "limiter.md", text, 0, len(text), ("Limiter",))
    draft = "Burst controls how bursty the output is [1]. It defaults to the limit [1]."
    checked = CitationChecker().check(draft, {1: chunk}, "zh")
    assert checked.text == "Burst controls how bursty the output is[1]. It defaults to the limit[1]."


def test_a_label_of_question_words_on_a_passage_that_never_mentions_them_is_unsupported() -> None:
    adapters = "在前向传播时，将适配器的输出加到原始模块的输出上。"
    chunk = Chunk("l", "lora.md", adapters, 0, len(adapters), ("LoRA",))
    question = "prefill 阶段和 decode 阶段有什么区别？"
    grafted = CitationChecker().check("decode 阶段：将适配器的输出加到原始模块的输出上[1]。", {1: chunk}, question=question)
    assert [s.status for s in grafted.sentences] == ["removed"]
    # A label the passage words a little differently still shares words with it: a paraphrase, kept.
    vocabulary = "**过大的词汇表**：OOV 问题较少，罕见词可以直接表示。"
    listed = Chunk("v", "vocab.md", vocabulary, 0, len(vocabulary), ("词汇表",))
    paraphrase = CitationChecker().check(
        "太大的词汇表：OOV 问题较少，罕见词可以直接表示[1]。", {1: listed}, question="词表定得太大或者太小，分别会带来什么麻烦？",
    )
    assert [s.status for s in paraphrase.sentences] == ["kept"]


def test_the_heading_is_the_supporting_sentences_own_section() -> None:
    checker = CitationChecker(heading_at=lambda chunk, offset: f"{chunk.heading} > 句子 {offset - chunk.start}")
    (citation,) = checker.check("LoRA 只训练低秩矩阵[1]。", {1: NOTES_CHUNK}).citations
    assert citation.heading == f"LoRA > 句子 {NOTES.index('LoRA 只训练')}"


def test_a_question_in_the_answer_is_removed_and_does_not_count_against_it() -> None:
    asked = "LoRA 有哪些优势？"  # a passage may ask this too; asking is still not answering
    passages = {**PASSAGES, 3: Chunk("c3", "d3", asked, 0, len(asked))}
    checked = CitationChecker().check(f"{asked}[3] LoRA 只训练很少的参数[2]。", passages, question="LoRA 的原理")
    assert [(s.status, s.reason) for s in checked.sentences] == [("removed", "question"), ("kept", "")]
    assert checked.kept_share == 1.0 and [c.n for c in checked.citations] == [2]
    only_question = CitationChecker().check(f"{asked}[3]", passages, question="LoRA 的原理")
    assert not only_question.citations  # nothing answered: the caller falls back


LISTED = "混合精度训练的优势如下：\n* 提高计算速度：半精度更快。\n* 降低内存占用：显存更少。"


def test_list_items_run_together_get_one_line_each_for_a_list_question() -> None:
    passages = {1: Chunk("l", "mp.md", LISTED, 0, len(LISTED), ("优势",))}
    answer = "提高计算速度[1]。降低内存占用[1]。"
    listed = CitationChecker().check(answer, passages, question="混合精度训练有什么好处？")
    assert listed.text == "- 提高计算速度：半精度更快[1]。\n- 降低内存占用：显存更少[1]。"  # (labels spelled out, below)
    # Not a list question, or sentences not drawn from list items: on the lines the model wrote them.
    assert CitationChecker().check(answer, passages, question="混合精度训练是什么？").text == (
        "提高计算速度：半精度更快[1]。降低内存占用：显存更少[1]。")
    prose = {1: Chunk("p", "mp.md", "提高计算速度。降低内存占用。", 0, 14, ("优势",))}
    assert CitationChecker().check(answer, prose, question="混合精度训练有什么好处？").text == answer


def test_a_list_item_cut_to_its_label_is_shown_as_its_source_sentence() -> None:
    source = "优势如下：\n* **提高计算速度**：半精度浮点数的计算更快。\n* **降低内存占用**：显存更少。\n* **稳定**：是。"
    passages = {1: Chunk("l", "mp.md", source, 0, len(source), ("优势",))}
    checked = CitationChecker().check("提高计算速度[1]。", passages, question="混合精度训练有什么好处？")
    assert checked.text == "提高计算速度：半精度浮点数的计算更快[1]。"  # no bullet or bold markers
    (sentence,) = checked.sentences
    assert sentence.text == "提高计算速度。" and checked.kept_share == 1.0  # the check judged what the model wrote
    assert checked.citations[0].text == "* **提高计算速度**：半精度浮点数的计算更快。"  # the citation opens that sentence
    # More than the label, a label explaining too little, or no list item: shown as written.
    for answer in ("提高计算速度很重要[1]。", "稳定[1]。"):
        assert CitationChecker().check(answer, passages).text == answer
    prose = "提高计算速度：半精度浮点数的计算更快。"
    assert CitationChecker().check("提高计算速度[1]。", {1: Chunk("p", "mp.md", prose, 0, len(prose))}).text == "提高计算速度[1]。"


def test_an_english_claim_denying_what_its_source_affirms_is_unsupported() -> None:
    text = "cloudpickle can serialize lambda functions by value."
    chunk = Chunk("c", "readme.md", text, 0, len(text))
    denied = CitationChecker().check("No, cloudpickle cannot serialize lambda functions [1].", {1: chunk}, "en")
    assert denied.sentences[0].status == "removed"
    affirmed = CitationChecker().check("Yes, cloudpickle can serialize lambda functions [1].", {1: chunk}, "en")
    assert affirmed.sentences[0].status == "kept"


def test_a_denial_supported_by_meaning_may_find_its_negation_anywhere_in_the_passage() -> None:
    text = "DPO 是一种更简单的对齐方法。它不需要训练显式的奖励模型。"
    chunk = Chunk("c", "outline.md", text, 0, len(text))

    def semantic(sentence: str, chunk: Chunk, **_):  # the closest sentence is the first, which denies nothing
        return (0, chunk.start, chunk.start + text.index("。") + 1)

    checker = CitationChecker(semantic=semantic, semantic_top_k=1)
    english = "DPO is a simpler alignment method that works without an explicit reward model [1]."
    assert checker.check(english, {1: chunk}, "en").sentences[0].status == "kept"
    affirming = Chunk("d", "outline.md", "DPO 是一种更简单的对齐方法。", 0, 15)
    assert checker.check(english, {1: affirming}, "en").sentences[0].status == "removed"


def test_the_question_subject_told_of_another_thing_is_unsupported() -> None:
    other_fish = "背鳍硬棘14枚、软条8枚，臀鳍硬棘有3枚、软条6枚。"
    chunk = Chunk("f", "w11.txt", other_fish, 40, 40 + len(other_fish))
    question = "短齿天竺鲷有多少枚臀鳍硬棘？"
    borrowed = CitationChecker().check("短齿天竺鲷臀鳍硬棘有3枚[1]。", {1: chunk}, question=question)
    assert [s.status for s in borrowed.sentences] == ["removed"]
    # The same passage under its document's title (a plain-text article names its subject once, on its first line).
    titled = CitationChecker(title_of=lambda doc_id: "短齿天竺鲷").check(
        "短齿天竺鲷臀鳍硬棘有3枚[1]。", {1: chunk}, question=question,
    )
    assert [s.status for s in titled.sentences] == ["kept"]


def test_a_bare_answer_is_about_the_question_subject_though_it_does_not_name_it() -> None:
    other = "浅见百合子是日本的漫画家，曾与富士原昌幸合作同人志。"
    own = "环望是日本的漫画家，曾与漫画家富士原昌幸合作同人志。"
    passages = {1: Chunk("o", "w04.txt", own, 0, len(own)), 2: Chunk("x", "w09.txt", other, 0, len(other))}
    question = "环望曾与谁一起合作了同人志？"
    checker = CitationChecker(title_of={"w04.txt": "环望", "w09.txt": "浅见百合子"}.get)
    assert checker.check("浅见百合子[2]。", passages, question=question).text == ""
    assert checker.check("富士原昌幸[1]。", passages, question=question).text == "富士原昌幸[1]。"
    # A longer sentence that does not name the subject is judged by its words alone, as before.
    longer = checker.check("浅见百合子是日本的漫画家，曾合作同人志[2]。", passages, question=question)
    assert [s.status for s in longer.sentences] == ["kept"]
    # No passage is titled by the subject (an opening clause, not a name): bare answers are judged by their words.
    assert CitationChecker().check("浅见百合子[2]。", passages, question=question).text == "浅见百合子[2]。"


def test_a_subject_the_passage_names_may_be_restated() -> None:
    kept = CitationChecker().check("混合精度训练可以显著提高训练速度[1]。", PASSAGES, question="混合精度训练有什么好处？")
    assert [s.status for s in kept.sentences] == ["kept"]


def test_some_items_of_an_inline_enumeration_are_shown_as_the_whole_source_sentence() -> None:
    languages = "赫哲语是通古斯语族的一个语言。赫哲诸语言还包括奇勒恩语、奥罗克语和乌尔奇语。"
    chunk = Chunk("h", "w22.txt", languages, 0, len(languages))
    question = "赫哲诸语言除了赫哲语还包括哪些语言？"
    (sentence,) = CitationChecker().check("奥罗克语，乌尔奇语[1]。", {1: chunk}, question=question).sentences
    assert sentence.status == "kept" and sentence.spelled_out == "赫哲诸语言还包括奇勒恩语、奥罗克语和乌尔奇语。"
    # Every item named, or a question that asks for one thing: shown as written.
    (whole,) = CitationChecker().check("奇勒恩语、奥罗克语和乌尔奇语[1]。", {1: chunk}, question=question).sentences
    assert whole.status == "kept" and whole.spelled_out == ""
    (one,) = CitationChecker().check("奥罗克语[1]。", {1: chunk}, question="赫哲诸语言里最北的是什么语言？").sentences
    assert one.spelled_out == ""
    # The list's first and last items carry the words around it, in the source as in the claim.
    station = "在路网中占有重要的地位，是沟通华东、华南、西南和北方的交通要道，作业繁忙。"
    hub = Chunk("z", "w43.txt", station, 0, len(station))
    (named,) = CitationChecker().check(
        "株洲北站是沟通华东、华南、西南和北方的交通要道[1]。", {1: hub}, question="株洲北站是沟通哪些地方的交通要道？",
    ).sentences
    assert named.spelled_out == ""


def test_a_claim_supported_across_languages_cites_the_sentence_stating_its_number() -> None:
    airport = "在2008年6月18日开通经哈尔滨往返北京的航线。于2006年6月21日动工，总投资2.38亿元人民币。"
    chunk = Chunk("m", "w00.txt", airport, 0, len(airport))
    flights = (0, airport.index("于"))

    def semantic(sentence: str, passage: Chunk):  # the closest in meaning is the sentence about flights
        return (0, *flights)

    checker = CitationChecker(semantic=semantic, semantic_top_k=3)
    (citation,) = checker.check("Construction started in 2006 [1].", {1: chunk}, "en").citations
    assert citation.text == "于2006年6月21日动工，总投资2.38亿元人民币。"
    # Without a number to go by, the closest sentence is cited.
    (closest,) = checker.check("Flights to Beijing began [1].", {1: chunk}, "en").citations
    assert closest.text == airport[:flights[1]]


PEFT_SCALE = "a. LoRA\n- 数量级：极少，通常是总参数的 0.01% ~ 0.1%。\nb. IA3\n- 数量级：少，通常是总参数的 0.5% ~ 5%。"


def _peft_heading(chunk: Chunk, offset: int) -> str:
    """The section of `PEFT_SCALE` holding `offset`: the line "a. LoRA" or "b. IA3" above it."""
    return "PEFT > " + ("b. IA3" if offset - chunk.start >= PEFT_SCALE.index("b. ") else "a. LoRA")


def test_a_generic_label_replaced_by_what_its_section_is_about_is_no_swap() -> None:
    chunk = Chunk("p", "peft.md", PEFT_SCALE, 0, len(PEFT_SCALE), ("PEFT",))
    checker = CitationChecker(heading_at=_peft_heading)
    named = checker.check("LoRA：极少，通常是总参数的 0.01% ~ 0.1%[1]。", {1: chunk}, question="LoRA 要训练多少参数？")
    assert [s.status for s in named.sentences] == ["kept"]
    # The other section's subject put on this item is a term swapped: its section is about LoRA, not IA3.
    other = checker.check("IA3：极少，通常是总参数的 0.01% ~ 0.1%[1]。", {1: chunk}, question="要训练多少参数？")
    assert [s.status for s in other.sentences] == ["removed"]
    # A section that mentions the name without being titled by it is about something else: a swap.
    titled_otherwise = CitationChecker(heading_at=lambda chunk, offset: "PEFT > 4. 什么是IA3？它与LoRA相比有何改进？")
    mentioned = titled_otherwise.check("LoRA：极少，通常是总参数的 0.01% ~ 0.1%[1]。", {1: chunk}, question="要训练多少参数？")
    assert [s.status for s in mentioned.sentences] == ["removed"]
    # Without section headings to read, a replaced label is a swap as before.
    plain = CitationChecker().check("LoRA：极少，通常是总参数的 0.01% ~ 0.1%[1]。", {1: chunk}, question="LoRA 要训练多少参数？")
    assert [s.status for s in plain.sentences] == ["removed"]


def test_a_pronoun_whose_sentence_was_removed_is_removed_with_it() -> None:
    source = "QLoRA 是 LoRA 的升级版。它将冻结的权重量化到 4-bit，显存占用减少 4 倍。"
    chunk = Chunk("q", "peft.md", source, 0, len(source), ("QLoRA",))
    draft = "LoRA 是一种把权重量化的剪枝方法[1]。它将冻结的权重量化到 4-bit，显存占用减少 4 倍[1]。"
    checked = CitationChecker().check(draft, {1: chunk}, question="LoRA 是怎么工作的？")
    assert [(s.status, s.reason) for s in checked.sentences] == [("removed", "unsupported"), ("removed", "dangling")]
    assert not checked.citations and checked.kept_share == 0.0  # nothing of the draft's own stands
    # After a kept sentence the same pronoun has its referent: kept.
    kept = CitationChecker().check("QLoRA 是 LoRA 的升级版[1]。它将冻结的权重量化到 4-bit[1]。", {1: chunk}, question="QLoRA 是什么？")
    assert [s.status for s in kept.sentences] == ["kept", "kept"]


def test_a_citation_of_a_heading_opens_the_sentence_it_introduces_too() -> None:
    text = ("#### 涌现能力（Emergent Abilities）\n\n当模型规模超过某个阈值后，模型会突然展现出小模型无法表现出的复杂能力。"
            "这种能力无法从小模型外推。\n\n#### 缩放定律\n\n模型性能随规模平滑提升。")
    passages = {1: Chunk("e", "e.md", text, 0, len(text))}
    checked = CitationChecker().check("此现象称为涌现能力（Emergent Abilities）[1]。", passages)
    [citation] = checked.citations
    assert [span.text for span in citation.spans] == [
        "#### 涌现能力（Emergent Abilities）", "当模型规模超过某个阈值后，模型会突然展现出小模型无法表现出的复杂能力。"]


def test_a_cited_statement_or_a_label_before_another_heading_is_cited_alone() -> None:
    text = "LoRA 只训练很少的参数。\n\nLoRA (Low-Rank Adaptation)\n\n#### 其他方法\n\nAdapter 插入小模块。"
    passages = {1: Chunk("l", "l.md", text, 0, len(text))}
    stated = CitationChecker().check("LoRA 只训练很少的参数[1]。", passages)
    assert [span.text for span in stated.citations[0].spans] == ["LoRA 只训练很少的参数。"]
    label = CitationChecker().check("它叫 LoRA (Low-Rank Adaptation)[1]。", passages)
    assert [span.text for span in label.citations[0].spans] == ["LoRA (Low-Rank Adaptation)"]


def test_a_heading_copied_as_the_answer_is_removed_but_a_list_items_label_is_an_answer() -> None:
    text = "#### GPT-3模型解析\n\nGPT-3 具有 1750 亿参数。\n\n常见任务：\n- 机器翻译\n- 文本摘要"
    passages = {1: Chunk("g", "g.md", text, 0, len(text))}
    title = CitationChecker().check("GPT-3模型解析[1]。", passages, question="GPT-3 的参数量有多大？")
    assert title.text == "" and title.sentences[0].reason == "title" and not title.citations
    assert title.kept_share == 1.0 or not [s for s in title.sentences if s.reason not in {"title"}]  # claimless
    item = CitationChecker().check("机器翻译[1]。", passages, question="常见任务有哪些？")
    assert item.citations and item.sentences[0].status != "removed"


def test_a_table_row_supports_a_claim_under_its_column_headers_and_the_header_row_supports_none() -> None:
    table = (
        "| 类型 | 静态词嵌入 | 上下文词嵌入 |\n|  |  |  |\n| 代表模型 | Word2Vec, GloVe | BERT, GPT |\n"
        "| 核心思想 | 每个词只有一个固定的向量表示。 | 向量随上下文动态生成。 |"
    )
    chunk = Chunk("t", "t.md", table, 0, len(table))
    score, spans = supporting_spans("静态词嵌入的核心思想是每个词只有一个固定的向量表示", chunk)
    assert [table[s:e] for s, e in spans] == ["| 核心思想 | 每个词只有一个固定的向量表示。 | 向量随上下文动态生成。 |"]
    assert score == 1.0  # 静态词嵌入 and 核心思想 are read from the headers
    _, spans = supporting_spans("静态词嵌入和上下文词嵌入", chunk)  # the column names alone
    assert not any(table[s:e].startswith("| 类型") for s, e in spans)


def test_a_chinese_sentence_closed_with_a_latin_full_stop_ends_with_a_chinese_one() -> None:
    text = "混合精度训练可能导致训练不稳定。需要通过优化训练策略和算法来缓解。"
    passages = {1: Chunk("a", "a.md", text, 0, len(text))}
    checked = CitationChecker().check("可以优化训练策略和算法来缓解[1].", passages, "zh", question="训练不稳定怎么办？")
    assert checked.text == "可以优化训练策略和算法来缓解[1]。"
    english = CitationChecker().check("It is called 混合精度.", passages, "en", question="What is it called?")
    assert not english.text.endswith("。")


def test_an_echo_of_the_question_as_the_person_asked_it_is_removed_when_the_search_used_its_translation() -> None:
    passages = {1: Chunk("a", "ft.md", "全量微调需要大量显存。", 0, 11)}
    echo = "The current stock price of NVIDIA is [1]."
    translated = CitationChecker().check(echo, passages, "en", question="英伟达当前的股价是多少？",
                                         asked_as="What is the current stock price of NVIDIA?")
    assert [(s.status, s.reason) for s in translated.sentences] == [("removed", "echo")]
    same = CitationChecker().check(echo, passages, "en", question="What is the current stock price of NVIDIA?")
    assert [(s.status, s.reason) for s in same.sentences] == [("removed", "echo")]
