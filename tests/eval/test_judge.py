"""The OpenAI-compatible judge against a stub server on 127.0.0.1: wiring, retries, JSON repair, NaN accounting."""
import json
import math
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from rag.core.config import Config, JudgeConfig
from rag_eval.judge import JudgeError, OpenAICompatibleJudge, make_judge
from tests.conftest import KeywordEmbedder

pytest.importorskip("ragas")

STATEMENTS = {"statements": ["混合精度训练更快。", "混合精度训练更省显存。"]}
VERDICTS = {"statements": [{"statement": "混合精度训练更快。", "reason": "上下文说明", "verdict": 1},
                           {"statement": "混合精度训练更省显存。", "reason": "上下文没有", "verdict": 0}]}
QUESTION = {"question": "混合精度训练有什么好处？", "noncommittal": 0}


class Stub:
    """Replies by what the prompt asks for; `fail_first` answers 503 once; `malformed` replies with prose."""

    def __init__(self, fail_first: bool = False, malformed: bool = False) -> None:
        self.fail_first, self.malformed = fail_first, malformed
        self.requests: list[dict] = []

    def reply(self, body: dict) -> tuple[int, str]:
        self.requests.append(body)
        if self.fail_first and len(self.requests) == 1:
            return 503, ""
        prompt = body["messages"][0]["content"]
        if self.malformed:
            text = "I think the answer is good."
        elif "judge the faithfulness" in prompt:
            text = "Here is the JSON:\n```json\n" + json.dumps(VERDICTS, ensure_ascii=False) + "\n```"
        elif "Break down each sentence" in prompt:
            text = json.dumps(STATEMENTS, ensure_ascii=False) + "\nHope this helps."
        elif "noncommittal" in prompt:
            text = json.dumps(QUESTION, ensure_ascii=False)
        else:
            text = "{}"
        return 200, json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]})


@pytest.fixture
def server():
    stubs = {}

    def start(stub: Stub) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                assert self.path == "/v1/chat/completions"
                stub.auth = self.headers.get("Authorization")
                code, payload = stub.reply(body)
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(payload.encode())

            def log_message(self, *args):
                pass

        httpd = HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        stubs[httpd] = stub
        return f"http://127.0.0.1:{httpd.server_address[1]}/v1"

    yield start
    for httpd in stubs:
        httpd.shutdown()


def test_settings_from_env_and_flags() -> None:
    env = {"RAG_JUDGE_URL": "http://x/v1", "RAG_JUDGE_MODEL": "m", "RAG_JUDGE_API_KEY": "k", "RAG_JUDGE_TIMEOUT": "5"}
    settings = Config.load(env=env, overrides={"judge.model": "flag-model", "judge.gguf": None}).judge
    assert (settings.url, settings.model, settings.api_key.get_secret_value(), settings.timeout) == ("http://x/v1", "flag-model", "k", 5.0)
    assert "'k'" not in repr(settings) and settings.configured
    assert make_judge(Config.load(env={}).judge) is None


def test_retries_after_a_first_failure(server) -> None:
    stub = Stub(fail_first=True)
    judge = OpenAICompatibleJudge(JudgeConfig(url=server(stub), model="judge-m", api_key="secret"))
    assert json.loads(judge.complete("noncommittal?")) == QUESTION
    assert len(stub.requests) == 2  # the 503, then the retry
    assert stub.requests[-1]["model"] == "judge-m" and stub.requests[-1]["temperature"] == 0
    assert stub.auth == "Bearer secret"


def test_gives_up_after_retries() -> None:
    judge = OpenAICompatibleJudge(JudgeConfig(url="http://127.0.0.1:9/v1", timeout=1, retries=1))
    with pytest.raises(JudgeError, match="2 attempts"):
        judge.complete("x")


def test_ragas_metrics_through_the_stub(server) -> None:
    from rag_eval.ragas_judged import JudgedScorer

    stub = Stub(fail_first=True)
    judge = OpenAICompatibleJudge(JudgeConfig(url=server(stub)))
    scorer = JudgedScorer(judge, KeywordEmbedder())
    scores = scorer("混合精度训练有什么好处？", "混合精度训练更快，更省显存。[1]", ["半精度计算速度更快。"])
    assert scores["faithfulness"] == pytest.approx(0.5)          # verdicts 1 and 0 over 2 statements
    assert scores["answer_relevancy"] == pytest.approx(1.0, abs=1e-6)  # same question back: cosine 1
    assert "context_recall" not in scores                         # no reference answer: not applicable


def test_malformed_judge_output_is_nan_not_zero(server) -> None:
    from rag_eval.ragas_judged import JudgedScorer
    from rag_eval.summary import summarize

    judge = OpenAICompatibleJudge(JudgeConfig(url=server(Stub(malformed=True))))
    scores = JudgedScorer(judge, KeywordEmbedder())("问题？", "回答[1]。", ["上下文。"], reference="参考答案。")
    assert set(scores) == {"faithfulness", "context_recall", "answer_relevancy"}
    assert all(math.isnan(v) for v in scores.values())
    record = {"config": "c", "id": "q", "answerable": True, "abstained": False, "scores": scores, "timings": {}}
    assert summarize([record])["c"]["metrics"]["faithfulness"]["nan"] == 1
