"""Which language a text is in, and whether it needs translating into one (`rag.core.language`)."""
from rag.core.language import detect_language, written_in


def test_a_chinese_question_with_english_terms_is_chinese() -> None:
    assert detect_language("KV cache 是什么？") == "zh"
    assert detect_language("What is KV cache?") == "en"
    assert detect_language("the burst parameter of the token bucket有啥用？") == "en"  # more words than characters


def test_english_needs_no_translation_only_without_a_chinese_character() -> None:
    assert written_in("What is the burst parameter for?", "en")
    assert not written_in("the burst parameter of the token bucket有啥用？", "en")
    assert written_in("burst 参数有啥用？", "zh") and not written_in("What is burst for?", "zh")
