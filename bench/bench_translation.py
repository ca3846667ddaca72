"""What translating a checked English answer into Chinese costs (`rag.answering.translation`), with the packaged model.

    python bench/bench_translation.py

A Chinese question over English documents is answered in English and each kept sentence is then translated
(`answer.english_drafts`). This times `AnswerTranslator.sentence` on English answer sentences of the kind the model
drafts over the `pkgdocs` READMEs (after one warm-up call, as in a running server: the answering system prompt is
cached; each sentence once, since llama.cpp would answer a repeated prompt from its cache), and prints per sentence the
seconds, whether the translation is usable (else the sentence stays in English) and the translation; then p50 / p95
seconds per sentence and the usable share. Run it with nothing else busy.
"""
from __future__ import annotations

import argparse
import statistics
import time

from rag.answering.translation import AnswerTranslator, acceptable
from rag_ingest.default_index import open_rag

SENTENCES = [
    ("The burst parameter of a token bucket is used to control how bursty you allow the output to be.",
     "用 PyrateLimiter 时，令牌桶的 burst 参数是做什么用的？"),
    ("It defaults to limit (classic token bucket: a full bucket at rest).",
     "用 PyrateLimiter 时，令牌桶的 burst 参数是做什么用的？"),
    ("By default, load_dotenv() does not override existing environment variables.",
     "dotenv 的 load_dotenv 会覆盖已经存在的环境变量吗？"),
    ("No, tinytag cannot modify the tags of an audio file.", "tinytag 能修改音频文件的标签吗？"),
    ("Pass process_namespaces=True to xmltodict.parse to expand namespace prefixes.", "xmltodict 怎样处理 XML 命名空间？"),
    ("The functions of the idna library can be called concurrently from multiple threads.",
     "idna 库的函数可以在多个线程中同时调用吗？"),
    ("The retry reconnection time sent by the server is expressed in milliseconds.",
     "httpx-sse 中服务器发送的 retry 重连时间是以什么单位表示的？"),
    ("Python 3.10 or later is required.", "portalocker 最低需要哪个版本的 Python？"),
    ("threadpool_limits(limits=1) limits every supported thread pool to one thread.", "threadpoolctl 怎样把线程数限制为 1？"),
    ("The ping interval defaults to 15 seconds; set ping=0 to disable it.", "sse-starlette 的 ping 间隔默认是多少？"),
]


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    generator = open_rag().answerer.generator
    translator = AnswerTranslator(generator)
    if not translator.usable("zh"):
        raise SystemExit(f"{generator.spec} is not a chat model: it cannot translate answers")
    translator.sentence("The cache is cleared when the server restarts.", "zh")  # warm up: the system prompt is read once
    seconds, usable = [], 0
    for sentence, asked in SENTENCES:
        keep = translator.keep_words(asked)
        started = time.perf_counter()
        translation = translator.attempt(sentence, "zh", keep)
        seconds.append(time.perf_counter() - started)
        ok = acceptable(sentence, translation, "zh", keep)
        usable += ok
        print(f"{seconds[-1]:5.2f} s  {'usable' if ok else 'kept in English':15}  {sentence}\n{'':24}{translation}")
    seconds.sort()
    p95 = seconds[min(len(seconds) - 1, round(0.95 * (len(seconds) - 1)))]
    print(f"\nper sentence: p50 {statistics.median(seconds):.2f} s, p95 {p95:.2f} s; "
          f"usable {usable}/{len(SENTENCES)} ({generator.spec})")


if __name__ == "__main__":
    main()
