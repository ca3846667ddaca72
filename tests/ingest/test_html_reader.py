"""HTML pages: read as Markdown-like text (headings kept, scripts and styles never read), indexed and cited."""
from __future__ import annotations

from pathlib import Path

from rag.api import RAG
from rag.core.config import Config
from rag.index.local import IndexStore
from rag_ingest.builder import IndexBuilder
from rag_ingest.html_reader import html_text
from rag_ingest.loaders import SkippedFile, SourceDocument, load_documents, read_file

PAGE = """<!doctype html>
<html><head><meta charset="{charset}"><title>训练手册</title>
<style>p {{ color: red }} .secret::after {{ content: "STYLE-TEXT" }}</style>
<script>document.write("SCRIPT-TEXT"); fetch("http://example.invalid/steal")</script></head>
<body>
<h1>训练手册</h1>
<h2>混合精度</h2>
<p>混合精度训练使用 <b>FP16</b> 和
   FP32 两种精度。半精度计算速度更快，显存占用更少。</p>
<!-- COMMENT-TEXT -->
<h2>LoRA 微调</h2>
<p>LoRA 通过低秩矩阵适配预训练模型，只训练很少的参数。<br>秩通常取 8。</p>
<ul><li>优点：省显存<ul><li>只存低秩矩阵</li></ul></li><li>缺点：表达能力有限</li></ul>
<p>## 看起来像标题的段落</p>
<table><tr><th>方法</th><th>参数</th></tr><tr><td>LoRA</td><td>0.1%</td></tr></table>
<pre><code>lora_rank = 8
# 不是标题</code></pre>
<noscript>NOSCRIPT-TEXT</noscript><iframe src="http://example.invalid">IFRAME-TEXT</iframe>
<form><input value="INPUT-TEXT"><textarea>TEXTAREA-TEXT</textarea></form>
</body></html>
"""


def test_structure_is_kept_and_active_content_dropped() -> None:
    text = html_text(PAGE.format(charset="utf-8").encode("utf-8"))
    assert text.startswith("# 训练手册\n\n## 混合精度\n\n混合精度训练使用 FP16 和 FP32 两种精度。")
    assert "## LoRA 微调\n\nLoRA 通过低秩矩阵适配预训练模型，只训练很少的参数。\n秩通常取 8。" in text
    assert "- 优点：省显存\n  - 只存低秩矩阵\n- 缺点：表达能力有限" in text
    assert "\\## 看起来像标题的段落" in text
    assert "| 方法 | 参数 |\n| --- | --- |\n| LoRA | 0.1% |" in text
    assert "```\nlora_rank = 8\n# 不是标题\n```" in text
    for hidden in ("SCRIPT", "STYLE", "COMMENT", "NOSCRIPT", "IFRAME", "INPUT", "TEXTAREA", "example.invalid"):
        assert hidden not in text


def test_declared_charset_is_honoured_and_title_heads_a_page_without_h1() -> None:
    page = PAGE.format(charset="gbk").replace("<h1>训练手册</h1>", "")
    text = html_text(page.encode("gbk"))
    assert text.startswith("# 训练手册\n\n## 混合精度") and "显存占用更少" in text


def test_undeclared_encoding_is_detected() -> None:
    page = "<html><body><h1>标题</h1><p>混合精度训练可以减少显存占用，提高训练速度。</p></body></html>"
    assert html_text(page.encode("gb18030")) == "# 标题\n\n混合精度训练可以减少显存占用，提高训练速度。"


def test_ingested_html_is_cited_at_the_extracted_span(tmp_path: Path, keyword_embedder) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "manual.html").write_text(PAGE.format(charset="utf-8"), encoding="utf-8")
    (corpus / "empty.htm").write_text("<html><head><script>only()</script></head><body> </body></html>", encoding="utf-8")
    report = IndexBuilder(Config(), keyword_embedder).build([corpus], tmp_path / "index", progress=False)
    assert [(Path(s.path).name, "no text" in s.reason) for s in report.skipped] == [("empty.htm", True)]
    store = IndexStore.open(tmp_path / "index")
    assert "<script" not in store.documents["manual.html"] and store.documents["manual.html"].startswith("# 训练手册")
    config = Config()
    config.rerank.min_relevance = 0.0
    answer = RAG(store, config, keyword_embedder).ask("LoRA 怎样适配预训练模型？", mode="extractive")
    citation = next(c for c in answer.citations if "低秩矩阵" in c.text)
    assert citation.doc_id == "manual.html" and citation.heading.startswith("训练手册")
    assert store.documents["manual.html"][citation.start:citation.end] == citation.text


def test_read_file_formats(tmp_path: Path) -> None:
    (tmp_path / "page.htm").write_text(PAGE.format(charset="utf-8"), encoding="utf-8")
    document = read_file(tmp_path / "page.htm", "page.htm")
    assert isinstance(document, SourceDocument) and document.format == "html"
    (tmp_path / "binary.html").write_bytes(b"\x00\x01\x02\x03" * 50)
    skipped = read_file(tmp_path / "binary.html", "binary.html")
    assert isinstance(skipped, SkippedFile) and skipped.reason


def test_other_types_are_still_refused_naming_the_new_ones(tmp_path: Path) -> None:
    (tmp_path / "slides.pptx").write_bytes(b"PK")
    (skipped,) = load_documents([tmp_path]).skipped
    assert ".docx" in skipped.reason and ".html" in skipped.reason
