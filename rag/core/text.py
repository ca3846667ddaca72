"""Language helpers shared by ingestion and retrieval: BM25 tokens and sentence spans."""
from __future__ import annotations

import bisect
import re
from functools import lru_cache

from rag.core.tables import is_header_row, is_table_row, line_at

# Question words and particles that carry no topic; keeping them makes every question match every heading.
_STOPWORDS = frozenset(
    """
    的 了 是 在 和 与 及 或 等 吗 呢 吧 啊 么 什么 怎么 怎样 怎么样 如何 为什么 为何 哪些 哪个 哪 有 有哪些 一个 一种
    这 那 这个 那个 这些 那些 其 之 也 都 就 而 并 被 把 对 对于 中 上 下 为 以 及其 可以 能 会 要 请 简述 解释 描述
    说明 讨论 主要 通常 以及 我们 你 您 它 它们 他们 进行 使用 通过 什么样 是否 多少
    a an the of to in on for and or is are was were be been what how why which who whom when where does do did
    can could should would will with by as at from that this these those it its into about than then there their
    """.split()
)
_TOKEN_CHARS = re.compile(r"\w", re.UNICODE)


def is_stopword(word: str) -> bool:
    """Whether a lower-cased word is a question word or particle that carries no topic (BM25 leaves these out)."""
    return word in _STOPWORDS


@lru_cache(maxsize=1)
def _segmenter():
    # Imported here: jieba's import and dictionary load are for processes that tokenize.
    from rag.core.segmenter import Segmenter, default_dictionary_path, load_dictionary

    return Segmenter(load_dictionary(default_dictionary_path()))


def tokenize(text: str) -> list[str]:
    """Tokens for BM25: jieba search-mode words, lower-cased, without punctuation or stopwords.

    Mixed terms survive as single tokens (``lora``, ``fp16``, ``kv`` + ``cache``), so English
    technical terms inside Chinese text match regardless of case.
    """
    tokens = []
    for token in _segmenter().cut_for_search(text.lower()):
        token = token.strip()
        if token and token not in _STOPWORDS and _TOKEN_CHARS.search(token):
            tokens.append(token)
    return tokens


_UNITS = re.compile(r"[\u4e00-\u9fff]+|[0-9A-Za-z]+(?:[-'][0-9A-Za-z]+)*")


_CJK_WRAP = re.compile(
    r"(?:(?<=[\u4e00-\u9fff，、（“‘《「『])[ \t]*\n[ \t]*(?=[\u4e00-\u9fff，。、；：！？）”’》」』（“A-Za-z0-9])"
    r"|(?<=[A-Za-z0-9)）”’》」』])[ \t]*\n[ \t]*(?=[\u4e00-\u9fff，。、；：！？）”’》」』（“]))"
)
"""A line break a Chinese paragraph was hard-wrapped at: between a character that ends no sentence (an ideograph, a
comma, an opening bracket) and one that goes on, or between a word, number or closing bracket and Chinese that goes on
("…前向和反向\n传播…", "…和\nTransformer等", "…“river bank”\n（河岸）…"). Markdown renders it as nothing between two
Chinese characters."""


MIN_WRAPPED_WIDTH = 40
"""A Chinese line this wide (a Chinese character counting two columns) or wider can have been hard-wrapped: editors wrap
at 60–80 columns, and a shorter line that stops without punctuation is a title or a label ("混合精度训练的优势")."""


def _display_width(line: str) -> int:
    return sum(2 if "\u2e80" <= ch <= "\uffef" else 1 for ch in line)


def join_cjk_wraps(text: str) -> str:
    """`text` without the line breaks it was hard-wrapped at inside Chinese sentences (`_CJK_WRAP`, where it does not
    end a heading, table row or code line, or start a list item: `_soft_wraps`): what a reader sees, and what is
    embedded, searched, read by the model and checked."""
    if "\n" not in text:
        return text
    soft = _soft_wraps(text)
    pieces, last = [], 0
    for wrap in _CJK_WRAP.finditer(text):
        if text.index("\n", wrap.start()) in soft:
            pieces.append(text[last:wrap.start()])
            last = wrap.end()
    return "".join(pieces) + text[last:] if pieces else text


def units(text: str) -> set[str]:
    """Character bigrams of CJK runs (a lone character as itself) and lower-cased Latin/digit words: what the
    citation check counts to compare a sentence with its evidence."""
    found: set[str] = set()
    for run in _UNITS.findall(join_cjk_wraps(text)):
        if "\u4e00" <= run[0] <= "\u9fff":
            found.update({a + b for a, b in zip(run, run[1:])} or {run})
        else:
            found.add(run.lower())
    return found


FUNCTION_CHARACTERS = frozenset("的 了 是 在 和 与 及 或 等 有 也 都 就 而 并 被 把 对 为 以 其 之 从 向 于 将 由".split())
"""Chinese one-character function words: a bigram reaching into one ("内和" in "室内和室外") is the way a sentence
is phrased, not something it claims."""


@lru_cache(maxsize=4096)
def claim_units(text: str) -> frozenset[str]:
    """`units` of a sentence whose support is measured: CJK bigrams that reach into a one-character function word
    (`FUNCTION_CHARACTERS`, as jieba cuts it: "和" in "室内/和/室外", not in "和平") left out, so "种类有室内和室外" is
    judged by 室内 and 室外, not also by 有室, 内和 and 和室, which a passage saying "一种位于室内，一种位于室外" lacks."""
    found: set[str] = set()
    for run in _UNITS.findall(join_cjk_wraps(text)):
        if not "\u4e00" <= run[0] <= "\u9fff":
            found.add(run.lower())
            continue
        function_at, offset = set(), 0
        for word in words(run):
            if word in FUNCTION_CHARACTERS:
                function_at.add(offset)
            offset += len(word)
        bigrams = {run[i:i + 2] for i in range(len(run) - 1) if i not in function_at and i + 1 not in function_at}
        found.update(bigrams or {run})
    return frozenset(found)


def words(text: str) -> list[str]:
    """`text` cut into words (jieba's default mode; punctuation and spaces are words of their own), in order."""
    return list(_segmenter().cut(text))


# A sentence ends at Chinese or Western terminal punctuation (plus closing quotes/brackets) or a line break.
_SENTENCE_END = re.compile(r"[。！？；!?;]+[”’」』）)\]]*|\.(?=\s)|\n+")
_FENCE = re.compile(r"^\s*(?:```|~~~)", re.MULTILINE)
_UNFINISHED_LINE = re.compile(r"[A-Za-z0-9,)`'\"*_-]$")
_CONTINUATION = re.compile(r"[a-z(`]")
_BLOCK_MARK = re.compile(r"[#|<]|```|~~~")


def _fence_starts(text: str) -> list[int]:
    """Offsets of the fence lines of `text`, in order: an odd count before an offset puts it inside a code block."""
    return [m.start() for m in _FENCE.finditer(text)]


def _inside_fence(fences: list[int], offset: int) -> bool:
    return bisect.bisect_left(fences, offset) % 2 == 1


def _soft_wraps(text: str) -> set[int]:
    """Offsets of the line breaks inside a hard-wrapped paragraph, list item or quote: a Western line that stops
    mid-sentence ("it just returns a dict with the") and a next line that goes on in lower case ("setting is thread-local"),
    or a Chinese sentence wrapped mid-clause (`_CJK_WRAP`), outside code fences and not opening a heading, list item,
    table row or quote of its own. Markdown reads such a break as a space (as nothing between Chinese characters);
    splitting there would cut sentences into line fragments."""
    fences = _fence_starts(text)
    soft = set()
    position = text.find("\n")
    while position >= 0:
        line_start = text.rfind("\n", 0, position) + 1
        next_end = text.find("\n", position + 1)
        line, following = text[line_start:position].strip(), text[position + 1:next_end if next_end >= 0 else len(text)].strip()
        in_fence = _inside_fence(fences, position)
        quoted = line.startswith(">") and following.startswith(">")
        if quoted:
            line, following = line.lstrip("> "), following.lstrip("> ")
        western = _UNFINISHED_LINE.search(line) and _CONTINUATION.match(following)
        chinese = (line and following and _display_width(line) >= MIN_WRAPPED_WIDTH
                   and _CJK_WRAP.search(f"{line[-1:]}\n{following[:1]}"))
        if (
            not in_fence and line and following and not line.startswith(("#", "|", "```", "~~~"))
            and (western or chinese)
            and (quoted or not (_BLOCK_MARK.match(following) or LIST_BULLET.match(following)))
        ):
            soft.add(position)
        position = text.find("\n", position + 1)
    return soft


_WORD_BEFORE_DOT = re.compile(r"(?<![\w.])((?:[A-Za-z]\.)*[A-Za-z]+)$")
_NEVER_FINAL = frozenset("e.g i.e vs cf viz approx incl resp al mr mrs ms dr prof fig eq sec ch no".split())
"""Abbreviations whose full stop does not end a sentence ("(e.g. in development)", "static vs. dynamic")."""
_LONGEST_ABBREVIATION = 8  # how far back from a full stop its word is looked for (a window: texts have many stops)


def _abbreviated(text: str, dot: int) -> bool:
    """Whether the full stop at `dot` ends an abbreviation rather than a sentence: one of `_NEVER_FINAL`, or
    "etc." followed by a lower-case word ("sets, etc. are allowed")."""
    match = _WORD_BEFORE_DOT.search(text, max(0, dot - _LONGEST_ABBREVIATION), dot)
    if match is None:
        return False
    word = match.group(1).lower()
    if word in _NEVER_FINAL:
        return word != "no" or text[dot + 1:dot + 3].strip()[:1].isdigit()  # "No. 5", not "say no."
    if word == "etc":
        following = text[dot + 1:].lstrip(" \t")
        return bool(following) and following[0].islower()
    return False


def split_sentences(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the sentences of `text`, shifted by `offset`. A line break ends a sentence,
    except inside a hard-wrapped paragraph (`_soft_wraps`); a list item's number ("1. ") ends none, and a table row
    is one sentence whatever punctuation its cells hold (`is_table_row`).

    Spans are trimmed of surrounding whitespace and never empty; text between spans is only whitespace.
    """
    spans = []
    start = 0
    soft = _soft_wraps(text) if "\n" in text else set()
    for match in _SENTENCE_END.finditer(text):
        if match.group() == "\n" and match.start() in soft:
            continue
        if match.group() == "." and (_abbreviated(text, match.start()) or _LIST_NUMBER.match(_line_before(text, match.start()))):
            continue
        if not match.group().startswith("\n") and is_table_row(line_at(text, match.start())[1]):
            continue
        end = match.start() if match.group().startswith("\n") else match.end()
        spans.append((start, end))
        start = match.end()
    spans.append((start, len(text)))
    trimmed = []
    for begin, end in spans:
        piece = text[begin:end]
        stripped = piece.strip()
        if stripped:
            lead = len(piece) - len(piece.lstrip())
            trimmed.append((offset + begin + lead, offset + begin + lead + len(stripped)))
    return trimmed


_LIST_NUMBER = re.compile(r"^\s*(?:[-*+•]\s+)?\d{1,2}$")
"""A line so far that is only a list item's number: the full stop after it opens the item ("1. **NF4 量化**: …")."""


def _line_before(text: str, offset: int) -> str:
    return text[text.rfind("\n", 0, offset) + 1:offset]


_document_fences = lru_cache(maxsize=64)(_fence_starts)  # in_code_block asks about many offsets of one document


def is_fence_line(line: str) -> bool:
    """Whether `line` opens or closes a fenced code block (```` ``` ````, ``~~~``)."""
    return bool(_FENCE.match(line))


def in_code_block(document: str, offset: int) -> bool:
    """Whether `offset` of `document` lies in a fenced code block (its fence lines included)."""
    line_start = document.rfind("\n", 0, offset) + 1
    return bool(_FENCE.match(document, line_start)) or _inside_fence(_document_fences(document), line_start)


def code_span(code: str) -> str:
    """`code` as an inline code span that shows it verbatim, whatever backticks it holds."""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", code)), default=0) + 1)
    pad = " " if code.startswith("`") or code.endswith("`") else ""
    return f"{fence}{pad}{code}{pad}{fence}"


LIST_BULLET = re.compile(r"^\s*(?:[-*+•]|\d{1,2}[.)、])\s+")
"""A list item's bullet at the start of a line (``- ``, ``* ``, ``1. ``, ``2) ``, ``3、``); one definition for the
answer check, extractive answers and the UI."""


def is_lead_in(sentence: str) -> bool:
    """A sentence that announces what follows ("优势主要体现在以下几个方面：", "* **缺点：**") and says nothing itself.
    One definition for excerpts, extractive answers and the answer check."""
    return sentence.rstrip().rstrip("*").rstrip().endswith(("：", ":"))


MARKUP = re.compile(r"[*_`#>★☆\s]+")
"""Markdown emphasis, code, heading and quote marks, rating stars and whitespace: what to drop when comparing the
words of two texts."""
# Interview documents label the question line: "**题目：** 请简要介绍……。"
_QUESTION_LABELS = ("题目：", "题目:", "问题：", "问题:", "面试题：", "面试题:", "Question:", "Q:")


def is_bare_question(line: str) -> bool:
    """True for a line that only states a question, e.g. ``★★★★☆ **2. RAG 由哪些组件构成？**``.

    Such lines match a user's question closely while answering nothing, so they are never evidence.
    """
    core = MARKUP.sub("", line)
    return bool(core) and (core.endswith(("？", "?")) or core.startswith(_QUESTION_LABELS))


_WORD_CHAR = re.compile(r"[\w\u4e00-\u9fff]")


HTML_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_WORDS = re.compile(r"[A-Za-z0-9_]+|[\u4e00-\u9fff]")


def is_markup_only(sentence: str) -> bool:
    """An HTML line that is layout, not a statement: a title (``<h1 align="center">PyrateLimiter</h1>``), a badge or
    an image; fewer than two words once its tags are removed."""
    stripped = sentence.strip()
    return bool(HTML_TAG.match(stripped)) and len(_WORDS.findall(HTML_TAG.sub(" ", stripped))) < 2


def evidence_spans(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Sentence spans of `text` that can serve as evidence: not bare questions, markup, fragments or a table's
    column names."""
    spans = []
    for start, end in split_sentences(text):
        sentence = text[start:end]
        if (
            len(_WORD_CHAR.findall(sentence)) >= 4 and not is_bare_question(sentence) and not is_fence_line(sentence)
            and not is_markup_only(sentence) and not is_header_row(text, start)
        ):
            spans.append((offset + start, offset + end))
    return spans


# Names a word change would falsify: GPT-4, LLaMA, QLoRA, FP16, torch.cuda.amp, bf16, RoPE, KV.
_LATIN_TERM = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9]*(?:[-_.][A-Za-z0-9]+)*")
_ACRONYM_PLURAL = re.compile(r"[A-Z][A-Z0-9]+s")
_ABBREVIATIONS = frozenset({"e.g", "i.e", "etc", "vs", "cf", "a.k.a", "et al", "no"})


def is_name(term: str) -> bool:
    """An acronym, a mixed-case or alphanumeric name, or a dotted/underscored identifier."""
    if len(term) < 2 or term.lower() in _ABBREVIATIONS:
        return False
    inner_upper = any(c.isupper() for c in term[1:])
    has_digit = any(c.isdigit() for c in term)
    return inner_upper or has_digit or "_" in term or "." in term.strip(".")


def latin_names(text: str) -> list[str]:
    """The Latin-script names in `text` (``RoPE``, ``GPT-4``, ``QLoRA``, ``torch.cuda.amp``), in order."""
    terms = (match.group(0).rstrip(".") for match in _LATIN_TERM.finditer(text))
    return [term for term in terms if is_name(term)]


def acronym_singular(name: str) -> str | None:
    """``GPU`` for the English plural ``GPUs`` (an acronym plus "s"); None for anything else."""
    return name[:-1] if _ACRONYM_PLURAL.fullmatch(name) else None
