"""Knowledge-base changes over HTTP: validated uploads, background rebuilds, the old index serving meanwhile."""
from __future__ import annotations

import time

import httpx

from tests.app.server.conftest import ADMIN_KEY

NOTE = "# 量子退火\n\n## 什么是量子退火？\n\n量子退火利用量子隧穿效应寻找组合优化问题的全局最优解。\n".encode()
QUESTION = {"question": "什么是量子退火？"}


def _wait_for(client: httpx.Client, job: dict, timeout: float = 60) -> dict:
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        job = client.get(f"/v1/documents/jobs/{job['id']}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job} did not finish")


def test_upload_then_answerable_then_delete_then_not(start_server) -> None:
    server = start_server()
    with server.client(ADMIN_KEY) as admin:
        before = admin.post("/v1/ask", json=QUESTION).json()
        assert before["abstained"] is True

        response = admin.post("/v1/documents", files=[
            ("files", ("quantum.md", NOTE, "text/markdown")),
            ("files", ("evil.sh", b"rm -rf /", "text/plain")),
        ])
        assert response.status_code == 202
        job = response.json()
        assert job["action"] == "add" and job["documents"] == ["quantum.md"]
        assert job["rejected"][0]["name"] == "evil.sh" and "unsupported file type '.sh'" in job["rejected"][0]["reason"]
        assert _wait_for(admin, job)["status"] == "done"

        listed = admin.get("/v1/documents").json()
        assert [d["doc_id"] for d in listed["documents"]] == ["attention.md", "mixed-precision.md", "quantum.md"]
        answer = admin.post("/v1/ask", json=QUESTION).json()
        assert not answer["abstained"] and "量子隧穿" in answer["answer"]
        assert {c["doc_id"] for c in answer["citations"]} == {"quantum.md"}

        response = admin.delete("/v1/documents/quantum.md")
        assert response.status_code == 202 and _wait_for(admin, response.json())["status"] == "done"
        after = admin.post("/v1/ask", json=QUESTION).json()
        assert after["abstained"] is True and "quantum.md" not in {c["doc_id"] for c in after["citations"]}


def test_rejected_uploads_and_bad_removals_are_explained(start_server) -> None:
    server = start_server()
    with server.client(ADMIN_KEY) as admin:
        response = admin.post("/v1/documents", files={"files": ("../escape.md", NOTE, "text/markdown")})
        assert response.status_code == 422
        assert response.json()["rejected"] == [{"name": "../escape.md", "reason": "'..' is not allowed in a file name"}]
        assert response.json()["detail"].startswith("No file was accepted")
        assert admin.delete("/v1/documents/nope.md").status_code == 404
        assert admin.delete("/v1/documents/..%2Fetc%2Fpasswd").status_code in (404, 409)


def test_the_old_index_answers_while_a_rebuild_runs(start_server, knowledge_base, monkeypatch) -> None:
    server = start_server()
    building, finish = __import__("threading").Event(), __import__("threading").Event()
    real_build = knowledge_base.builder.apply

    def slow_build(*args, **kwargs):
        building.set()
        assert finish.wait(30)
        return real_build(*args, **kwargs)

    monkeypatch.setattr(knowledge_base.builder, "apply", slow_build)
    with server.client(ADMIN_KEY) as admin:
        job = admin.post("/v1/documents", files={"files": ("quantum.md", NOTE, "text/markdown")}).json()
        assert building.wait(30)
        during = admin.post("/v1/ask", json={"question": "KV cache 有什么用？"})
        assert during.status_code == 200 and not during.json()["abstained"]
        assert admin.get("/v1/documents").json()["pending"][0]["status"] == "running"
        finish.set()
        assert _wait_for(admin, job)["status"] == "done"


def test_a_read_only_index_refuses_changes(start_server, knowledge_base) -> None:
    server = start_server(index_dir=knowledge_base.index_dir)
    server.services.documents.knowledge_base = None  # as `rag serve --index DIR` builds it
    with server.client(ADMIN_KEY) as admin:
        assert admin.get("/v1/documents").json()["read_only"] is True
        response = admin.post("/v1/documents", files={"files": ("quantum.md", NOTE, "text/markdown")})
        assert response.status_code == 409 and "--index" in response.json()["detail"]


def test_a_rebuild_by_someone_else_is_picked_up(start_server, knowledge_base) -> None:
    server = start_server()
    with server.client(ADMIN_KEY) as client:
        assert client.post("/v1/ask", json=QUESTION).json()["abstained"] is True
        knowledge_base.add([("quantum.md", NOTE)])  # as `rag ingest` on the served folder would
        answer = client.post("/v1/ask", json=QUESTION).json()
        assert not answer["abstained"] and {c["doc_id"] for c in answer["citations"]} == {"quantum.md"}
