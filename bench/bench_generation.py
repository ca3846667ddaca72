"""Answer generation with the packaged Gemma 3 270M on hand-picked corpus passages.

    python bench/bench_generation.py [--variant NAME ...] [--threads N] [--threads-batch N] [--busy N] [--cold] [--forced-pick]

For each prompt variant and question: time to first token, total seconds, generated tokens/s and the
raw answer, plus crude quality checks (cites a passage it was given, cites the expected passage,
uses the no-answer phrase exactly when it should, answers in the question's language, length) and
which passage the answer's wording comes from (``lexical``: most shared CJK bigrams/words) or which
one the model names when a grammar forces ``[n]`` after its answer (``pick``, with --forced-pick).
Questions run in order on one model, so after the first one llama.cpp reuses the cached state of
the prompt's fixed prefix (instructions + worked examples); ``cold`` rows reset the cache first.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rag.answering.prompts import (
    COMPLETION_STOP,
    EXAMPLES,
    INSTRUCTIONS,
    Example,
    Passage,
    build_answer_prompt,
    render_completion,
)
from rag.core.language import detect_language
from rag.generation.llama_cpp import LlamaCppGenerator
from rag.refusal.policy import NO_ANSWER

_MARKER = re.compile(r"\[(\d+)\]")
CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def section(file: str, heading: str, until: str = "#") -> str:
    """The text under the first line starting with `heading`, up to the next line starting with `until`."""
    lines = (CORPUS / file).read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip("#★☆ *").startswith(heading))
    body = []
    for line in lines[start + 1:]:
        if line.startswith(until) or line.startswith("#"):
            break
        body.append(line)
    return "\n".join(body).strip()


def line_of(file: str, needle: str) -> str:
    """The one corpus line containing `needle` (for bare-question and single-paragraph passages)."""
    return next(l for l in (CORPUS / file).read_text(encoding="utf-8").splitlines() if needle in l).strip()


MP = "llm-principles-and-mixed-precision.md"
BLOG = "llm-deep-dive-blog.md"
OUTLINE = "llm-full-interview-outline.md"
ROOT_MP = "大语言模型原理基础与前沿"


@dataclass
class Case:
    question: str
    passages: list[Passage]
    expected: set[int]  # passage numbers a correct answer cites; empty = the passages do not answer


def cases() -> list[Case]:
    return [
        Case(
            "混合精度训练有什么好处？",
            [
                Passage(1, f"{ROOT_MP} > 5. 混合精度训练的优势是什么？", section(MP, "5. 混合精度训练的优势")),
                Passage(2, f"{ROOT_MP} > 6. 混合精度训练的挑战是什么？", section(MP, "6. 混合精度训练的挑战")),
            ],
            {1},
        ),
        Case(
            "Transformer模型的核心思想是什么？",
            [
                Passage(1, f"{ROOT_MP} > 4. 混合精度是什么？", section(MP, "4. 混合精度是什么")),
                Passage(2, f"{ROOT_MP} > 3. Transformer模型的核心思想是什么？", section(MP, "3. Transformer模型的核心思想")),
            ],
            {2},
        ),
        Case(
            "稀疏技术有什么优势？",
            [
                Passage(1, "三、大语言模型优化措施 > 5. 量化技术", section(BLOG, "5. 量化技术")),
                Passage(2, "三、大语言模型优化措施 > 6. 稀疏技术", section(BLOG, "6. 稀疏技术")),
            ],
            {2},
        ),
        Case(
            "What is quantization used for in large language models?",
            [
                Passage(1, "三、大语言模型优化措施 > 5. 量化技术", section(BLOG, "5. 量化技术")),
                Passage(2, "三、大语言模型优化措施 > 6. 稀疏技术", section(BLOG, "6. 稀疏技术")),
            ],
            {1},
        ),
        Case(
            "What is the difference between pre-training and fine-tuning?",
            [Passage(1, "一、大语言模型原理基础 > 1. 预训练与微调", section(BLOG, "1. 预训练与微调"))],
            {1},
        ),
        Case(  # four passages as hybrid retrieval returns them; [3] contains a "**答案：**" line of its own
            "混合精度训练的优势有哪些？",
            [
                Passage(1, f"{ROOT_MP} > 5. 混合精度训练的优势是什么？", section(MP, "5. 混合精度训练的优势")),
                Passage(2, f"{ROOT_MP} > 4. 混合精度是什么？", section(MP, "4. 混合精度是什么")),
                Passage(3, "大语言模型相关面试题与算法编程题 > 3. 如何进行混合精度训练？",
                        section(MP, "3. 如何进行混合精度训练", until="2. **设置优化器")),
                Passage(4, f"{ROOT_MP} > 6. 混合精度训练的挑战是什么？", section(MP, "6. 混合精度训练的挑战")),
            ],
            {1},
        ),
        Case(
            "What is QLoRA?",
            [Passage(1, "5. 微调与适配技术 > 4. 什么是QLoRA？", section(OUTLINE, "4. 什么是QLoRA", until="  3. **计算与反向传播"))],
            {1},
        ),
        Case(
            "RAG系统由哪些核心组件构成？",
            [
                Passage(1, "7. 检索增强生成 (Retrieval Augmented Generation, RAG) 系统", line_of(OUTLINE, "**2. RAG系统通常由哪些核心组件构成")),
                Passage(2, "文本分块 > 句窗检索", line_of(OUTLINE, "句窗检索 (SentenceWindow Retrieval)")),
            ],
            set(),
        ),
        Case(
            "Who invented the attention mechanism?",
            [
                Passage(1, "二、大语言模型前沿技术 > 2. 自注意力机制", section(BLOG, "2. 自注意力机制")),
                Passage(2, f"{ROOT_MP} > 3. Transformer模型的核心思想是什么？", section(MP, "3. Transformer模型的核心思想")),
            ],
            set(),
        ),
    ]


def _marker_first(example: Example) -> Example:
    """The same example with its answer's markers moved to the front: ``[2] Dropout ...``."""
    numbers = _MARKER.findall(example.answer)
    if not numbers:
        return example
    body = _MARKER.sub("", example.answer).replace(" .", ".")
    return example._replace(answer=f"[{numbers[0]}] {body}")


NO_EX, ZH_EX, EN_EX = EXAMPLES  # no-answer (zh), answered (zh, cites [1]), answered (en, cites [2])

# Prompt variants: (instruction header, examples in order). "default" is what rag.answering.prompts.build_answer_prompt
# builds: no header; no-answer example, Chinese example, English example; markers inside each sentence.
VARIANTS: dict[str, tuple[str, tuple[Example, ...]]] = {
    "zeroshot": (INSTRUCTIONS, ()),
    "instr-zh-en": (INSTRUCTIONS, (ZH_EX, EN_EX)),
    "instr-zh-en-no": (INSTRUCTIONS, (ZH_EX, EN_EX, NO_EX)),
    "instr-no-zh-en": (INSTRUCTIONS, (NO_EX, ZH_EX, EN_EX)),
    "marker-first": ("", tuple(_marker_first(e) for e in EXAMPLES)),
    "default": ("", EXAMPLES),
}



def judge(case: Case, answer: str) -> dict[str, bool]:
    language = detect_language(case.question)
    cited = {int(n) for n in _MARKER.findall(answer)}
    no_answer = NO_ANSWER["zh"] in answer or NO_ANSWER["en"].rstrip(".") in answer
    given = {p.number for p in case.passages}
    return {
        "marker": bool(cited) and cited <= given,
        "right": (no_answer and not cited) if not case.expected else (bool(cited & case.expected) and not no_answer),
        "lang": detect_language(answer) == language if answer.strip() else False,
        "short": 0 < len(answer) <= (160 if language == "zh" else 320),
    }


def forced_pick(generator: LlamaCppGenerator, prompt: str, answer: str, numbers: list[int]) -> int | None:
    """The passage number the model picks after its answer when a grammar allows only `[n]` with a given n."""
    from llama_cpp import LlamaGrammar

    body = answer.rstrip().rstrip("。.")
    if not body:
        return None
    grammar = LlamaGrammar.from_string("root ::= " + " | ".join(f'"{n}"' for n in numbers))
    opener = " [" if body[-1].isascii() else "["
    out = generator.llama.create_completion(prompt + body + opener, max_tokens=3, temperature=0.0, grammar=grammar)
    text = out["choices"][0]["text"].strip()
    return int(text) if text.isdigit() else None


def _grams(text: str) -> set[str]:
    """Character bigrams of CJK text plus lower-cased words: a crude, language-blind overlap unit."""
    text = text.lower()
    cjk = re.findall(r"[\u4e00-\u9fff]", text)
    return {a + b for a, b in zip(cjk, cjk[1:])} | set(re.findall(r"[a-z0-9]{2,}", text))


def lexical_pick(answer: str, passages: list[Passage]) -> int | None:
    """The passage sharing most bigrams/words with the answer (None when it shares fewer than 3 with all)."""
    grams = _grams(_MARKER.sub("", answer))
    overlap = {p.number: len(grams & _grams(p.text)) for p in passages}
    best = max(overlap, key=overlap.get)
    return best if overlap[best] >= 3 else None


def run(generator: LlamaCppGenerator, name: str, max_tokens: int, cold: bool, pick: bool) -> list[dict]:
    instructions, examples = VARIANTS[name]
    rows = []
    for case in cases():
        if name == "default":
            prompt = build_answer_prompt(case.question, case.passages, generator, max_tokens=max_tokens)
            text, stop = prompt.text, prompt.stop
        else:
            text = render_completion(case.question, case.passages, examples=examples, instructions=instructions)
            stop = COMPLETION_STOP
        generator.cache_prompt = not cold  # cold: evaluate every prompt from scratch
        started = time.perf_counter()
        first = None
        pieces = []
        for piece in generator.stream(text, max_tokens=max_tokens, stop=stop):
            if first is None:
                first = time.perf_counter() - started
            pieces.append(piece)
        total = time.perf_counter() - started
        answer = "".join(pieces)
        tokens = generator.count_tokens(answer)  # re-tokenized: about the number generated
        decode = total - (first or total)
        picked = forced_pick(generator, text, answer, [p.number for p in case.passages]) if pick and case.expected else None
        rows.append(
            dict(
                question=case.question, answer=answer, prompt_tokens=generator.count_tokens(text) + 1,
                ttft=first or total, total=total, tokens=tokens,
                tps=(tokens - 1) / decode if tokens > 1 and decode > 0 else float("nan"),
                picked=picked, pick_right=picked in case.expected,
                lexical=lexical_pick(answer, case.passages) if answer.strip() else None,
                **judge(case, answer),
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", action="append", choices=list(VARIANTS), help="default: all")
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp decoding threads (default: half the cores)")
    parser.add_argument("--threads-batch", type=int, default=None, help="prompt-evaluation threads (default: all cores)")
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--cold", action="store_true", help="also time every question with an empty cache")
    parser.add_argument("--forced-pick", action="store_true",
                        help="also ask the model, grammar-constrained, which passage its answer came from")
    parser.add_argument("--busy", type=int, default=0, help="CPU-burning processes to run alongside (contention)")
    args = parser.parse_args()
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    try:
        report(args)
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def report(args: argparse.Namespace) -> None:

    generator = LlamaCppGenerator(n_threads=args.threads, n_threads_batch=args.threads_batch)
    started = time.perf_counter()
    generator.warm_up()
    print(f"model: {generator.spec} loaded in {time.perf_counter() - started:.2f}s, n_ctx {generator.context_size}, "
          f"threads {generator.n_threads} (batch {generator.n_threads_batch}), {args.busy} busy processes, "
          f"load average {os.getloadavg()[0]:.2f}")
    checks = ("marker", "right", "lang", "short")
    for name in args.variant or list(VARIANTS):
        for cold in (False, True) if args.cold else (False,):
            rows = run(generator, name, args.max_tokens, cold, args.forced_pick)
            print(f"\n## {name}{' (cold cache)' if cold else ''}\n")
            print("| question | prompt tok | TTFT s | total s | tokens | tok/s | [n] ok | right | lang | short | pick | lexical |")
            print("|---|---:|---:|---:|---:|---:|:-:|:-:|:-:|:-:|:-:|:-:|")
            for r in rows:
                marks = " | ".join("y" if r[k] else "-" for k in checks)
                print(f"| {r['question'][:28]} | {r['prompt_tokens']} | {r['ttft']:.3f} | {r['total']:.2f} | "
                      f"{r['tokens']} | {r['tps']:.1f} | {marks} | {r['picked'] or '-'} | {r['lexical'] or '-'} |")
            score = {k: sum(r[k] for r in rows) for k in checks}
            tps = [r["tps"] for r in rows if r["tps"] == r["tps"]]
            answerable = [c for c in cases() if c.expected]
            lexical = sum(r["lexical"] in c.expected for r, c in zip(rows, cases()) if c.expected)
            print(f"\nsummary: {score} of {len(rows)}; lexical source right {lexical}/{len(answerable)}"
                  + (f"; forced pick right {sum(r['pick_right'] for r in rows)}/{len(answerable)}" if args.forced_pick else "")
                  + f"; median TTFT {statistics.median(r['ttft'] for r in rows):.3f}s, "
                  f"median total {statistics.median(r['total'] for r in rows):.2f}s, "
                  f"median tok/s {statistics.median(tps) if tps else float('nan'):.1f}")
            for r in rows:
                print(f"- {r['question']}\n  -> {r['answer']!r}")


if __name__ == "__main__":
    main()
