"""How extractive answers are rendered (their choice of sentences is exercised through the answerer's tests)."""
from rag.answering.extractive import ExtractedSentence, ExtractiveAnswerer


def sentence(number: int, text: str, list_item: bool = False) -> ExtractedSentence:
    return ExtractedSentence(number, 0, len(text), text, 1.0, list_item)


def test_sentences_are_run_on_with_their_markers_before_the_closing_punctuation() -> None:
    chosen = [sentence(1, "它们允许模型学习相对位置关系"), sentence(1, "常数 10000 用于防止函数饱和。")]
    # A sentence the source ended with a line break gets a full stop, or it would read as one with the next.
    assert ExtractiveAnswerer.render(chosen) == "它们允许模型学习相对位置关系[1]。常数 10000 用于防止函数饱和[1]。"
    english = [sentence(2, "Dropout zeroes activations"), sentence(3, "It reduces overfitting.")]
    assert ExtractiveAnswerer.render(english, "en") == "Dropout zeroes activations [2]. It reduces overfitting [3]."


def test_a_whole_list_is_one_item_per_line() -> None:
    items = [sentence(1, "提高计算速度：半精度更快", True), sentence(1, "降低内存占用：显存更少。", True)]
    assert ExtractiveAnswerer.render(items) == "- 提高计算速度：半精度更快[1]\n- 降低内存占用：显存更少[1]。"
