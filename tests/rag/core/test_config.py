from pathlib import Path

import pytest

from rag.core.config import Config
from rag.core.errors import ConfigError


def test_defaults_then_toml_then_environment_then_overrides(tmp_path: Path) -> None:
    file = tmp_path / "rag.toml"
    file.write_text('embedder = "st:/models/e5"\n[retrieval]\ntop_k = 7\nrrf_k = 30\n[chunking]\nmax_chars = 500\n')
    env = {"RAG_RETRIEVAL_TOP_K": "4", "RAG_CHUNKING_SEMANTIC": "false", "UNRELATED": "x"}
    config = Config.load(file, env=env, overrides={"retrieval.top_k": 3, "retrieval.mode": None})
    assert config.embedder == "st:/models/e5"          # from the file
    assert config.retrieval.rrf_k == 30.0               # from the file, converted to float
    assert config.chunking.max_chars == 500
    assert config.chunking.semantic is False            # from the environment
    assert config.retrieval.top_k == 3                  # the override wins
    assert config.retrieval.mode == "hybrid"            # a None override falls through to the default


def test_config_file_from_environment_variable(tmp_path: Path) -> None:
    file = tmp_path / "custom.toml"
    file.write_text("[retrieval]\ncandidates = 99\n")
    assert Config.load(env={"RAG_CONFIG": str(file)}).retrieval.candidates == 99


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"retrieval": {"top_kk": 3}}, "Unknown config key 'retrieval.top_kk'"),
        ({"nosuch": {"x": 1}}, "Unknown config section 'nosuch'"),
        ({"retrieval.top_k": "many"}, "'retrieval.top_k' .* invalid value 'many'"),
        ({"chunking.semantic": "perhaps"}, "expected true or false"),
    ],
)
def test_bad_values_name_the_key(values, message) -> None:
    with pytest.raises(ConfigError, match=message):
        Config().apply(values, source="test")


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    file = tmp_path / "broken.toml"
    file.write_text("[retrieval\n")
    with pytest.raises(ConfigError, match="broken.toml"):
        Config.load(file, env={})


def test_top_level_key_wins_over_section_prefix_and_optional_floats() -> None:
    env = {"RAG_INDEX_DIR": "/data/idx", "RAG_INDEX_BM25_K1": "1.2", "RAG_RERANK_MIN_RELEVANCE": "0.3"}
    config = Config.load(env=env)
    assert config.index_dir == "/data/idx" and config.index.bm25_k1 == 1.2
    assert config.rerank.min_relevance == 0.3
    assert Config.load(env={"RAG_RERANK_MIN_RELEVANCE": "none"}).rerank.min_relevance is None


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"retrieval.mode": "fuzzy"}, r"'retrieval.mode' .* 'fuzzy': expected one of 'hybrid', 'dense' or 'sparse'"),
        ({"answer.mode": "magic"}, r"'answer.mode' .* expected one of 'llm' or 'extractive'"),
        ({"retrieval.top_k": 2.5}, r"'retrieval.top_k' .* 2.5"),               # never truncated to 2
        ({"retrieval.top_k": "2.5"}, r"'retrieval.top_k' .* '2.5'"),
        ({"retrieval.top_k": 0}, r"'retrieval.top_k' .* greater than or equal to 1"),
        ({"rerank.min_relevance": -0.5}, r"'rerank.min_relevance' .* greater than or equal to 0"),
        ({"rerank.reranker": "bogus"}, r"'rerank.reranker' .* 'bogus'"),
        ({"rerank.reranker": "llm:0"}, r"'rerank.reranker' .* 'llm:0'"),
        ({"embedder": "word2vec"}, r"'embedder' .* 'word2vec'"),
        ({"limits.question_overflow": "ignore"}, r"'limits.question_overflow'"),
        ({"chunking.hard_max_chars": 200}, r"hard_max_chars must be at least chunking.max_chars"),
        ({"retrieval.top_k": 500}, r"at most limits.max_top_k"),
    ],
)
def test_invalid_values_fail_at_load_naming_the_key(values, message) -> None:
    with pytest.raises(ConfigError, match=message):
        Config().apply(values, source="test")


def test_errors_name_the_source_of_the_bad_value(tmp_path: Path) -> None:
    file = tmp_path / "rag.toml"
    file.write_text('[answer]\nmode = "llm"\n')
    with pytest.raises(ConfigError, match=r"'retrieval.mode' \(from environment\)"):
        Config.load(file, env={"RAG_RETRIEVAL_MODE": "semantic"})
    with pytest.raises(ConfigError, match=r"'answer.passages' \(from .*rag.toml\)"):
        file.write_text("[answer]\npassages = -1\n")
        Config.load(file, env={})


def test_floats_are_kept_and_assignment_is_validated() -> None:
    config = Config.load(env={"RAG_RETRIEVAL_RRF_K": "12.5", "RAG_ANSWER_MIN_SUPPORT": "0.65"})
    assert config.retrieval.rrf_k == 12.5 and config.answer.min_support == 0.65
    with pytest.raises(ValueError):
        config.retrieval.mode = "fuzzy"
    config.retrieval.top_k = 5
    assert config.retrieval.top_k == 5


def test_plain_construction_is_the_defaults_whatever_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("RAG_RETRIEVAL_TOP_K", "3")
    assert Config().retrieval.top_k == 10 and Config.load().retrieval.top_k == 3


def test_the_word_none_is_none_only_where_a_key_allows_none(tmp_path: Path) -> None:
    file = tmp_path / "rag.toml"
    file.write_text('[rerank]\nreranker = "none"\nmin_relevance = "none"\n')
    config = Config.load(file, env={"RAG_INDEX_DIR": "null"})
    assert config.rerank.reranker == "none" and config.rerank.min_relevance is None and config.index_dir is None
    assert Config.load(env={"RAG_RERANK_RERANKER": "none"}).rerank.reranker == "none"


def test_unknown_rag_variables_are_reported_with_the_closest_key(caplog) -> None:
    env = {"RAG_RETRIEVL_TOP_K": "3", "RAG_UI_DATA_DIR": "/kb", "RAG_API_KEYS": "k:read", "RAG_CONFIG": ""}
    with caplog.at_level("WARNING"):
        config = Config.load(env=env)
    assert config.retrieval.top_k == 10
    assert "RAG_RETRIEVL_TOP_K: no such setting (did you mean RAG_RETRIEVAL_TOP_K?)" in caplog.text
    assert "RAG_UI_DATA_DIR: no such setting (did you mean RAG_DATA_DIR?)" in caplog.text
    assert "RAG_API_KEYS" not in caplog.text  # read by the server itself, not a setting


def test_front_door_sections_load_like_the_librarys(tmp_path: Path) -> None:
    file = tmp_path / "rag.toml"
    file.write_text('data_dir = "/srv/kb"\n[ui]\nmax_upload_mb = 5\n[judge]\nurl = "http://127.0.0.1:8080/v1"\n')
    config = Config.load(file, env={"RAG_JUDGE_API_KEY": "secret", "RAG_JUDGE_TIMEOUT": "9"})
    assert config.data_dir == "/srv/kb" and config.ui.max_upload_mb == 5.0
    assert config.judge.configured and config.judge.timeout == 9.0
    assert config.judge.api_key.get_secret_value() == "secret" and "secret" not in repr(config)
    with pytest.raises(ConfigError, match=r"'judge.retries' \(from command line\) has invalid value '-1'"):
        Config.load(file, env={}, overrides={"judge.retries": "-1"})


def test_where_each_value_came_from(tmp_path: Path) -> None:
    from rag.core.config_sources import value_sources

    file = tmp_path / "rag.toml"
    file.write_text("[retrieval]\ntop_k = 7\nrrf_k = 30\n")
    sources = value_sources(Config, file, env={"RAG_RETRIEVAL_RRF_K": "20"}, overrides={"answer.mode": "extractive", "embedder": None})
    assert sources == {"retrieval.top_k": str(file), "retrieval.rrf_k": "environment", "answer.mode": "command line"}


def test_every_key_says_what_it_means() -> None:
    from rag.core.config import SECTIONS

    models = [Config, *SECTIONS.values()]
    undocumented = [
        f"{m.__name__}.{name}" for m in models for name, field in m.model_fields.items()
        if not field.description and not (m is Config and name in SECTIONS)  # a section: its class docstring says
    ]
    assert undocumented == [] and all(section.__doc__ for section in SECTIONS.values())
