"""`rag ask` (cited answers) and `rag search` (passages with every stage's scores)."""
from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, Iterable, Mapping

from rag.core.config import Config
from rag.core.text import LIST_BULLET, join_cjk_wraps
from rag.core.terminal import printable, safe_json
from rag_app.cli.common import INDEX_HELP, questions_of, top_k


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    # search and ask take their questions, index and output format the same way.
    questions = argparse.ArgumentParser(add_help=False)
    questions.add_argument("question", nargs="?", help="the question (or use --questions)")
    questions.add_argument("--questions", help="file with one question per line; prints one JSON object per line")
    questions.add_argument("--index", help=INDEX_HELP)
    questions.add_argument("--json", action="store_true", help="JSON output")

    search = commands.add_parser("search", parents=[common, questions], help="retrieve passages for a question")
    search.add_argument("-k", type=top_k, help="how many passages (default 10, at most limits.max_top_k)")
    search.add_argument("--mode", choices=["hybrid", "dense", "sparse"], help="retriever (default hybrid)")
    search.add_argument("--no-rerank", action="store_true", help="keep the first-stage order")
    search.set_defaults(handler=run_search)

    ask = commands.add_parser("ask", parents=[common, questions], help="answer a question with citations")
    ask.add_argument("--mode", dest="answer_mode", choices=["llm", "extractive"], help="answerer (default: answer.mode, llm)")
    ask.add_argument("--generator", help="GGUF model: packaged (default), a .gguf path, hf:<owner>/<repo>/<file>, or "
                     "openai:<base-url>#<model> (an OpenAI-compatible server)")
    ask.add_argument("-q", "--quiet", action="store_true", help="print the checked answer only: not the passages being "
                     "read, the reading progress or the draft")
    ask.set_defaults(handler=run_ask)


def run_search(args: argparse.Namespace, config: Config) -> int:
    from rag_ingest.default_index import open_rag

    questions = questions_of(args)
    rag = open_rag(config=config, progress=sys.stderr.isatty())
    for question in questions:
        hits = rag.retrieve(question, rerank=not args.no_rerank)
        if args.json or args.questions:
            record = {"question": question, "hits": [hit.to_json(rank) for rank, hit in enumerate(hits, start=1)]}
            print(safe_json(record), flush=True)
        else:
            print_hits(question, hits)
    return 0


def run_ask(args: argparse.Namespace, config: Config) -> int:
    from rag_ingest.default_index import open_rag

    questions = questions_of(args)
    rag = open_rag(config=config, progress=sys.stderr.isatty())
    for question in questions:
        if args.json or args.questions:
            print(safe_json(rag.ask(question).to_json()), flush=True)
            continue
        events = rag.stream(question)
        print_answer(final(events) if args.quiet else show_draft(events), documents=rag.store.documents)
    return 0


def final(events: Iterable[Any]) -> Any:
    """The checked `Answer` that ends `events`, showing nothing before it."""
    answer = None
    for answer in events:
        pass
    return answer


def show_draft(events: Iterable[Any]) -> Any:
    """Write what the model reads as soon as it is chosen, how far it has read (on a terminal), then its draft as it
    streams (marked as unchecked, and revised drafts as such) and how far it is retold in the person's language (on a
    terminal), to stderr; returns the checked `Answer` that ends `events`."""
    from rag.answering.answerer import Answer, Progress, Reading, Retelling, Token
    from rag.core.language import LANGUAGE_NAMES

    streamed, retelling, attempt, answer = False, False, 1, None
    terminal = sys.stderr.isatty()
    for event in events:
        if isinstance(event, Reading):
            print("Reading:", file=sys.stderr)
            for excerpt in event.excerpts:
                document = event.passage(excerpt).doc_id
                source = f"{document} > {excerpt.heading}" if excerpt.heading else document
                print(f"  [{excerpt.number}] {printable(shortened(source, SOURCE_CHARS))}", file=sys.stderr, flush=True)
        elif isinstance(event, Progress) and terminal and not streamed:
            done = event.read >= event.total
            print(f"\r  (the model is reading them: {event.read}/{event.total} tokens)", end="\n" if done else "",
                  file=sys.stderr, flush=True)
        elif isinstance(event, Token):
            if not streamed:
                print("(draft, checked below) ", end="", file=sys.stderr)
            elif event.attempt != attempt:
                print("\n(the draft failed the citation check; revised draft) ", end="", file=sys.stderr)
            streamed, attempt = True, event.attempt
            print(printable(event.text, keep_newlines=True), end="", flush=True, file=sys.stderr)
        elif isinstance(event, Retelling) and terminal:
            if streamed and not retelling:
                print(file=sys.stderr)  # end the draft's line
            retelling = True
            done = event.done >= event.total
            language = LANGUAGE_NAMES.get(event.language, event.language)
            print(f"\r  (retelling it in {language}: {event.done}/{event.total} sentences)", end="\n" if done else "",
                  file=sys.stderr, flush=True)
        elif isinstance(event, Answer):
            answer = event
    if streamed and not retelling:
        print(file=sys.stderr)
    assert answer is not None, "an answer stream always ends with the Answer"
    return answer


SOURCE_CHARS = 100
"""A passage the model is reading is shown by its document and heading, cut to this many characters."""
EXCERPT_CHARS = 120
"""A nearest source's excerpt (the start of its passage) is cut to this many characters."""
SENTENCE_CHARS = 240
"""A quoted supporting sentence is cut to this many characters (sentences are short; a run-on line may not be)."""


def print_answer(answer: Any, excerpts: bool = True, documents: Mapping[str, str] | None = None,
                 out: Callable[..., None] = print) -> None:
    """The checked answer, its sources and its timings, for a person; a follow-up that was rewritten shows the
    question that was searched. Sources: see `source_lines` (``excerpts`` False: one line per source);
    `documents` (the index's document texts) give the quoted sentences their line numbers."""
    from rag.answering.answerer import fallback_note

    if answer.standalone_question and answer.standalone_question != answer.question:
        out(f"(searched as: {printable(answer.standalone_question)})")
    out(printable(answer.text, keep_newlines=True))
    if answer.fallback:
        out(f"({fallback_note(answer)})")
    if answer.citations:
        out("\nNearest sources:" if answer.abstained else "\nSources:")
    for citation in answer.citations:
        for line in source_lines(citation, documents or {}, full=excerpts):
            out(line)
    timings = "  ".join(f"{name}={value:.0f}ms" for name, value in answer.timings.items())
    note = f"; fallback: {printable(answer.fallback)}" if answer.fallback else ""
    out(f"\n({answer.mode}{note}; {timings})")


def source_lines(citation: Any, documents: Mapping[str, str], full: bool = True) -> list[str]:
    """How a citation reads in the terminal. Support: ``[n] heading`` then, per quoted sentence, ``file:line
    sentence``; a nearest source of a refusal: ``[n] file:line  heading`` then the start of its passage. Not
    `full`: the first line only, with the ``file:line`` of the first sentence."""
    where = location(citation.doc_id, citation.start, documents)
    heading = printable(citation.heading)
    if citation.kind == "nearest" or not full:
        lines = [f"[{citation.n}] {where}  {heading}".rstrip()]
        if full:
            lines.append(f"    {printable(shortened(citation.text, EXCERPT_CHARS))}")
        return lines
    lines = [f"[{citation.n}] {heading or printable(citation.doc_id)}"]
    for span in citation.spans or (citation,):
        sentence = shortened(join_cjk_wraps(LIST_BULLET.sub("", span.text, count=1)), SENTENCE_CHARS)
        lines.append(f"    {location(citation.doc_id, span.start, documents)}  {printable(sentence)}")
    return lines


def location(doc_id: str, offset: int, documents: Mapping[str, str]) -> str:
    """``file.md:12``: the line of `documents[doc_id]` holding character `offset` (``file.md@offset`` when the
    index has no text for the document)."""
    document = documents.get(doc_id)
    if document is None:
        return f"{printable(doc_id)}@{offset}"
    line = document.count("\n", 0, offset) + 1
    return f"{printable(doc_id)}:{line}"


def shortened(text: str, limit: int) -> str:
    """`text` on one line (runs of whitespace as one space), cut to `limit` characters with ``…``."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit - 1] + "…"


def print_hits(question: str, hits: Any) -> None:
    """Ranked passages with every stage's score and rank, for a person."""
    print(f"Q: {printable(question)}")
    if not hits:
        print("  (no matching passages)")
    for rank, hit in enumerate(hits, start=1):
        scores = "  ".join(
            f"{name}={value:.3f}" + (f"(#{hit.ranks[name]})" if name in hit.ranks else "")
            for name, value in hit.scores.items()
        )
        snippet = " ".join(hit.chunk.text.split())
        snippet = snippet if len(snippet) <= 160 else snippet[:159] + "…"
        print(f"\n[{rank}] {printable(hit.chunk.doc_id)}:{hit.chunk.start}-{hit.chunk.end}  {scores}")
        if hit.chunk.heading:
            print(f"    {printable(hit.chunk.heading)}")
        print(f"    {printable(snippet)}")
