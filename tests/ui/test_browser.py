"""The real app in headless Chromium: type a question, get a cited answer, open the citation, screenshot."""
from __future__ import annotations

from pathlib import Path

import pytest

from rag_ui.browser import (
    ask_and_open_citation,
    browser_page,
    missing_requirements,
    running_app,
)
from tests.conftest import BENEFITS, BENEFITS_DOC, CHALLENGES

pytestmark = [pytest.mark.browser, pytest.mark.skipif(missing_requirements() is not None, reason=str(missing_requirements()))]

HTML_DOC = """# 安全

## 什么是跨站脚本攻击？

跨站脚本攻击（XSS）把 <script>window.__injected = 1</script> 这样的脚本注入网页，在用户的浏览器里执行。
"""


def test_ask_click_a_citation_and_take_a_screenshot(data_dir: Path, tmp_path: Path) -> None:
    (data_dir / "documents" / "security.md").write_text(HTML_DOC, encoding="utf-8")
    env = {"RAG_DATA_DIR": str(data_dir), "RAG_ANSWER_MODE": "extractive"}
    screenshot = tmp_path / "answer.png"
    with running_app(env, log=tmp_path / "streamlit.log") as url, browser_page() as page:
        visit = ask_and_open_citation(page, url, "什么是 LoRA？", screenshot)
        assert "LoRA 通过低秩矩阵适配预训练模型" in visit.answer and "[1]" in visit.answer
        assert visit.chip == "[1] mixed-precision.md"
        assert "训练技巧" in visit.passage and "mixed-precision.md, characters" in visit.passage
        assert visit.highlighted == "LoRA 通过低秩矩阵适配预训练模型，只训练很少的参数。"
        assert screenshot.stat().st_size > 10_000
        page.keyboard.press("Escape")

        # document text that looks like HTML is shown as text, never run
        visit = ask_and_open_citation(page, url, "什么是跨站脚本攻击？", turn=1, load=False)
        assert "<script>window.__injected = 1</script>" in visit.passage
        assert page.evaluate("window.__injected") is None


def test_the_second_question_of_a_conversation_is_answered_about_the_first_ones_topic(data_dir: Path, tmp_path: Path) -> None:
    env = {"RAG_DATA_DIR": str(data_dir), "RAG_ANSWER_MODE": "extractive"}
    with running_app(env, log=tmp_path / "streamlit.log") as url, browser_page() as page:
        first = ask_and_open_citation(page, url, "什么是 LoRA？")
        assert "LoRA" in first.answer
        page.keyboard.press("Escape")
        second = ask_and_open_citation(page, url, "它训练多少参数？", tmp_path / "follow-up.png", turn=1, load=False)
        assert second.answer.startswith("LoRA 通过低秩矩阵适配预训练模型，只训练很少的参数") and "混合精度" not in second.answer
        assert second.chip == "[1] mixed-precision.md" and "LoRA" in second.highlighted
        page.keyboard.press("Escape")
        assert "searched as: 它训练多少参数？（上文：什么是 LoRA？）" in page.get_by_test_id("stChatMessage").nth(3).inner_text()


def test_the_popover_highlights_the_benefits_and_not_the_challenges(data_dir: Path, tmp_path: Path) -> None:
    (data_dir / "documents" / "mixed-precision.md").unlink()  # it answers "有什么好处" from its own 优势 section
    name, text = BENEFITS_DOC
    (data_dir / "documents" / name).write_text(text, encoding="utf-8")
    env = {"RAG_DATA_DIR": str(data_dir), "RAG_ANSWER_MODE": "extractive"}
    with running_app(env, log=tmp_path / "streamlit.log") as url, browser_page(height=600) as page:
        visit = ask_and_open_citation(page, url, "混合精度训练有什么好处？", tmp_path / "benefits.png")
        assert visit.chip == "[1] training.md" and all(benefit.rstrip("。") + "[1]" in visit.answer for benefit in BENEFITS)
        shown = "".join(visit.highlights)
        assert all(benefit in shown for benefit in BENEFITS)
        assert not any(challenge[:6] in shown for challenge in CHALLENGES) and "16 位" not in shown
        assert all(challenge in visit.passage for challenge in CHALLENGES)  # shown, just not highlighted
        # opened at the first benefit: the definition above it is left out ("…"), the benefits are in view
        assert "\n…\n" in visit.passage and "16 位" not in visit.passage and visit.first_highlight_in_view
        page.keyboard.press("Escape")

        refusal = ask_and_open_citation(page, url, "今天北京的天气怎么样？", turn=1, load=False)
        assert refusal.chip.startswith("nearest [1] ") and refusal.highlights == ()
        assert "Nearest passage" in refusal.passage


def test_the_passages_being_read_show_before_the_first_draft_token(data_dir: Path, tmp_path: Path) -> None:
    from rag_ui.browser import watch_stages

    env = {"RAG_DATA_DIR": str(data_dir), "RAG_ANSWER_MODE": "llm", "RAG_ANSWER_GENERATOR": "gemma3-270m"}
    with running_app(env, log=tmp_path / "streamlit.log") as url, browser_page() as page:
        stages = watch_stages(page, url, "什么是 LoRA？")
    assert stages.reading is not None, "the passages the model reads were never shown"
    assert stages.draft is None or stages.reading <= stages.draft  # equal: both arrived between two polls
    assert stages.reading < stages.answer
