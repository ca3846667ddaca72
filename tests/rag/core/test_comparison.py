"""What a comparison question compares: the things it names and one question about each."""
import pytest

from rag.core.comparison import comparison


@pytest.mark.parametrize("question, things, questions", [
    ("LoRA 和 Adapter Tuning 分别是怎么工作的？", ("LoRA", "Adapter Tuning"),
     ("LoRA 是怎么工作的？", "Adapter Tuning 是怎么工作的？")),
    # the words the things share stay with each: before the first ("重参数化在"), after the last ("中")
    ("重参数化在 VAE 和 GAN 中分别起什么作用？", ("VAE", "GAN"), ("重参数化在VAE中起什么作用？", "重参数化在GAN中起什么作用？")),
    ("训练语言模型时，数据并行和模型并行分别是怎么切分任务的？", ("数据并行", "模型并行"),
     ("训练语言模型时，数据并行是怎么切分任务的？", "训练语言模型时，模型并行是怎么切分任务的？")),
    # "what is the difference" asks, of each, what sets it apart
    ("RMSNorm 和 LayerNorm 有什么区别？", ("RMSNorm", "LayerNorm"), ("RMSNorm 有什么特点？", "LayerNorm 有什么特点？")),
    ("GPTQ、AWQ 和 SmoothQuant 这些量化方法分别是怎么工作的？", ("GPTQ", "AWQ", "SmoothQuant"),
     ("GPTQ这种量化方法是怎么工作的？", "AWQ这种量化方法是怎么工作的？", "SmoothQuant这种量化方法是怎么工作的？")),
    # the things may end a clause before the word asking about each
    ("预训练和微调这两个阶段，分别靠什么样的数据来学习？", ("预训练", "微调"),
     ("预训练这种阶段，靠什么样的数据来学习？", "微调这种阶段，靠什么样的数据来学习？")),
    ("Word2Vec这类静态词嵌入和BERT这类上下文词嵌入，在词向量表示上有什么不同？",
     ("Word2Vec这类静态词嵌入", "BERT这类上下文词嵌入"),
     ("Word2Vec这类静态词嵌入，在词向量表示上有什么特点？", "BERT这类上下文词嵌入，在词向量表示上有什么特点？")),
    ("LoRA跟QLoRA相比，各自适合在什么条件下选用？", ("LoRA", "QLoRA"),
     ("LoRA，适合在什么条件下选用？", "QLoRA，适合在什么条件下选用？")),
])
def test_a_chinese_comparison_names_its_things_and_asks_about_each(question: str, things: tuple, questions: tuple) -> None:
    compared = comparison(question)
    assert compared is not None and compared.things == things and compared.questions == questions


def test_a_modifier_that_tells_the_things_apart_is_not_shared() -> None:
    # "基于词的" belongs to the first thing: "分词" alone would be every one of them
    compared = comparison("基于词的分词、基于字符的分词和子词分词各有什么缺点？")
    assert compared is not None and compared.things == ("基于词的分词", "基于字符的分词", "子词分词")


@pytest.mark.parametrize("question, things, first", [
    ("What is the difference between intrinsic and extrinsic evaluation?", ("intrinsic evaluation", "extrinsic evaluation"),
     "What is intrinsic evaluation?"),
    ("How do LoRA and QLoRA differ?", ("LoRA", "QLoRA"), "What is LoRA?"),
    ("How do weight decay and dropout each help prevent overfitting?", ("weight decay", "dropout"),
     "How do weight decay help prevent overfitting?"),
    ("Compare BLEU, ROUGE and perplexity: what does each one measure?", ("BLEU", "ROUGE", "perplexity"),
     "What is BLEU: what does each one measure?"),
])
def test_an_english_comparison_names_its_things(question: str, things: tuple, first: str) -> None:
    compared = comparison(question)
    assert compared is not None and compared.things == things and compared.questions[0] == first


@pytest.mark.parametrize("question", [
    "训练时的效果和开销怎么样？",  # "A和B" without a word asking about each is one thing
    "用联合嵌入做文本和图像的多模态识别，具体分哪几步？",
    "T5 是怎样用一个框架处理翻译、分类、摘要这些不同任务的？",  # 不同 describing, not asking
    "和传统方法相比，大模型做情感分析有哪些长处？",
    "模型分别在哪些数据集上训练？",  # 分别 with one thing
    "What is LoRA?",
    "What is the key difference between how pickle and cloudpickle serialize functions?",  # two clauses, not two things
])
def test_other_questions_compare_nothing(question: str) -> None:
    assert comparison(question) is None
