"""Whether a question needs the conversation before it: the cheap rule that lets a question that already stands
alone skip the rewrite.

A question is a follow-up when it refers back — a pronoun or demonstrative (它, 其, 这个, 上述, it, they, this), an
ordinal reference (第三个, the second one), an ellipsis (缺点呢？, 那…呢, what about …?) — or when it asks only
about an aspect (有什么缺点？, 怎么实现？, why?) without naming what it is about. Everything else stands alone,
including a switch to a new topic.
"""
from __future__ import annotations

import re
from typing import Callable

from rag.core.language import detect_language
from rag.core.text import acronym_singular, latin_names, tokenize

# Chinese words that point back. Single characters only where they can't start an unrelated word: 它 (它们), 其 (其中
# is excluded: "其中" introduces a part of something named in the same question).
_ZH_ANAPHOR = re.compile(
    r"它|(?<![尤极])其(?!中|他|它|余|实)|该(?:方法|模型|技术|机制|算法|问题|参数|步骤)|这(?:个|些|种|样|项|一|两|三|类|里|篇)|"
    r"那(?:个|些|种|样|项|类)|此(?:方法|模型|技术|机制|外)?(?=[的有是在能可])|上述|上面|前面|刚才|前者|后者|二者|两者|以上"
)
_EN_ANAPHOR = re.compile(
    r"\b(?:it|its|it's|itself|they|them|their|theirs|these|those|this|that one|the former|the latter|both|"
    r"above|mentioned|same)\b",
    re.IGNORECASE,
)
_NUMERAL = "一二三四五六七八九十两"
ORDINAL = re.compile(
    rf"第\s*(?P<zh>[{_NUMERAL}]{{1,3}}|\d{{1,2}})\s*(?:个|种|点|条|项|步|类|种方法|个方法)?|最后一(?:个|种|点|条|项)|"
    r"\bthe\s+(?P<en>first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last|\d{1,2}(?:st|nd|rd|th))"
    r"(?:\s+(?:one|item|point|method|step|option))?\b",
    re.IGNORECASE,
)
_ZH_ELLIPSIS = re.compile(r"^\s*(?:那|那么|还有|另外|再说说|再讲讲|继续|然后)|呢\s*[？?]?\s*$")
_EN_ELLIPSIS = re.compile(r"^\s*(?:and|what about|how about|why not|how so)\b", re.IGNORECASE)

ASPECTS = frozenset(
    """
    优点 缺点 好处 坏处 优势 劣势 局限 局限性 不足 挑战 难点 问题 作用 用途 用处 意义 原理 机制 原因 区别 差别 不同 联系 关系
    例子 举例 示例 应用 场景 步骤 流程 过程 实现 公式 代码 细节 定义 含义 特点 特征 代价 成本 风险 影响 效果 改进 解决 解决方法
    方法 办法 具体 为什么 呢 还有 详细 展开 更多 介绍 说 说说 讲 讲讲 解决办法 区分 比较 对比 举个 举 个 给 再 做 怎么办 一下
    advantage advantages disadvantage disadvantages drawback drawbacks benefit benefits pros cons limitation limitations
    downside downsides upside example examples work works used use uses purpose difference differences why more detail
    details step steps explain elaborate formula code implement implemented implementation tell me more please give
    show you i can could
    """.split()
)
"""Words that name an aspect of something rather than the thing: a question made only of these needs a topic."""


def is_followup(question: str) -> bool:
    """Whether `question` refers to or leans on the turns before it (see the module docstring)."""
    text = question.strip()
    if not text:
        return False
    if _ZH_ANAPHOR.search(text) or _EN_ANAPHOR.search(text) or ORDINAL.search(text):
        return True
    if _ZH_ELLIPSIS.search(text) or _EN_ELLIPSIS.search(text):
        return True
    return asks_only_an_aspect(text)


def anaphor(question: str) -> re.Match[str] | None:
    """The first pronoun or demonstrative of `question` that points back (它, 其, 这个, it, they, this), or None."""
    found = [m for m in (_ZH_ANAPHOR.search(question), _EN_ANAPHOR.search(question)) if m is not None]
    return min(found, key=lambda m: m.start()) if found else None


def asks_only_an_aspect(question: str) -> bool:
    """True when every topic word of `question` is an aspect word (有什么缺点？ → 缺点): it names no topic."""
    terms = tokenize(question)
    return all(term in ASPECTS for term in terms)


_ZH_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九", start=0)}
_EN_ORDINALS = {w: i for i, w in enumerate(
    ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"), start=1)}


def ordinal_position(match: re.Match[str]) -> int | None:
    """The 1-based position an ordinal reference names (第三个 → 3, the 2nd one → 2); -1 for "the last"; None
    when it names none this can read."""
    text = match.group(0)
    if "最后" in text or re.search(r"\blast\b", text, re.IGNORECASE):
        return -1
    english = match.group("en")
    if english:
        if english.lower() in _EN_ORDINALS:
            return _EN_ORDINALS[english.lower()]
        return int(re.match(r"\d+", english).group(0))  # type: ignore[union-attr]
    chinese = match.group("zh")
    if chinese is None:
        return None
    if chinese.isdigit():
        return int(chinese)
    return _chinese_number(chinese)


def _chinese_number(text: str) -> int | None:
    """一 … 九十九 (两 = 2)."""
    text = text.replace("两", "二")
    if "十" in text:
        tens, _, ones = text.partition("十")
        value = (_ZH_DIGITS.get(tens, 0) if tens else 1) * 10 + (_ZH_DIGITS.get(ones, 0) if ones else 0)
        return value or None
    if len(text) == 1 and text in _ZH_DIGITS:
        return _ZH_DIGITS[text] or None
    return None


NEW_TOPIC_UNSEEN = 0.5
"""A Chinese follow-up whose topic words are at least this share unknown to the index opens a new topic (set by hand:
half)."""


def names_new_topic(
    question: str, document_frequency: Callable[[str], int], documents_language: Callable[[], str | None] = lambda: "zh",
) -> bool:
    """Whether `question` is about something the index never mentions: a Latin-script name no passage uses (``GPT-5``;
    in a Chinese question any Latin word of three letters or more, ``Rust``), or, in Chinese over Chinese documents,
    mostly topic words (not aspect words, ellipsis words or "第三个") no passage uses. `document_frequency(token)` is
    the sparse index's; `documents_language()` the language most passages are in. Words of the other language are
    unknown to an index anyway, so across languages only names count."""
    text = _ZH_ELLIPSIS.sub(" ", ORDINAL.sub(" ", question))

    def unknown(name: str) -> bool:
        return any(document_frequency(token) == 0 for token in tokenize(name))

    for name in latin_names(text):
        singular = acronym_singular(name)
        if unknown(name) and (singular is None or unknown(singular)):
            return True
    if detect_language(text) != "zh":
        return False
    terms = [term for term in set(tokenize(text)) if term not in ASPECTS]
    if any(_LATIN_WORD.fullmatch(term) and document_frequency(term) == 0 for term in terms):
        return True
    chinese = [term for term in terms if not term.isascii()]
    if documents_language() != "zh":
        return False  # "那它支持哪些音频格式？" over English READMEs: no Chinese word is in them, whatever the topic
    return bool(chinese) and sum(document_frequency(t) == 0 for t in chinese) / len(chinese) >= NEW_TOPIC_UNSEEN


_LATIN_WORD = re.compile(r"[a-z]{3,}")
