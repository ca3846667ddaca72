"""Shared fixtures: a tiny bilingual corpus and a deterministic keyword embedder for fast tests."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from rag.core.text import tokenize

if TYPE_CHECKING:
    from rag.api import RAG

TINY_DOCS = {
    "mixed-precision.md": """# 训练技巧

## 1. 混合精度训练的优势是什么？

混合精度训练使用 FP16 和 FP32 两种精度。半精度计算速度更快，显存占用更少。

## 2. 什么是 LoRA？

LoRA 通过低秩矩阵适配预训练模型，只训练很少的参数。

```python
# 这不是标题
lora_rank = 8
```
""",
    "attention.md": """# 注意力机制

## 自注意力

自注意力让每个 token 关注序列中的所有其他 token。KV cache 缓存历史的键和值，加速自回归生成。

## 多头注意力

多头注意力把表示拆成多个子空间，分别计算注意力后拼接。
""",
}

BENEFITS_DOC = ("training.md", """# 训练技巧

## 1. 什么是混合精度训练？

混合精度训练在训练过程中同时使用 16 位和 32 位浮点数。
前向和反向传播主要用半精度计算，主权重保留一份单精度副本。
为了避免梯度下溢，通常还会配合损失缩放一起使用。

### 优势

- 提高计算速度：半精度运算在支持 Tensor Core 的 GPU 上更快。
- 降低内存占用：激活值和梯度占用的显存大约减半。
- 节省计算资源：同样的硬件可以训练更大的模型或使用更大的批量。

### 挑战

- 数值稳定性问题：半精度的表示范围小，容易溢出或下溢。
- 计算复杂性：需要维护单精度主权重并动态调整损失缩放因子。
""")
"""One passage (under the chunk size) that holds a definition, a benefits list and a challenges list under two
sub-headings, like the README's mixed-precision question: "混合精度训练有什么好处？" is answered by the three 优势
items alone."""
_ITEMS = tuple(line[2:] for line in BENEFITS_DOC[1].split("\n") if line.startswith("- "))
BENEFITS, CHALLENGES = _ITEMS[:3], _ITEMS[3:]
"""The list items under 优势 and under 挑战."""


class KeywordEmbedder:
    """A deterministic test double: hashed bag of BM25 tokens, L2-normalised (no model weights)."""

    def __init__(self, dim: int = 64, spec: str = "test:keywords") -> None:
        self.spec = spec
        self._dim = dim
        self.passage_calls = 0
        self.embedded_texts: list[str] = []

    @property
    def dim(self) -> int:
        return self._dim

    def warm_up(self) -> None:
        pass

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self._dim, dtype=np.float32)
        for token in tokenize(text) or ["<empty>"]:
            vector[int(hashlib.md5(token.encode()).hexdigest(), 16) % self._dim] += 1.0
        return vector / np.linalg.norm(vector)

    def embed_queries(self, texts):
        return np.array([self._vector(t) for t in texts], dtype=np.float32).reshape(len(texts), self._dim)

    def embed_passages(self, texts):
        self.passage_calls += 1
        self.embedded_texts.extend(texts)
        return self.embed_queries(texts)


CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
"""A ChatML chat template: a `ScriptedGenerator` given it is a chat model."""


class ScriptedGenerator:
    """Stands in for the LLM (`rag.generation.base.Generator` shape): writes a fixed answer three characters per
    token and records the prompts it was given. Given several outputs, call n writes the n-th (the
    last one from then on); given a `chat_template`, it is a chat model."""

    spec = "test:scripted"
    context_size = 2048
    chat_template: str | None = None

    def __init__(self, output: str | list[str], chat_template: str | None = None) -> None:
        self.outputs = [output] if isinstance(output, str) else list(output)
        if chat_template is not None:
            self.chat_template = chat_template
        self.prompts: list[str] = []

    @property
    def output(self) -> str:
        return self.outputs[min(len(self.prompts), len(self.outputs) - 1)]

    @property
    def calls(self) -> int:
        return len(self.prompts)

    def warm_up(self) -> None:
        pass

    def count_tokens(self, text: str) -> int:
        return len(text) // 2 + 1

    def stream(self, prompt: str, max_tokens: int = 256, stop=()):
        output = self.output[: 3 * max_tokens]  # like a model, it stops at the token limit
        self.prompts.append(prompt)
        for start in range(0, len(output), 3):
            yield output[start:start + 3]

    def complete(self, prompt: str, max_tokens: int = 256, stop=()) -> str:
        return "".join(self.stream(prompt, max_tokens, stop))


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in TINY_DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def keyword_embedder() -> KeywordEmbedder:
    return KeywordEmbedder()


class PassThroughEmbedder:
    """A real embedder behind a wrapper; a test subclasses it to change one call (hold it, make it fail)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.spec = inner, inner.spec

    @property
    def dim(self) -> int:
        return self.inner.dim

    def warm_up(self) -> None:
        self.inner.warm_up()

    def embed_queries(self, texts):
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts):
        return self.inner.embed_passages(texts)


def scripted_rag(
    index: Path, embedder, output: str | list[str] = "", min_relevance: float = 0.0, chat_template: str | None = None,
    min_relevance_llm: float | None = None, **answer,
) -> RAG:
    """A `RAG` in LLM mode over the index at `index`, a `ScriptedGenerator` writing `output`; `answer` sets
    ``[answer]`` keys. Support by meaning is off: a keyword test embedder carries no meaning (an unrelated sentence
    sharing one hashed token is "close"), so these answers are checked by their words."""
    from rag.api import RAG  # the library's whole stack: only for the tests that build one
    from rag.core.config import Config
    from rag.index.local import IndexStore

    config = Config()
    config.rerank.min_relevance = min_relevance
    config.rerank.min_relevance_llm = min_relevance_llm
    config.answer.mode = "llm"
    config.answer.semantic_top_k = 0
    for key, value in answer.items():
        setattr(config.answer, key, value)
    return RAG(IndexStore.open(index), config, embedder, generator=ScriptedGenerator(output, chat_template=chat_template))
