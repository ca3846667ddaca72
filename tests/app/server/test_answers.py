"""Answers and search over HTTP: the CLI's JSON, server-sent events, the OpenAI SDK, request limits."""
from __future__ import annotations

import json

import pytest
from openai import OpenAI

from rag_app.server.auth import KeyRing
from tests.app.server.conftest import KV_ANSWER, READ_KEY
from tests.conftest import TINY_DOCS

ANSWER_KEYS = {"question", "standalone_question", "standalone_method", "answer", "abstained", "mode", "fallback", "removed",
               "attempts", "completed", "language", "citations", "hits", "timings"}


def _assert_citations_resolve(citations: list[dict]) -> None:
    assert citations
    for citation in citations:
        assert set(citation) == {"n", "chunk_id", "doc_id", "heading", "text", "start", "end", "spans", "kind"}
        assert TINY_DOCS[citation["doc_id"]][citation["start"]:citation["end"]] == citation["text"]
        assert all(TINY_DOCS[citation["doc_id"]][s["start"]:s["end"]] == s["text"] for s in citation["spans"])


def test_ask_gives_a_cited_answer_in_the_cli_json_shape(start_server) -> None:
    server = start_server()
    with server.client(READ_KEY) as client:
        response = client.post("/v1/ask", json={"question": "KV cache 有什么用？", "top_k": 1})
    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == ANSWER_KEYS and answer["mode"] == "extractive" and not answer["abstained"]
    assert "KV cache" in answer["answer"] and "[1]" in answer["answer"] and len(answer["hits"]) == 1
    _assert_citations_resolve(answer["citations"])
    assert answer["citations"][0]["doc_id"] == "attention.md"


def test_an_off_topic_question_is_refused(start_server) -> None:
    with start_server().client(READ_KEY) as client:
        answer = client.post("/v1/ask", json={"question": "今天北京天气怎么样？"}).json()
    assert answer["abstained"] is True


def test_search_gives_the_cli_json_shape(start_server) -> None:
    with start_server().client(READ_KEY) as client:
        record = client.post("/v1/search", json={"question": "什么是 LoRA？", "top_k": 2, "mode": "sparse"}).json()
    assert record["question"] == "什么是 LoRA？" and [h["rank"] for h in record["hits"]] in ([1], [1, 2])
    hit = record["hits"][0]
    assert set(hit) == {"rank", "chunk_id", "doc_id", "heading", "text", "start", "end", "score", "scores", "ranks"}
    assert hit["doc_id"] == "mixed-precision.md" and "LoRA" in hit["text"]


def _ask_events(server, question: str) -> list[tuple[str, dict]]:
    """The ``(event, data)`` pairs of a streamed ``/v1/ask`` for `question`."""
    events, event = [], None
    with server.client(READ_KEY) as client:
        with client.stream("POST", "/v1/ask", json={"question": question, "stream": True}) as response:
            assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
            for line in response.iter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    events.append((event, json.loads(line[6:])))
    return events


def test_ask_streams_draft_tokens_then_the_checked_answer(start_server) -> None:
    server = start_server(mode="llm")
    events = _ask_events(server, "KV cache 有什么用？")
    names = [name for name, _ in events]
    assert names[0] == "passages" and names[-1] == "answer" and set(names[1:-1]) == {"token"} and len(names) > 3
    passages = events[0][1]["passages"]  # what the model reads, before its first token
    assert passages and [p["n"] for p in passages] == sorted(p["n"] for p in passages)
    assert all(set(p) == {"n", "chunk_id", "doc_id", "heading", "text"} and p["text"] for p in passages)
    assert "".join(data["text"] for name, data in events if name == "token") == KV_ANSWER
    answer = events[-1][1]
    assert answer["mode"] == "llm" and answer["fallback"] is None and answer["answer"].startswith("KV cache 缓存历史的键和值")
    _assert_citations_resolve(answer["citations"])


def test_a_llama_cpp_model_reports_how_far_it_has_read_between_the_passages_and_its_draft(start_server) -> None:
    from rag.generation.factory import make_generator

    server = start_server(mode="llm", generator=make_generator("gemma3-270m", n_ctx=1024))
    events = _ask_events(server, "KV cache 有什么用？")
    names = [name for name, _ in events]
    progress = [data for name, data in events if name == "progress"]
    assert names[0] == "passages" and names[1] == "progress" and names[-1] == "answer"
    assert progress[0]["read"] == 0 and progress[-1]["read"] == progress[-1]["total"] > 64
    first_token = names.index("token") if "token" in names else len(names) - 1
    assert max(i for i, name in enumerate(names) if name == "progress" and events[i][1]["attempt"] == 1) < first_token


def test_the_openai_client_works_unchanged(start_server) -> None:
    server = start_server(mode="llm")
    client = OpenAI(base_url=f"{server.url}/v1", api_key=READ_KEY, max_retries=0)
    assert {m.id for m in client.models.list()} == {"rag", "rag-llm", "rag-extractive"}
    messages = [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "KV cache 有什么用？"}]

    completion = client.chat.completions.create(model="rag", messages=messages)
    content = completion.choices[0].message.content
    assert content.startswith("KV cache 缓存历史的键和值") and "[1]" in content
    assert completion.choices[0].finish_reason == "stop"
    _assert_citations_resolve(completion.model_extra["citations"])

    stream = client.chat.completions.create(model="rag", messages=messages, stream=True)
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == content
    extras = [c.choices[0].delta.model_extra or {} for c in chunks]
    drafts = "".join(extra.get("rag_draft", "") for extra in extras)
    assert drafts == KV_ANSWER
    first_passages = next(i for i, extra in enumerate(extras) if "rag_passages" in extra)
    assert first_passages < next(i for i, extra in enumerate(extras) if "rag_draft" in extra)  # what it reads, first
    assert all(set(p) == {"n", "chunk_id", "doc_id", "heading", "text"} for p in extras[first_passages]["rag_passages"])
    assert chunks[-1].choices[0].finish_reason == "stop"
    _assert_citations_resolve(chunks[-1].model_extra["citations"])

    extractive = client.chat.completions.create(model="rag-extractive", messages=messages)
    assert extractive.model_extra["answer_mode"] == "extractive"


def test_the_openai_client_sees_auth_and_model_errors(start_server) -> None:
    server = start_server()
    import openai

    with pytest.raises(openai.AuthenticationError):
        OpenAI(base_url=f"{server.url}/v1", api_key="wrong", max_retries=0).models.list()
    with pytest.raises(openai.NotFoundError):
        OpenAI(base_url=f"{server.url}/v1", api_key=READ_KEY, max_retries=0).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}])


def test_out_of_range_requests_get_422(start_server) -> None:
    bodies = [
        {"question": ""},
        {"question": "x" * 2001},
        {"question": "KV cache", "top_k": 0},
        {"question": "KV cache", "top_k": 51},
        {"question": "KV cache", "mode": "poetry"},
        {"top_k": 3},
    ]
    with start_server(keys=KeyRing()).client(key=None) as client:
        for body in bodies:
            response = client.post("/v1/ask", json=body)
            assert response.status_code == 422, body
        assert client.post("/v1/search", json={"question": "KV cache", "top_k": 500}).status_code == 422
        over_config = client.post("/v1/ask", json={"question": "KV cache " * 150})  # under 2,000 characters
        assert over_config.status_code == 422 and "limits.max_question" in over_config.json()["detail"]
        chat = client.post("/v1/chat/completions", json={"model": "rag", "messages": [{"role": "user", "content": "x" * 2001}]})
        assert chat.status_code == 422


def test_an_oversized_body_gets_413_declared_or_streamed(start_server) -> None:
    server = start_server(max_body_bytes=10_000)
    with server.client(READ_KEY) as client:
        response = client.post("/v1/ask", json={"question": "KV cache", "padding": "x" * 20_000})
        assert response.status_code == 413
        assert response.json()["detail"] == (
            "The request body is 20,036 bytes (19.6 KiB); the limit for POST /v1/ask is 10,000 bytes (9.8 KiB).")

        def chunked():  # no Content-Length: counted as it arrives
            yield b'{"question": "KV cache", "padding": "'
            for _ in range(30):
                yield b"x" * 1000
            yield b'"}'

        response = client.post("/v1/ask", content=chunked(), headers={"content-type": "application/json"})
        assert response.status_code == 413 and "grew past the limit as it arrived" in response.json()["detail"]
        assert client.post("/v1/ask", json={"question": "KV cache 有什么用？"}).status_code == 200
