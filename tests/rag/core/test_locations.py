"""Store URIs: every accepted form, and errors that name the value and the accepted forms."""
from pathlib import Path

import pytest

from rag.core.config import Config
from rag.core.errors import ConfigError
from rag.core.locations import MilvusLocation, is_store_uri, parse_location


def test_a_plain_path_is_a_folder() -> None:
    assert parse_location("./index") == Path("index")
    assert parse_location(Path("/x/y")) == Path("/x/y")
    assert not is_store_uri("./index") and is_store_uri("milvus:./kb.db")


def test_lite_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    location = parse_location("milvus:./kb.db")
    assert isinstance(location, MilvusLocation) and location.is_lite
    assert location.uri == str(tmp_path / "kb.db") and location.collection == "rag" and location.token == ""
    assert str(location) == "milvus:./kb.db"


def test_server_collection(monkeypatch) -> None:
    monkeypatch.setenv("MILVUS_TOKEN", "root:Milvus")
    location = parse_location("milvus+http://milvus.internal:19530/team_kb")
    assert isinstance(location, MilvusLocation) and not location.is_lite
    assert (location.uri, location.collection, location.token) == ("http://milvus.internal:19530", "team_kb", "root:Milvus")
    assert parse_location("milvus+https://m.example.com/kb").uri == "https://m.example.com"


@pytest.mark.parametrize("value, problem", [
    ("milvus:", "not a Milvus Lite file"),
    ("milvus:./kb.sqlite", "not a Milvus Lite file"),
    ("milvus+http://host:19530", "not a Milvus server collection"),
    ("milvus+http://host:19530/bad-name", "not a Milvus server collection"),
    ("milvus+http://host:19530/a/b", "not a Milvus server collection"),
    ("milvus://host/kb", "not a Milvus Lite file"),
    ("postgres://host/db", "unknown scheme 'postgres'"),
    ("milvusx:kb.db", "unknown scheme 'milvusx'"),
    ("   ", "empty"),
])
def test_bad_locations_name_the_value_and_the_accepted_forms(value: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_location(value)
    message = str(caught.value)
    assert problem in message and "milvus+http://host:19530/<collection>" in message
    if value.strip():
        assert repr(value)[1:-1] in message


def test_a_bad_index_dir_fails_when_the_config_loads() -> None:
    with pytest.raises(ConfigError, match=r"Config key 'index_dir' .* 'milvus\+http://h:1/'.*milvus:\./path\.db"):
        Config.load(env={}, overrides={"index_dir": "milvus+http://h:1/"})
    assert Config.load(env={}, overrides={"index_dir": "milvus:./kb.db"}).index_dir == "milvus:./kb.db"
