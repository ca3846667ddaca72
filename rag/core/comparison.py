"""What a comparison question compares ("LoRA 和 Adapter Tuning 分别是怎么工作的？", "What is the difference between
X and Y?"): the things it names and one question per thing, so that passages and excerpts can cover each.

A comparison names its things joined by 和/与/、/or/and before a word that asks about each (分别, 各自, 区别,
difference...). Without such a word, "A和B" is usually one thing ("效果和开销", "文本和图像的多模态识别") and the
question is left whole. The per-thing questions are for searching and ranking, not for showing: each keeps the words
the things share ("重参数化在 VAE 和 GAN 中…" gives "重参数化在VAE中…" and "重参数化在GAN中…").
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from rag.core.text import units, words

MAX_THINGS = 4
"""More things than this in one question are read as a list of names, not a comparison."""

_ZH_EACH = re.compile(
    r"分别|各自|各有|各是|各起|(?:有什么|有何|有哪些|的)?(?:区别|差异|异同)|(?:有什么|有何|有哪些|的)不同|不同之处|"
    r"哪个(?:更|好)|谁更"
)
_ZH_CLAUSE_BREAK = re.compile(r"[，,：:；;？?！!。]")
_ZH_COMPARED_WITH = re.compile(r"\s*(?:相比|相比较|比较|对比|比起来)\s*$")
_ZH_JOINS = re.compile(r"\s*(?:以及|或者|还是|和|与|跟|及|或|、)\s*")
_SHARED_HEAD_WORDS = frozenset({"在", "对于", "对", "的", "里", "中", "时"})
"""A word that ends what the first thing of a comparison shares with the others: "重参数化在 VAE" → "重参数化在"."""
_SHARED_TAIL_WORDS = frozenset(
    {"这", "那", "这些", "那些", "这类", "两", "两个", "这两个", "在", "中", "里", "上", "方面", "之间"}
)
"""A word that starts what the last thing shares with the others: "GAN 中" → "中", "微调这两个阶段" → "这两个阶段"."""

_EN_BETWEEN = re.compile(
    r"\b(?:differences?|distinctions?|difference|contrast|trade-?offs?)\s+between\s+(?P<things>.+?)(?=[?.,;]|\s+(?:in|for|when|with)\s|$)",
    re.IGNORECASE,
)
_EN_COMPARE = re.compile(r"\bcompare\s+(?P<things>.+?)(?=[?.;:]|\s+(?:in|for|when)\s|$)", re.IGNORECASE)
_EN_EACH = re.compile(
    r"\b(?:how|what|why|where|when)\s+(?:do|does|did|are|is|were|was|can|could)\s+(?P<things>.+?)\s+each\b", re.IGNORECASE
)
_EN_DIFFER = re.compile(
    r"\b(?:how|why|where|in what ways?)\s+(?:do|does|did)\s+(?P<things>.+?)\s+differ\b", re.IGNORECASE
)
_EN_VERSUS = re.compile(r"(?P<things>[\w.+-]+(?:\s+[\w.+-]+)?\s+(?:vs\.?|versus)\s+[\w.+-]+(?:\s+[\w.+-]+)?)", re.IGNORECASE)
_EN_CLAUSE = re.compile(r"(?:how|what|why|when|where|which|who|whether)\b", re.IGNORECASE)
_EN_JOINS = re.compile(r"\s*(?:,\s*and\s+|,\s*or\s+|,\s*|\s+and\s+|\s+or\s+|\s+vs\.?\s+|\s+versus\s+|\s+with\s+)", re.IGNORECASE)


@dataclass(frozen=True)
class Comparison:
    """The things a question compares, in the order it names them, and one question about each."""

    things: tuple[str, ...]
    questions: tuple[str, ...]

    def left_out(self, text: str) -> list[int]:
        """Positions of the things `text` doesn't name. A thing is named by any word of it no other thing has
        ("多头" for 多头注意力 beside 自注意力; a Latin word whole, so "QLoRA" doesn't name LoRA); one with no such word
        counts as named."""
        own = [units(thing) - set().union(*(units(other) for other in self.things if other != thing)) for thing in self.things]
        present = units(text)
        return [index for index, words in enumerate(own) if words and not words & present]


def comparison(question: str) -> Comparison | None:
    """What `question` compares; None for any other question (one thing, or several without a word asking
    about each)."""
    question = question.strip()
    found = _chinese(question) if re.search(r"[\u4e00-\u9fff]", question) else _english(question)
    return Comparison(*map(tuple, zip(*found))) if found else None


def _chinese(question: str) -> list[tuple[str, str]]:
    """(thing, question about it) pairs of a Chinese comparison."""
    each = _ZH_EACH.search(question)
    if each is None:
        return []
    head = question[:each.start()].rstrip("，, ")  # "预训练和微调这两个阶段，分别靠…": the things end a clause early
    breaks = [0, *(m.end() for m in _ZH_CLAUSE_BREAK.finditer(head))]
    # The things are named in the last clause before the word asking about each, or in the one before it
    # ("Word2Vec这类静态词嵌入和BERT这类上下文词嵌入，在词向量表示上有什么不同？").
    for clause_start, clause_end in ((breaks[-1], len(head)), *([(breaks[-2], breaks[-1] - 1)] if len(breaks) > 1 else [])):
        clause = _ZH_COMPARED_WITH.sub("", head[clause_start:clause_end])
        things = [t.strip() for t in _ZH_JOINS.split(clause)]
        if 2 <= len(things) <= MAX_THINGS and all(things):
            break
    else:
        return []
    shared_head, first = _shared_head(things[0])
    if not any(other.endswith(first) for other in things[1:]):  # "基于词的分词、子词分词": 的 tells them apart
        things[0] = first
    else:
        shared_head = ""
    if not _shared_tail(things[0])[1]:  # "Word2Vec这类静态词嵌入和BERT这类上下文词嵌入": each has its own
        things[-1], shared_tail = _shared_tail(things[-1])
    else:
        shared_tail = ""
    shared_tail = _ZH_THESE.sub("这种", shared_tail)  # "GPTQ、AWQ 这些量化方法" → "GPTQ这种量化方法"
    before = question[:clause_start]
    after = question[clause_end:len(head)] + _about_one(question[len(head):])
    return [(thing, _joined(before, shared_head, thing, shared_tail, after)) for thing in things]


_ZH_ABOUT_ONE = (
    (re.compile(r"^(?:分别|各自)"), ""),
    (re.compile(r"^各(?=[有是起])"), ""),
    (re.compile(r"^(?:有什么|有何|有哪些)(?:区别|不同|差异|异同)"), "有什么特点"),
    (re.compile(r"^的?(?:区别|不同|差异|异同)(?:之处)?"), "的特点"),
    (re.compile(r"^(?:哪个|谁)更"), "是否更"),
    (re.compile(r"各自的?"), "其"),
)
_ZH_THESE = re.compile(r"这(?:些|两|三|四|几)(?:种|个|类)?")


def _about_one(rest: str) -> str:
    """The words after a comparison's things, asking about one of them: "分别是怎么工作的？" → "是怎么工作的？",
    "有什么区别？" → "有什么特点？"."""
    pause = rest[:len(rest) - len(rest.lstrip("，, "))]
    rest = rest[len(pause):]
    for pattern, replacement in _ZH_ABOUT_ONE:
        rest = pattern.sub(replacement, rest, count=1)
    return pause + rest


def _shared_head(thing: str) -> tuple[str, str]:
    """The words the first thing shares with the others ("重参数化在") and the thing itself ("VAE")."""
    cut = words(thing)
    for index in range(len(cut) - 2, -1, -1):
        word = cut[index]
        # jieba joins 在 to the word before it ("化在") when a Latin name follows
        if word in _SHARED_HEAD_WORDS or (word.endswith("在") and cut[index + 1].isspace()):
            head, rest = "".join(cut[:index + 1]), "".join(cut[index + 1:]).strip()
            return (head, rest) if rest else ("", thing)
    return "", thing


def _shared_tail(thing: str) -> tuple[str, str]:
    """The last thing itself ("GAN") and the words it shares with the others ("中")."""
    cut = words(thing)
    for index in range(1, len(cut)):
        if cut[index] in _SHARED_TAIL_WORDS or cut[index].startswith(("这", "那")):
            own = "".join(cut[:index]).strip()
            return (own, "".join(cut[index:])) if own else (thing, "")
    return thing, ""


def _joined(*pieces: str) -> str:
    """`pieces` concatenated, with a space only between two Latin letters or digits that would otherwise touch."""
    text = ""
    for piece in pieces:
        if text and piece and re.match(r"[A-Za-z0-9]", piece) and re.search(r"[A-Za-z0-9]$", text):
            text += " "
        text += piece
    return text


def _english(question: str) -> list[tuple[str, str]]:
    """(thing, question about it) pairs of an English comparison."""
    for pattern in (_EN_BETWEEN, _EN_DIFFER, _EN_EACH, _EN_COMPARE, _EN_VERSUS):
        found = pattern.search(question)
        if found is None:
            continue
        if _EN_CLAUSE.match(found.group("things")):
            return []  # "between how X does … and Y …": two clauses, not two things
        things = [t.strip() for t in _EN_JOINS.split(found.group("things")) if t.strip()]
        things = [re.sub(r"^(?:the|a|an)\s+", "", t, flags=re.IGNORECASE) for t in things]
        if not 2 <= len(things) <= MAX_THINGS:
            return []
        things = _share_english_noun(things)
        before, after = question[:found.start("things")], question[found.end("things"):]
        if pattern is _EN_DIFFER:
            before, after = "What is ", "?"
        elif pattern is _EN_EACH:
            after = re.sub(r"^\s*each\b", "", after)
        elif pattern is not _EN_VERSUS:
            before = "What is "  # "What is the difference between A and B?" asks, of each, what it is
        return [(thing, f"{before}{thing}{after}".strip()) for thing in things]
    return []


_ADJECTIVE = re.compile(r"[a-z-]+(?:ic|al|ive|ed|ous|ary|ar|ent|ant|ful|less|ble|ing)")


def _share_english_noun(things: list[str]) -> list[str]:
    """"intrinsic and extrinsic evaluation": the last thing's head noun, missing from the one-word things before it,
    is theirs too ("intrinsic evaluation")."""
    last = things[-1].split()
    if len(last) < 2 or not all(_ADJECTIVE.fullmatch(thing) for thing in things[:-1]):
        return things
    noun = " ".join(last[1:])
    return [f"{thing} {noun}" for thing in things[:-1]] + [things[-1]]
