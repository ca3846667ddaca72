"""Chat prompts for instruction-tuned models: render messages with the model's own Jinja template, keep
untrusted text from posing as a turn, and count messages a server will template itself."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Mapping, Sequence

from rag.core.errors import ConfigError
from rag.generation.base import ScriptKeepingGenerator, serves_chat

CHAT_STOP: tuple[str, ...] = ("<end_of_turn>", "<|im_end|>", "<|eot_id|>", "<|end|>", "</s>")


# Chat-template control tokens (<|im_start|>, <start_of_turn>, [INST] …) and our own fence tags inside a
# document would let its text pose as another turn of the conversation or end the data block.
_CONTROL_MARKUP = re.compile(
    r"<\|[^|>\n]{0,40}\|>|</?(?:start_of_turn|end_of_turn|s|passages)\s*>|\[/?INST\]|<<\s*/?SYS\s*>>",
    re.IGNORECASE,
)
# A line that poses as a conversation role ("system:", "assistant：", "### Instruction").
_ROLE_LINE = re.compile(
    r"^(\s*)(?:#+\s*)?(system|assistant|user|instruction|系统|助手|用户|指令)(\s*[:：])", re.IGNORECASE | re.MULTILINE
)


def neutralise(text: str) -> str:
    """Document text made safe to place inside the fenced data block of a chat prompt.

    Control tokens become visible look-alikes (``<|im_start|>`` → ``‹|im_start|›``) so the tokenizer
    can't read them as real turn boundaries, and role-like line openings are quoted; the words stay.
    """
    text = _CONTROL_MARKUP.sub(lambda m: m.group(0).replace("<", "‹").replace(">", "›").replace("[", "⟦").replace("]", "⟧"), text)
    return _ROLE_LINE.sub(lambda m: f"{m.group(1)}“{m.group(2)}”{m.group(3)}", text)


# Role markers and separators a chat template adds per message (a generous allowance).
MESSAGE_OVERHEAD = "<|im_start|>system\n<|im_end|>\n"


def plain_messages(messages: Sequence[Mapping[str, str]]) -> str:
    """`messages` as plain text with a template-like allowance per message (for counting, display)."""
    return "".join(f"{MESSAGE_OVERHEAD}{m['role']}: {m['content']}\n" for m in messages)


@lru_cache(maxsize=8)
def _compile(template: str) -> Any:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        from jinja2 import TemplateError

        raise TemplateError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    return env.from_string(template)


def render_chat(template: str, messages: Sequence[Mapping[str, str]], eos_token: str = "") -> str:
    """Render `messages` with a Hugging Face-style Jinja chat template, ending with the assistant cue.

    ``bos_token`` is rendered empty because llama.cpp adds BOS itself when it tokenizes the prompt.
    Templates that reject a system role get the system text prepended to the first user message.
    """
    from jinja2 import TemplateError

    def render(msgs: Sequence[Mapping[str, str]]) -> str:
        return _compile(template).render(messages=list(msgs), add_generation_prompt=True, bos_token="", eos_token=eos_token)

    try:
        try:
            return render(messages)
        except TemplateError:
            if not messages or messages[0]["role"] != "system" or len(messages) < 2:
                raise
            system, rest = messages[0]["content"], [dict(m) for m in messages[1:]]
            rest[0]["content"] = f"{system}\n\n{rest[0]['content']}"
            return render(rest)
    except TemplateError as exc:
        raise ConfigError(
            f"The model's chat template could not be rendered: {exc}. Pass chat_template='' to the generator "
            "to use the few-shot completion prompt instead, or give a working template."
        ) from exc


def eos_text(generator: Any) -> str:
    """The text of the generator's end-of-sequence token, as chat templates expect it ("" if unknown)."""
    return getattr(generator, "special_tokens", {}).get("eos_token", "")


def takes_chat(generator: Any) -> bool:
    """Whether `generate_line` can ask `generator`: a chat template, or a server that applies one (a base model has
    no chat to continue)."""
    return serves_chat(generator) or bool(generator.chat_template)


def generate_line(
    generator: Any, messages: Sequence[Mapping[str, str]], max_tokens: int, script: str | None = None,
) -> str | None:
    """The chat model's reply to `messages` up to its first line break; None when the prompt leaves no room.
    `script`: a language whose script the reply keeps to, where the generator can (`ScriptKeepingGenerator`)."""
    if serves_chat(generator):
        if generator.count_tokens(plain_messages(messages)) + max_tokens > generator.context_size:
            return None
        return "".join(generator.stream_chat(messages, max_tokens=max_tokens, stop=("\n",)))
    eos = eos_text(generator)
    prompt = render_chat(generator.chat_template, messages, eos_token=eos)
    if generator.count_tokens(prompt) + max_tokens + 8 > generator.context_size:
        return None
    stop = tuple(s for s in ("\n", *CHAT_STOP, eos) if s)
    if script is not None and isinstance(generator, ScriptKeepingGenerator):
        return "".join(generator.stream_in(script, prompt, max_tokens=max_tokens, stop=stop))
    return generator.complete(prompt, max_tokens=max_tokens, stop=stop)
