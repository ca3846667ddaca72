from rag.core.structure import parse_structure


def _headings(section, depth=0):
    rows = [(depth, section.heading)] if section.heading else []
    for child in section.children:
        rows += _headings(child, depth + 1)
    return rows


def test_hash_lines_inside_code_fences_are_not_headings() -> None:
    text = "# 标题\n\n```python\n# 注释不是标题\nx = 1\n```\n\n## 小节\n\n正文。\n"
    structure = parse_structure(text)
    assert [h for _, h in _headings(structure.root)] == ["标题", "小节"]
    assert len(structure.protected) == 1
    start, end = structure.protected[0]
    assert text[start:end].startswith("```python") and text[start:end].endswith("```")


def test_heading_text_drops_markup_and_star_ratings() -> None:
    structure = parse_structure("### ★★★★☆ **3. 什么是 `LoRA`？**\n\n答案。\n")
    assert structure.root.children[0].heading == "3. 什么是 LoRA？"


def test_rated_question_lines_become_sibling_headings() -> None:
    text = (
        "## 3. 数据准备\n\n### ★★★★★ **5. 词嵌入有哪些？**\n\n静态与上下文嵌入。\n\n"
        "★★★★☆ **7. 特殊符号的作用？**\n\n[PAD] 用于填充。\n"
    )
    section = parse_structure(text).root.children[0]
    assert [child.heading for child in section.children] == ["5. 词嵌入有哪些？", "7. 特殊符号的作用？"]
    seventh = section.children[1]
    assert seventh.pseudo and text[seventh.blocks[0].start:seventh.blocks[0].end] == "[PAD] 用于填充。"


def test_sections_end_at_the_next_heading_of_same_or_higher_level() -> None:
    text = "# A\n\na\n\n## B\n\nb\n\n# C\n\nc\n"
    root = parse_structure(text).root
    first, second = root.children
    assert text[first.start:first.end].rstrip() == "# A\n\na\n\n## B\n\nb"
    assert text[first.children[0].body_start:first.children[0].end].strip() == "b"
    assert second.heading == "C" and second.end == len(text)


def test_plain_text_indentation_is_not_code() -> None:
    text = "第一段。\n\n    缩进的一段文字。\n"
    assert parse_structure(text, markdown=False).protected == ()
    assert len(parse_structure(text, markdown=True).protected) == 1
