"""Hand-made hostile requests against a real server: each is refused with a 4xx whose body matches the
`ErrorBody` schema the server publishes (short, escaped, with the request id of its ``X-Request-ID``
header), or, where it is harmless, answered normally — and the server keeps serving.

The issue's cases (unpaired surrogates, NaN and 1e400, a NUL in a question, a 100k-character question,
a 50 MB upload with and without a key, CR/LF in an upload's file name, lax booleans, OPTIONS) and their
relatives: other control characters, overlong and deeply nested bodies, bytes that are not UTF-8,
repeated and conflicting headers, refused file names.
"""
from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
import jsonschema
import pytest

from tests.app.server.conftest import ADMIN_KEY, READ_KEY, LiveServer, raw_request

JSON = {"content-type": "application/json"}
UNSAFE = re.compile("[\x7f-\x9f\ud800-\udfff]")
"""What JSON leaves unescaped but an error body must not carry (C0 controls are escaped by JSON itself)."""


class Refusals:
    """Checks responses against the `ErrorBody` schema of the server's own OpenAPI document."""

    def __init__(self, server: LiveServer) -> None:
        spec = httpx.get(f"{server.url}/openapi.json").json()
        self.validator = jsonschema.Draft202012Validator(
            {"$ref": "#/components/schemas/ErrorBody", "components": spec["components"]})

    def check(self, response: httpx.Response, status: int) -> dict[str, Any]:
        assert response.status_code == status, response.text[:500]
        assert response.headers["content-type"] == "application/json"
        assert len(response.content) < 4096, f"{len(response.content)} bytes"
        body = json.loads(response.content.decode("utf-8", errors="strict"))
        self.validator.validate(body)
        assert not UNSAFE.search(json.dumps(body, ensure_ascii=False)), "unescaped surrogates or controls"
        assert body["request_id"] == response.headers["x-request-id"]
        return body


def as_httpx(status: int, headers: dict[str, str], body: bytes) -> httpx.Response:
    return httpx.Response(status, headers=headers, content=body)


def post_raw_json(client: httpx.Client, path: str, body: bytes) -> httpx.Response:
    return client.post(path, content=body, headers=JSON)


@pytest.fixture
def server(start_server) -> LiveServer:
    return start_server()


def test_text_no_stage_could_handle_is_refused_at_the_boundary(server, subtests) -> None:
    refusals = Refusals(server)
    chat = '{"model": "rag", "messages": [{"role": "user", "content": %s}]}'
    cases = [  # (what, path, raw JSON body, the character named, what the excerpt shows)
        ("unpaired high surrogate", "/v1/search", '{"question": "\\ud800 LoRA"}', "U+D800", "\\ud800 LoRA"),
        ("unpaired high surrogate", "/v1/ask", '{"question": "\\ud800 LoRA"}', "U+D800", "\\ud800 LoRA"),
        ("unpaired low surrogate", "/v1/ask", '{"question": "LoRA \\udc00"}', "U+DC00", "LoRA \\udc00"),
        ("NUL", "/v1/ask", '{"question": "What is\\u0000 LoRA?"}', "U+0000", "What is\\x00 LoRA?"),
        ("NUL", "/v1/search", '{"question": "What is\\u0000 LoRA?"}', "U+0000", "What is\\x00 LoRA?"),
        ("terminal escape", "/v1/search", '{"question": "\\u001b[31mLoRA"}', "U+001B", "\\x1b[31mLoRA"),
        ("DEL", "/v1/search", '{"question": "LoRA\\u007f"}', "U+007F", "LoRA\\x7f"),
        ("C1 control", "/v1/search", '{"question": "LoRA\\u0085"}', "U+0085", "LoRA\\x85"),
        ("surrogate in chat content", "/v1/chat/completions", chat % '"\\ud800 LoRA"', "U+D800", "\\ud800 LoRA"),
        ("NUL in chat content", "/v1/chat/completions", chat % '"KV\\u0000cache"', "U+0000", "KV\\x00cache"),
        ("surrogate in a content part", "/v1/chat/completions", chat % '[{"type": "text", "text": "\\udfff"}]',
         "U+DFFF", "\\udfff"),
        ("surrogate as the model", "/v1/chat/completions",
         '{"model": "\\udc00", "messages": [{"role": "user", "content": "hi"}]}', "U+DC00", "\\udc00"),
    ]
    with server.client(READ_KEY) as client:
        for what, path, body, code, shown in cases:
            with subtests.test(what, path=path):
                refused = refusals.check(post_raw_json(client, path, body.encode()), 422)
                error = next(e for e in refused["errors"] if e["type"] == "text_invalid")  # (a union lists each branch)
                assert code in error["msg"] and error["input"] == shown
        for what, question in [("tab and newline", "KV cache\\t有什么用？\\n"), ("a surrogate pair", "\\ud83d\\ude00 KV cache")]:
            with subtests.test(f"{what} is fine"):
                answer = post_raw_json(client, "/v1/ask", f'{{"question": "{question}"}}'.encode())
                assert answer.status_code == 200 and answer.json()["question"] == json.loads(f'"{question}"')
        metrics = client.get("/metrics").text
    assert 'status="500"' not in metrics


def test_non_finite_and_lax_numbers_and_booleans_are_refused(server, subtests) -> None:
    refusals = Refusals(server)
    question = '"question": "KV cache"'
    chat = '"messages": [{"role": "user", "content": "KV cache"}]'
    cases = [  # (path, raw JSON body, the field)
        *[(path, f"{{{body}, \"top_k\": {value}}}", "top_k")
          for path, body in [("/v1/search", question), ("/v1/ask", question), ("/v1/chat/completions", chat)]
          for value in ("NaN", "Infinity", "-Infinity", "1e400", "-1e400", '"5"', "true", "1e30", str(10 ** 40))],
        *[(path, f"{{{question}, \"{field}\": {value}}}", field)
          for path in ("/v1/search", "/v1/ask") for field in ("rerank", "stream") if (path, field) != ("/v1/search", "stream")
          for value in ("0", "1", '"true"', "null")],
        ("/v1/chat/completions", f'{{{chat}, "stream": 0}}', "stream"),
    ]
    with server.client(READ_KEY) as client:
        for path, body, field in cases:
            with subtests.test(body, path=path):
                refused = refusals.check(post_raw_json(client, path, body.encode()), 422)
                assert refused["errors"][0]["loc"] == ["body", field]
                assert len(refused["errors"][0]["input"]) <= 60


def test_overlong_and_deeply_nested_bodies_are_refused_briefly(server, subtests) -> None:
    refusals = Refusals(server)
    with server.client(READ_KEY) as client:
        with subtests.test("a 100k-character question"):
            refused = refusals.check(client.post("/v1/ask", json={"question": "x" * 100_000}), 422)
            assert refused["errors"][0]["input"] == "x" * 60 + "… (100,000 characters)"
        with subtests.test("over the configured limit, under the hard cap"):
            refused = refusals.check(client.post("/v1/search", json={"question": "KV cache " * 120}), 422)
            assert "limits.max_question_chars = 1,000" in refused["detail"]
        with subtests.test("a 3,000-character chat question"):
            refused = refusals.check(client.post("/v1/chat/completions", json={
                "messages": [{"role": "user", "content": "x" * 3000}]}), 422)
            assert "longer than 2000 characters" in refused["detail"]
        with subtests.test("a 10,000-character model name"):
            refusals.check(client.post("/v1/chat/completions", json={
                "model": "m" * 10_000, "messages": [{"role": "user", "content": "hi"}]}), 422)
        with subtests.test("5,000 invalid messages"):
            refused = refusals.check(client.post("/v1/chat/completions", json={
                "messages": [{"role": "robot", "content": "hi"}] * 5000}), 422)
            assert len(refused["errors"]) == 10 and "(and 4997 more)" in refused["detail"]
        with subtests.test("JSON nested 100,000 deep"):
            body = b'{"question": "KV cache", "extra": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
            refused = refusals.check(post_raw_json(client, "/v1/ask", body), 400)
            assert "nested too deeply" in refused["detail"]
        with subtests.test("a nested structure where text belongs"):
            refused = refusals.check(client.post("/v1/search", json={"question": [[[["deep"] * 50] * 50]]}), 422)
            assert refused["errors"][0]["type"] == "string_type" and len(refused["errors"][0]["input"]) <= 60
        with subtests.test("nesting in an ignored field is harmless"):
            nested: Any = "x"
            for _ in range(400):
                nested = [nested]
            assert client.post("/v1/search", json={"question": "KV cache", "extra": nested}).status_code == 200
        with subtests.test("a body over the limit"):
            refused = refusals.check(client.post("/v1/search", json={"question": "KV cache", "pad": "x" * 300_000}), 413)
            assert "the limit for POST /v1/search is 262,144 bytes (256.0 KiB)" in refused["detail"]
        with subtests.test("a 20,000-character path"):
            refused = refusals.check(client.get("/" + "a" * 20_000), 404)
            assert len(refused["detail"]) < 200


def test_bodies_in_other_encodings_or_types_are_refused(server, subtests) -> None:
    refusals = Refusals(server)
    cases = [  # (what, body, headers, status, in the detail)
        ("Latin-1 bytes", '{"question": "café"}'.encode("latin-1"), JSON, 400, "not UTF-8 (byte 0xe9"),
        ("Latin-1 declared", '{"question": "café"}'.encode("latin-1"), {"content-type": "application/json; charset=latin-1"},
         400, "not UTF-8"),
        ("an overlong UTF-8 sequence", b'{"question": "\xc0\xaf etc"}', JSON, 400, "not UTF-8 (byte 0xc0"),
        ("UTF-8 cut mid-character", '{"question": "注意力"}'.encode()[:-4] + b'"}', JSON, 400, "not UTF-8"),
        ("invalid JSON", b'{"question": "KV cache",}', JSON, 422, "JSON decode error"),
        ("JSON that is not an object", b'["KV cache"]', JSON, 422, "body"),
        ("an empty body", b"", JSON, 422, "body"),
        ("JSON sent as text/plain", b'{"question": "KV cache"}', {"content-type": "text/plain"}, 422, "body"),
        ("no content type", b'{"question": "KV cache"}', {}, 422, "body"),
    ]
    with server.client(READ_KEY) as client:
        for what, body, headers, status, detail in cases:
            with subtests.test(what):
                refused = refusals.check(client.post("/v1/search", content=body, headers=headers), status)
                assert detail in refused["detail"]


def test_repeated_and_conflicting_headers(server, subtests) -> None:
    refusals = Refusals(server)
    question = b'{"question": "KV cache"}'

    def search(*headers: tuple[str, str]) -> httpx.Response:
        return httpx.post(f"{server.url}/v1/search", content=question, headers=[("content-type", "application/json"), *headers])

    with subtests.test("two Authorization headers, one wrong"):
        refused = refusals.check(search(("authorization", f"Bearer {READ_KEY}"), ("authorization", "Bearer wrong")), 401)
        assert "exactly one" in refused["detail"]
    with subtests.test("a key in each header, different"):
        refusals.check(search(("authorization", f"Bearer {READ_KEY}"), ("x-api-key", ADMIN_KEY)), 401)
    with subtests.test("the same key twice is one key"):
        assert search(("authorization", f"Bearer {READ_KEY}"), ("x-api-key", READ_KEY)).status_code == 200
    with subtests.test("another scheme"):
        refusals.check(search(("authorization", f"Basic {READ_KEY}")), 401)
    with subtests.test("two content types: the first is used"):
        assert search(("authorization", f"Bearer {READ_KEY}"), ("content-type", "text/plain")).status_code == 200
    start = b"POST /v1/search HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
    for what, header in [("an empty bearer", b"Authorization: Bearer \r\n"),
                         ("a key that is not ASCII", "Authorization: Bearer clé\r\n".encode()),
                         ("a key in Latin-1 bytes", "Authorization: Bearer clé\r\n".encode("latin-1"))]:
        with subtests.test(what):
            refusals.check(as_httpx(*raw_request(server, start + header + b"Content-Length: 24\r\n\r\n" + question)), 401)
    start += f"Authorization: Bearer {READ_KEY}\r\n".encode()
    with subtests.test("the same Content-Length twice"):
        status, _, _ = raw_request(server, start + b"Content-Length: 24\r\nContent-Length: 24\r\n\r\n" + question)
        assert status == 200
    for what, lengths in [("conflicting Content-Lengths", b"Content-Length: 24\r\nContent-Length: 25\r\n"),
                          ("a Content-Length that is not a number", b"Content-Length: 2x4\r\n")]:
        with subtests.test(what):  # refused by the HTTP parser (uvicorn), before the app: a plain-text 400
            status, headers, _ = raw_request(server, start + lengths + b"\r\n" + question)
            assert status == 400 and headers["connection"] == "close"
    assert search(("authorization", f"Bearer {READ_KEY}")).status_code == 200, "the server still serves"


def test_keys_are_checked_before_the_body_is_read(start_server, subtests) -> None:
    server = start_server()
    refusals = Refusals(server)
    fifty_mb = 50 * 1024 * 1024
    with subtests.test("a 50 MB upload without a key: 401 before the body is sent"):
        started = time.monotonic()
        head = (b"POST /v1/documents HTTP/1.1\r\nHost: test\r\nContent-Type: multipart/form-data; boundary=B\r\n"
                b"Content-Length: %d\r\n\r\n--B\r\n" % fifty_mb)
        refusal = as_httpx(*raw_request(server, head))  # the rest of the 50 MB is never sent
        refusals.check(refusal, 401)
        assert refusal.headers["www-authenticate"] == "Bearer" and time.monotonic() - started < 5
    with subtests.test("a body over the size limit without a key: 401, not 413"):
        refusals.check(httpx.post(f"{server.url}/v1/ask", json={"question": "x", "pad": "x" * 300_000}), 401)
    with subtests.test("a body that doesn't parse, without a key: 401, not 400 or 422"):
        refusals.check(httpx.post(f"{server.url}/v1/ask", content=b"{not json", headers=JSON), 401)
        refusals.check(httpx.post(f"{server.url}/v1/documents", content=b"garbage",
                                  headers={"content-type": "multipart/form-data; boundary=B"}), 401)
    with subtests.test("a read key on an admin upload: 403 before the body"):
        head = (b"POST /v1/documents HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer %s\r\n"
                b"Content-Type: multipart/form-data; boundary=B\r\nContent-Length: %d\r\n\r\n" % (READ_KEY.encode(), fifty_mb))
        refusals.check(as_httpx(*raw_request(server, head)), 403)


def _multipart(*names: bytes) -> bytes:
    """A multipart body with one small Markdown file per name, the names written into the headers as given."""
    parts = [b'--B\r\nContent-Disposition: form-data; name="files"; filename="' + name + b'"\r\n'
             b"Content-Type: text/markdown\r\n\r\n# T\n\nSome text to index.\n\r\n" for name in names]
    return b"".join(parts) + b"--B--\r\n"


def _upload_raw(server: LiveServer, body: bytes) -> httpx.Response:
    head = (b"POST /v1/documents HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer %s\r\n"
            b"Content-Type: multipart/form-data; boundary=B\r\nContent-Length: %d\r\n\r\n" % (ADMIN_KEY.encode(), len(body)))
    return as_httpx(*raw_request(server, head + body))


def test_uploads_over_the_limits_and_hostile_file_names(server, subtests) -> None:
    refusals = Refusals(server)
    with server.client(ADMIN_KEY) as admin:
        with subtests.test("a 50 MB file with the admin key: 413 with both sizes"):
            refused = refusals.check(admin.post("/v1/documents", files={"files": ("big.md", b"x" * (50 << 20))}), 413)
            assert refused["detail"] == ("'big.md' is 52,428,800 bytes (50.0 MiB); the limit is 20,971,520 bytes (20.0 MiB) "
                                         "per file (--max-upload-mb).")
        with subtests.test("more files than allowed"):
            files = [("files", (f"n{i}.md", b"# N\n\ntext\n")) for i in range(11)]
            refused = refusals.check(admin.post("/v1/documents", files=files), 413)
            assert refused["detail"] == "11 files were sent; at most 10 may be sent per upload."
    for what, name in [("CR/LF", b"evil\r\n12.md"), ("CR/LF and a space (a folded header)", b"evil\r\n 12.md"),
                       ("5,000 characters", b"n" * 5000 + b".md")]:
        with subtests.test(f"a file name with {what} breaks the multipart header"):
            refused = refusals.check(_upload_raw(server, _multipart(name)), 400)
            assert "multipart" in refused["detail"]
    for what, name, shown, reason in [
        ("LF", b"evil\n12.md", "evil\\x0a12.md", "control characters"),
        ("NUL", b"a\x00b.md", "a\\x00b.md", "control characters"),
        ("a double quote", b'ev\\"il.md', 'ev"il.md', "double quote"),
        ("a right-to-left override", "\u202eevil.md".encode(), "\\u202eevil.md", "U+202E"),
        ("a path out of the folder", b"../escape.md", "../escape.md", "'..' is not allowed"),
        ("a 1,000-character name", b"n" * 1000 + b".md", "n" * 200 + "… (1,003 characters)", "longer than 200"),
    ]:
        with subtests.test(f"a file name with {what}"):
            refused = refusals.check(_upload_raw(server, _multipart(name)), 422)
            assert refused["rejected"][0]["name"] == shown and reason in refused["rejected"][0]["reason"]
    with subtests.test("a hostile name beside a good one: the good one is indexed, the other listed"):
        accepted = _upload_raw(server, _multipart(b"ok.md", b"bad\x07.md"))
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["documents"] == ["ok.md"]
        assert accepted.json()["rejected"] == [{"name": "bad\x07.md", "reason": "the file name contains control characters"}]


def test_methods_a_path_does_not_allow(server, subtests) -> None:
    refusals = Refusals(server)
    cases = [("OPTIONS", "/v1/documents", "GET, POST"), ("PUT", "/v1/documents", "GET, POST"),
             ("MADEUP", "/healthz", "GET"), ("TRACE", "/v1/ask", "POST"), ("GET", "/v1/documents/x.md", "DELETE")]
    with server.client(ADMIN_KEY) as client:
        for method, path, allowed in cases:
            with subtests.test(f"{method} {path}"):
                response = client.request(method, path)
                refused = refusals.check(response, 405)
                assert response.headers["allow"] == allowed and f"use {allowed}" in refused["detail"]
