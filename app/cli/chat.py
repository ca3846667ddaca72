"""`rag chat`: an interactive conversation in the terminal. Follow-ups are read in the context of the turns before
them (`rag.Conversation`); the model stays loaded between questions.

Line editing and a persistent input history come from readline (on a terminal). Commands: ``/sources`` (the last
answer's sources in full), ``/clear`` (start a new conversation), ``/mode [llm|extractive]`` (show or switch the
answerer), ``/help``; Ctrl-D (or ``/quit``) quits, Ctrl-C stops the answer being written.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable

from rag.core.config import Config
from rag.core.errors import explain
from rag.core.terminal import printable
from rag_app.cli.common import INDEX_HELP

PROMPT = "» "
HELP = (
    "Ask a question; follow-ups may refer to earlier answers (\"它有什么缺点？\", \"the third one\").\n"
    "  /sources            the last answer's sources in full\n"
    "  /clear              start a new conversation\n"
    "  /mode [llm|extractive]  show or switch the answerer\n"
    "  /help               this help\n"
    "  Ctrl-D or /quit     leave; Ctrl-C stops an answer being written"
)
MODES = ("llm", "extractive")
HISTORY_FILE = "chat_history"
HISTORY_LINES = 1000


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    chat = commands.add_parser("chat", parents=[common], help="interactive chat: follow-up questions in context")
    chat.add_argument("--index", help=INDEX_HELP)
    chat.add_argument("--mode", dest="answer_mode", choices=list(MODES), help="answerer (default: answer.mode, llm)")
    chat.add_argument("--generator", help="GGUF model: packaged (default), a .gguf path, hf:<owner>/<repo>/<file>, or "
                      "openai:<base-url>#<model>")
    chat.set_defaults(handler=run_chat)


def run_chat(args: argparse.Namespace, config: Config) -> int:
    from rag_ingest.default_index import open_rag

    rag = open_rag(config=config, progress=sys.stderr.isatty())
    interactive = sys.stdin.isatty()
    if interactive:
        _enable_line_editing()
        print(f"rag chat: {len(rag.store.chunks)} passages; answers: {config.answer.mode}. /help for commands, "
              "Ctrl-D to quit.", file=sys.stderr)
    session = ChatSession(rag, config.answer.mode)
    while True:
        try:
            line = input(PROMPT if interactive else "")
        except EOFError:
            if interactive:
                print(file=sys.stderr)
            return 0
        except KeyboardInterrupt:  # Ctrl-C at the prompt clears the line
            print(file=sys.stderr)
            continue
        if not session.handle(line.strip()):
            return 0


class ChatSession:
    """One conversation and the commands that act on it; `handle` returns False to quit."""

    def __init__(self, rag: Any, mode: str, out: Callable[..., None] = print) -> None:
        self.rag = rag
        self.chat = rag.conversation(mode=mode)
        self.out = out

    def handle(self, line: str) -> bool:
        if not line:
            return True
        if line.startswith("/"):
            return self.command(line)
        try:
            self.ask(line)
        except KeyboardInterrupt:
            print("\n(stopped)", file=sys.stderr)
        except Exception as exc:  # the REPL stays up: say what went wrong and take the next question
            message = explain(exc)
            if message is None:
                raise
            print(f"error: {printable(message)}", file=sys.stderr)
        return True

    def command(self, line: str) -> bool:
        name, _, argument = line.partition(" ")
        argument = argument.strip()
        if name in ("/quit", "/exit"):
            return False
        if name == "/help":
            self.out(HELP)
        elif name == "/clear":
            self.chat.clear()
            self.out("(new conversation)")
        elif name == "/sources":
            self.sources()
        elif name == "/mode":
            if not argument:
                self.out(f"(answers: {self.chat.mode})")
            elif argument not in MODES:
                self.out(f"(unknown mode '{printable(argument)}'; use one of: {', '.join(MODES)})")
            else:
                self.chat.mode = argument
                self.out(f"(answers: {argument})")
        else:
            self.out(f"(unknown command {printable(name)}; /help lists them)")
        return True

    def ask(self, question: str) -> None:
        from rag_app.cli.ask import print_answer, show_draft

        print_answer(show_draft(self.chat.stream(question)), excerpts=False, documents=self.rag.store.documents)
        self.out()

    def sources(self) -> None:
        """The last answer's sources in full: per [n], its supporting sentences with ``file:line``."""
        from rag_app.cli.ask import source_lines

        answer = self.chat.last
        if answer is None:
            self.out("(no answer yet)")
            return
        if not answer.citations:
            self.out("(the last answer cites no sources)")
        for citation in answer.citations:
            for line in source_lines(citation, self.rag.store.documents):
                self.out(line)


def _enable_line_editing() -> None:
    """readline line editing, with the input history kept in the cache folder between sessions."""
    try:
        import readline
    except ImportError:  # not on every platform; the chat works without it
        return
    import atexit

    from rag.core.paths import cache_dir

    history = Path(cache_dir()) / HISTORY_FILE
    try:
        readline.read_history_file(history)
    except OSError:
        pass
    readline.set_history_length(HISTORY_LINES)

    def save() -> None:
        try:
            history.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(history)
        except OSError:
            pass

    atexit.register(save)

