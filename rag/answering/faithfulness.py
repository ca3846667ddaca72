"""Sentence checks beyond word overlap: exact facts, refusals in disguise, and content nobody asked for.

Word overlap lets a sentence through when most of its words occur in the cited passage, which is
how a model's invented formula or changed number slips past (the words around it are right). So the
spans where one character changes the meaning — numbers, versions, formulas, code identifiers and
Latin-script names — must occur verbatim in the cited passage (or in the question, which the user
wrote). A sentence in which the model says the passages don't answer is an abstention, not a claim.
And text planted in a document ("请访问 http://…", "ignore previous instructions") must not reach the
answer as if it were one: links, shell commands and instructions to the reader are dropped unless
the question asks for them. Finally, what a question asks yes or no (`yes_no_clauses`) is the one part of it an
answer may not restate for free, and the terms a question names (`asked_terms`) tell quotes about it from quotes
about something else.
"""
from __future__ import annotations

import difflib
import re
from typing import Iterable

from rag.answering.excerpts import shown
from rag.core.language import detect_language, has_cjk
from rag.core.text import (
    LIST_BULLET, MARKUP, acronym_singular, is_name, is_stopword, latin_names, tokenize, units, words,
)

# A LaTeX command, $…$, or a run joined by math operators: R_\theta, x^2, QK^T/\sqrt{d_k}, a = b + c. Not prose
# between two shell variables ("$DOMAIN is not expanded, while ${DOMAIN} is"), nor an operator spaced on one side
# only ("a line FOO= associates…").
_FORMULA = re.compile(
    r"\$(?![^$\n]*[A-Za-z]{2,} [A-Za-z]{2,} [A-Za-z]{2,})[^$\n]+\$"
    r"|\\[A-Za-z]+(?:\{[^{}\n]*\})*"
    r"|[A-Za-z0-9()\[\]{}]+(?:(?:\s+[=^_√∑∏×÷]\s+|[=^_√∑∏×÷])[A-Za-z0-9()\[\]{}\\]+)+"
)
# 3.5, 1e-4, 70%, 0.001, v2.1, 16, 4096 — digits with their decimal point, exponent or percent sign.
_NUMBER = re.compile(r"(?<![A-Za-z0-9])v?\d+(?:[.,]\d+)*(?:[eE]-?\d+)?%?")
_SPACE = re.compile(r"\s+")


def exact_spans(sentence: str) -> list[str]:
    """The spans of `sentence` that must occur verbatim in its evidence (formulas, numbers, names)."""
    return [span for span, _ in _typed_spans(sentence)]


def _typed_spans(sentence: str) -> list[tuple[str, str]]:
    spans: list[tuple[str, str]] = []
    rest = sentence
    for match in _FORMULA.finditer(sentence):
        spans.append((match.group(0), "formula"))
        rest = rest.replace(match.group(0), " ")
    names = latin_names(rest)
    for name in names:
        rest = rest.replace(name, " ")
    spans.extend((m.group(0).rstrip(".,"), "number") for m in _NUMBER.finditer(rest))
    spans.extend((t, "name") for t in names)
    return [s for s in dict.fromkeys(spans) if s[0]]


_CONTENT_CHAR = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")
MIN_ALIGNED = 0.6
"""A claim is compared term by term with a source sentence it follows this closely (share of its characters in
matching runs); a looser paraphrase is left to the overlap and meaning checks."""
MAX_SWAPPED_CHARS = 6
"""Longest replaced piece counted as a swapped term (a word or two); longer rewrites are paraphrase."""


PURPOSE_WORDS = frozenset("为了 用于 用来 用以 以便 旨在 目的是 能够 使得 从而 进而 是指 就是 即是 称为 叫做".split())
"""Words that say what something is for or what it is called: "是为了防止" and "用于防止" say the same thing, so
replacing one with another is a rewording, not a swapped term (BM25's stopwords leave them in)."""


def _names_a_term(text: str) -> bool:
    """Whether `text` holds a word of two or more characters that is not a function word (通过, 使用, 是指在 and
    为了 reword a sentence; 量化, 降低 and NSP change what it says)."""
    return any(len(token) >= 2 and token not in PURPOSE_WORDS for token in tokenize(text))


def _content(text: str) -> str:
    return "".join(_CONTENT_CHAR.findall(text))


ANTONYMS = frozenset(frozenset(pair) for pair in (
    "新旧", "大小", "高低", "多少", "增减", "快慢", "长短", "强弱", "前后", "上下", "正负", "早晚", "难易", "轻重", "深浅",
    "有无", "开关", "升降",
))
"""One-character opposites: a copied sentence with one of them turned around says the opposite ("指向旧版本" → "指向新版本")."""
_NEGATION = re.compile(r"不(?![断同少仅但久管过论])|没|无(?!论)|未(?!来)|非(?!常)")
"""Negation (不, 没, 无, 未, 非), not the words that merely contain one (不断, 不同, 无论, 未来, 非常...)."""
MAX_FLIPPED_CHARS = 4
"""Longest piece around an added or dropped negation counted as a flip; a longer one is a new clause."""


def _turned_around(claimed: str, replaced: str) -> bool:
    """Whether one short aligned piece says the opposite of the other: a negation added or dropped ("会增加" ↔ "不会增加",
    "可以" ↔ "不能"), or a one-character opposite in its place ("指向新版本" ↔ "指回旧版本")."""
    if len(claimed) > MAX_FLIPPED_CHARS or len(replaced) > MAX_FLIPPED_CHARS:
        return False
    if len(claimed) == len(replaced) and any(frozenset(pair) in ANTONYMS for pair in zip(claimed, replaced)):
        return True
    return bool(_NEGATION.search(claimed)) != bool(_NEGATION.search(replaced))


_DENIAL = re.compile(
    r"\b(?:not|never|cannot|no longer|neither|nor|none|unable|without)\b|n[’']t\b", re.IGNORECASE,
)
"""An English sentence denying something. A bare "No," opening a reply is not one: the yes/no rule of the check
reads that."""
_HEDGE = re.compile(
    r"\b(?:no|except|unless|lacks?|instead|rather than|missing|fails?|failed|false|disabled|unsupported|deprecated|"
    r"obsolete|removed)\b",
    re.IGNORECASE,
)
"""What else, in a supporting sentence, says that something is not so ("disabled", "defaults to False")."""


def unsupported_denial(sentence: str, sources: Iterable[str], given: str = "") -> bool:
    """Whether an English `sentence` denies something ("cloudpickle cannot serialize lambdas") while none of the
    sentences supporting it denies anything (no negation or the like: not, no, except, disabled, 不, 没, 无...): its
    words come from a sentence that says the opposite ("cloudpickle can serialize a function by value"). Word overlap
    cannot see a dropped "not". Not judged at all when `given` (what the question lets an answer restate) denies
    something itself: any sentence may restate that ("…if the server doesn't specify one")."""
    if detect_language(sentence) != "en" or _DENIAL.search(given) or not _DENIAL.search(sentence):
        return False
    return not any(
        _DENIAL.search(text) or _HEDGE.search(text) or _NEGATION.search(text) for text in sources
    )


def denies(text: str) -> bool:
    """Whether English `text` denies something (not, cannot, n't, never, without...)."""
    return bool(_DENIAL.search(text))


def negated(text: str) -> bool:
    """Whether Chinese `text` holds a negation (不, 没, 无, 未, 非; not 不断, 无论...)."""
    return bool(_NEGATION.search(text))


def _whole_words(text: str, start: int, end: int) -> bool:
    """Whether `text[start:end]` does not cut a Latin word or number at either end (Chinese characters are words)."""
    def latin(index: int) -> bool:
        return 0 <= index < len(text) and text[index].isascii() and text[index].isalnum()

    return not (latin(start - 1) and latin(start)) and not (latin(end - 1) and latin(end))


_NAME_CHAR = re.compile(r"[A-Za-z0-9_.+-]")


def _word_around(text: str, start: int, end: int) -> str:
    """The Latin word holding `text[start:end]` (or touching it, when empty), without trailing dots or dashes."""
    while start > 0 and _NAME_CHAR.match(text[start - 1]):
        start -= 1
    while end < len(text) and _NAME_CHAR.match(text[end]):
        end += 1
    return text[start:end].strip(".-+")


def _renamed_names(sentence: str, source: str) -> list[tuple[str, str]]:
    """``[(claimed, source)]``: names of `source` that `sentence`, copying it, cuts or grows into other names ("QLoRA …"
    copied as "LoRA …", "BERT" as "RoBERTa"), the source's name said nowhere else in the sentence. An English plural
    ("GPU" → "GPUs"), a plain word's ending or a name left out beside another ("NormalFloat (NF4)" as "NF4") is none."""
    claim = shown(sentence)
    original = shown("".join(LIST_BULLET.sub("", line) for line in source.splitlines()))
    if not (latin_names(claim) and latin_names(original)):
        return []
    found = []
    matcher = difflib.SequenceMatcher(None, claim, original, autojunk=False)
    for operation, i1, i2, j1, j2 in matcher.get_opcodes():
        if operation == "equal" or (_whole_words(claim, i1, i2) and _whole_words(original, j1, j2)):
            continue
        if not all(_NAME_CHAR.match(char) for char in claim[i1:i2].strip() + original[j1:j2].strip()):
            continue  # an edit across words ("NormalFloat (" left out), not inside one
        claimed, named = _word_around(claim, i1, i2), _word_around(original, j1, j2)
        if (
            claimed and named and claimed.lower() != named.lower() and is_name(claimed) and is_name(named)
            and (claimed.lower() in named.lower() or named.lower() in claimed.lower())  # cut or grown, not another word
            and acronym_singular(named) != claimed and acronym_singular(claimed) != named
            and not re.search(rf"(?<![\w.+-]){re.escape(named)}(?![\w+-])", claim, re.IGNORECASE)
        ):
            found.append((claimed, named))
    return found


def swapped_terms(sentence: str, sources: Iterable[str]) -> list[tuple[str, str]]:
    """``[(claimed, source)]``: terms that `sentence` puts in place of a source sentence's own while copying the rest.

    A small model that copies a sentence and changes one term — 量化 → 剪枝, 降低 → 提高, NSP → MLM, 缩放因子 →
    掩码矩阵 — keeps nearly all its word overlap, and the new term may even occur elsewhere in the passage. Aligned
    character by character with the sentence it follows closely (`MIN_ALIGNED`), such a claim shows a replaced
    piece of similar length (two to `MAX_SWAPPED_CHARS` letters, digits or CJK characters each side, lengths within
    one), each side naming a term (`_names_a_term`), whose source side the claim does not say elsewhere in its own
    words: a term swapped, not one moved or a function word reworded. A negation added or dropped, or a one-character
    opposite (`_turned_around`), counts too: the sentence then says the opposite of its source; so does a name cut or
    grown into another name (`_renamed_names`: "QLoRA" copied as "LoRA").
    Markup and list bullets are ignored."""
    claim = MARKUP.sub("", sentence)
    found: list[tuple[str, str]] = []
    for source in sources:
        original = MARKUP.sub("", "".join(LIST_BULLET.sub("", line) for line in source.splitlines()))
        matcher = difflib.SequenceMatcher(None, claim, original, autojunk=False)
        if sum(block.size for block in matcher.get_matching_blocks()) < MIN_ALIGNED * len(claim):
            continue
        operations = matcher.get_opcodes()
        unmatched = " ".join(claim[i1:i2] for operation, i1, i2, _, _ in operations if operation != "equal")
        for operation, i1, i2, j1, j2 in operations:
            claimed, replaced = _content(claim[i1:i2]), _content(original[j1:j2])
            if not (_whole_words(claim, i1, i2) and _whole_words(original, j1, j2)):
                continue  # part of an English word ("hm" of "algorithm"): letters, not a term
            if operation != "equal" and _turned_around(claimed, replaced):
                found.append((claimed, replaced))
            elif (
                operation == "replace" and 2 <= len(claimed) <= MAX_SWAPPED_CHARS and 2 <= len(replaced) <= MAX_SWAPPED_CHARS
                and abs(len(claimed) - len(replaced)) <= 1 and replaced not in unmatched
                and _names_a_term(claimed) and _names_a_term(replaced)
            ):
                found.append((claimed, replaced))
        found += _renamed_names(sentence, source)
    return found


def _occurs(span: str, kind: str, text: str) -> bool:
    """Whether `span` occurs in `text` as a whole number / name (``16`` is not in ``FP16``), or a formula
    with the same characters apart from spacing. A call's empty parentheses don't count: ``try_acquire()`` is the
    ``try_acquire`` of ``try_acquire("item")``."""
    if span.endswith("()") and len(span) > 2:
        span = span[:-2]
    if kind == "formula":
        return _SPACE.sub("", span).lower() in _SPACE.sub("", text).lower()
    pattern = rf"(?<![A-Za-z0-9.]){re.escape(span)}(?![0-9]|\.[0-9]{'|[A-Za-z]' if kind == 'name' else ''})"
    if re.search(pattern, text, re.IGNORECASE):
        return True
    # An English plural of an acronym names the same thing: "GPUs" is in "多个 GPU 上".
    singular = acronym_singular(span) if kind == "name" else None
    return singular is not None and _occurs(singular, kind, text)


def missing_exact_spans(sentence: str, evidence: str, given: str = "") -> list[str]:
    """Exact spans of `sentence` found neither in `evidence` nor in `given` (the question)."""
    return [span for span, kind in _typed_spans(sentence) if not (_occurs(span, kind, evidence) or _occurs(span, kind, given))]


_NO_ANSWER = re.compile(
    r"资料(?:中|里)?(?:并)?(?:没有|未|不)(?:提到|提及|涉及|包含|给出|说明|回答|答案|相关)"
    r"|(?:没有|未)(?:提到|提及|涉及|给出)(?:相关|具体)?"
    r"|无法(?:根据|从)(?:资料|文档|上述)|无法回答|没有(?:找到)?(?:相关)?(?:信息|答案|内容)"
    r"|(?:passages?|documents?|context|sources?) (?:do(?:es)? not|don't|doesn't|did not|never) "
    r"(?:answer|contain|mention|provide|say|include|specify|discuss)"
    r"|(?:is|are|was|were) not (?:mentioned|provided|specified|addressed|discussed|covered)"
    r"|no information (?:about|on|regarding|in the)"
    r"|cannot be answered|can't answer|unable to answer",
    re.IGNORECASE,
)


def says_no_answer(sentence: str) -> bool:
    """True when the sentence says the passages don't answer (in Chinese or English)."""
    return bool(_NO_ANSWER.search(sentence))


_URL = re.compile(r"(?:https?|ftp)://\S+|www\.[\w-]+\.\S+|\b[\w.+-]+@[\w-]+\.[\w.]+\b|\b[\w-]+\.(?:com|net|org|io|cn|xyz|top)\b", re.I)
_COMMAND = re.compile(
    r"(?:^|[\s`'\"“(（])(?:sudo|rm\s+-|curl|wget|chmod|chown|bash|sh\s+-c|powershell|cmd\.exe|nc\s+-|eval\(|exec\(|"
    r"os\.system|subprocess)\b",
    re.IGNORECASE,
)
_INSTRUCTION = re.compile(
    r"忽略(?:之前|以上|上面|前面|所有)|无视(?:之前|以上)|请(?:访问|点击|联系|登录|下载|打开|前往|发送)|立即(?:访问|点击)|"
    r"系统(?:已|已经)?被攻破|你(?:现在)?是一个|扮演|"
    r"ignore (?:all |the )?(?:previous|prior|above)|disregard (?:all |the )?(?:previous|prior|above)|"
    r"\b(?:please )?(?:visit|click|log ?in|contact|download|go to)\b|you are now|act as|system prompt|jailbreak",
    re.IGNORECASE,
)
_ASKS_LINK = re.compile(r"链接|网址|网站|地址|url|link|website|site|email|邮箱", re.IGNORECASE)
_ASKS_COMMAND = re.compile(r"命令|指令|脚本|安装|运行|执行|shell|command|script|install|run|terminal|终端", re.IGNORECASE)


def unrequested_content(sentence: str, question: str) -> str | None:
    """Why `sentence` carries something the question did not ask for (a link, a command, an instruction)."""
    if _URL.search(sentence) and not _ASKS_LINK.search(question):
        return "a link the question did not ask for"
    if _COMMAND.search(sentence) and not _ASKS_COMMAND.search(question):
        return "a command the question did not ask for"
    if _INSTRUCTION.search(sentence) and not _INSTRUCTION.search(question):
        return "an instruction to the reader"
    return None


_CLAUSE = re.compile(r"[^，,。？?！!；;]+")
_YES_NO_ZH = re.compile(r"[吗嘛][\s]*$|(\w)[不没]\1|是否|能否|可否|有无")
_ASKS_WHAT = re.compile(r"怎么|怎样|如何|为什么|为何|什么|哪|多少|几")
"""A Chinese clause with one of these asks an open question even around an embedded 是不是 ("怎么判断它是不是更好")."""
_YES_NO_EN = re.compile(
    r"^\s*(?:is|are|was|were|does|do|did|has|have|had|should|must|may|might|(?:can|could|will|would)(?!\s+you\b))\b",
    re.IGNORECASE,
)


def yes_no_clauses(question: str) -> list[str]:
    """The clauses of `question` that ask yes or no ("需要很多标注数据吗", "会不会让训练变得不稳定", "Does LoRA add latency").

    An answer that restates such a clause asserts its answer, so unlike the rest of the question it must be
    supported by the cited sentence: "…需要很多标注数据[3]" cited to a sentence about reasoning is a wrong "yes"."""
    return [
        clause for clause in _CLAUSE.findall(question)
        if (_YES_NO_ZH.search(clause) and not _ASKS_WHAT.search(clause)) or _YES_NO_EN.search(clause)
    ]


def restatable(question: str) -> str:
    """The part of `question` an answer may repeat without support (its topic): all of it but its yes/no clauses."""
    asks = set(yes_no_clauses(question))
    return " ".join(clause for clause in _CLAUSE.findall(question) if clause not in asks)


SUBJECT_CHARS = 8
"""A question's first run of content words is the thing it asks about only when it is at most this long: a name
("短齿天竺鲷", "乐坛风云50年"); a longer run is a clause ("模型规模大到一定程度后突然冒出以前没有…")."""
_SUBJECT_BREAK = re.compile(r"[\W_]+|[的了吗呢是有在和与及或被把对从到将就也都还又很最更于]")
_TIME_CLAUSE = re.compile(r"(?:后|时|时候|前|期间)$")
"""Opening words ending like this say when, not what ("道同死后", "显存不够时")."""


def question_subject(question: str) -> str:
    """What a Chinese question is about when it names it first ("短齿天竺鲷" in "短齿天竺鲷有多少枚臀鳍硬棘？"): the words
    it opens with, up to a particle, question word or punctuation, if they are short enough to be a name
    (`SUBJECT_CHARS`) and hold Chinese; else "" (English subjects are names the exact-span rules already check)."""
    run = ""
    for word in words(question.strip()):
        if _SUBJECT_BREAK.fullmatch(word) or is_stopword(word.lower()):
            break  # a question opening with a question word or particle ("为什么不用…", "在 PyTorch 里…") names none first
        run += word
    if _TIME_CLAUSE.search(run):
        return ""
    return run if has_cjk(run) and 2 <= len(run) <= SUBJECT_CHARS else ""


_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9.+-]*[A-Za-z0-9]")


def asked_terms(question: str) -> list[str]:
    """What `question` names in Latin script: its names (RoPE, GPT-3), and in a Chinese question every Latin word
    (prefill, decode), which there is a term too."""
    if detect_language(question) == "zh":
        return list(dict.fromkeys(_LATIN_WORD.findall(question)))
    return latin_names(question)


def mentions_subject(subject: str, text: str) -> bool:
    """Whether `text` holds at least half of `subject`'s `units` (a name worded a little differently, "新西兰鸲鹟" and
    "鸲鹟", still counts)."""
    wanted = units(subject)
    if any(unit.isascii() for unit in wanted):
        text = text.lower()  # units of Latin words are lower-cased; Chinese ones need no copy of a long document
    return sum(unit in text for unit in wanted) * 2 >= len(wanted)


def names_nothing_asked(question: str, text: str) -> bool:
    """True when `question` names terms (`asked_terms`) and `text` mentions none of them: text about something
    else (quotes on the attention mechanism for "为什么FlashAttention可以加速注意力计算？")."""
    terms = asked_terms(question)
    return bool(terms) and not any(_occurs(term, "name", text) for term in terms)
