"""A Chinese question over English documents through the HTTP service: searched and drafted in English, retold in
Chinese, with `retelling` events (`delta.rag_retelling` for OpenAI clients) while the sentences are translated."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from openai import OpenAI

from rag.core.config import Config
from rag.embedding.embedders import Embedder
from rag_ingest.builder import IndexBuilder
from rag_ingest.knowledge_base import KnowledgeBase
from tests.app.server.conftest import READ_KEY
from tests.conftest import CHATML, ScriptedGenerator

README = """# ratekit

## Buckets

A token bucket refills at 5 tokens per second. Buckets are kept in memory unless a Redis URL is given.
"""
QUESTION, SEARCHED = "令牌桶补充得多快？", "How fast does a token bucket refill?"
DRAFT, RETOLD = "A token bucket refills at 5 tokens per second [1].", "令牌桶每秒补充 5 个令牌。"


@pytest.fixture
def knowledge_base(tmp_path: Path, e5: Embedder) -> KnowledgeBase:
    """Overrides the server fixtures' Chinese knowledge base with one English README."""
    (tmp_path / "data" / "documents").mkdir(parents=True)
    (tmp_path / "data" / "documents" / "readme.md").write_text(README, encoding="utf-8")
    knowledge_base = KnowledgeBase(tmp_path / "data", IndexBuilder(Config(), e5), max_upload_bytes=100_000)
    knowledge_base.rebuild()
    return knowledge_base


def _server(start_server):
    config = Config()
    config.rerank.min_relevance = 0.0  # one short README: the test is about translation, not about refusal
    generator = ScriptedGenerator([SEARCHED, DRAFT, RETOLD], chat_template=CHATML)
    return start_server(generator=generator, mode="llm", config=config), generator


def test_the_stream_reports_the_retelling_between_the_english_draft_and_the_chinese_answer(start_server) -> None:
    server, generator = _server(start_server)
    events, event = [], None
    with server.client(READ_KEY) as client:
        with client.stream("POST", "/v1/ask", json={"question": QUESTION, "stream": True}) as response:
            for line in response.iter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    events.append((event, json.loads(line[6:])))
    names = [name for name, _ in events]
    retelling = [data for name, data in events if name == "retelling"]
    assert retelling == [{"done": 0, "total": 1, "language": "zh"}, {"done": 1, "total": 1, "language": "zh"}]
    assert max(i for i, name in enumerate(names) if name == "token") < names.index("retelling") < names.index("answer")
    answer = events[-1][1]
    assert answer["answer"] == "令牌桶每秒补充 5 个令牌[1]。" and answer["standalone_question"] == SEARCHED
    assert "refills at 5 tokens per second" in answer["citations"][0]["text"]  # the English source sentence
    assert generator.calls == 3  # the question's translation, the English draft, one sentence retold


def test_an_openai_client_gets_the_retelling_in_a_delta_field(start_server) -> None:
    server, _ = _server(start_server)
    client = OpenAI(base_url=f"{server.url}/v1", api_key=READ_KEY, max_retries=0)
    chunks = list(client.chat.completions.create(model="rag-llm", messages=[{"role": "user", "content": QUESTION}],
                                                 stream=True))
    extras = [chunk.choices[0].delta.model_extra or {} for chunk in chunks]
    assert [extra["rag_retelling"]["done"] for extra in extras if "rag_retelling" in extra] == [0, 1]
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks) == "令牌桶每秒补充 5 个令牌[1]。"
