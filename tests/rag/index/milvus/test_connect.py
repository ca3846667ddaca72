"""Connecting: the install hint without the extra; a reader never creates a Lite file."""
import sys
from pathlib import Path

import pytest

from rag.core.errors import IndexNotFoundError, RagError
from rag.core.locations import parse_location
from rag.index.milvus import collections as mc


def test_without_pymilvus_the_error_names_the_extra(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pymilvus", None)
    with pytest.raises(RagError, match=r"pip install 'rag-local\[milvus\]'"):
        mc.connect(parse_location(f"milvus:{tmp_path / 'kb.db'}"), create=True)


def test_a_reader_does_not_create_a_lite_file(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="rag ingest PATH... --index milvus:"):
        mc.connect(parse_location(f"milvus:{tmp_path / 'kb.db'}"))
    assert not (tmp_path / "kb.db").exists()


def test_an_unreachable_server_is_a_clear_error() -> None:
    # Port 9 (discard) on the loopback: nothing listens there, and no network is needed.
    with pytest.raises(RagError, match=r"Could not connect to Milvus for index 'milvus\+http://127\.0\.0\.1:9/kb'"):
        mc.connect(parse_location("milvus+http://127.0.0.1:9/kb"))


def test_connected_closes_the_client_after_the_block_even_when_it_raises(tmp_path: Path) -> None:
    from pymilvus.exceptions import MilvusException

    location = parse_location(f"milvus:{tmp_path / 'kb.db'}")
    with pytest.raises(ValueError, match="inside the block"):
        with mc.connected(location, create=True, unreachable=ValueError) as client:
            assert client.list_collections() == []
            raise ValueError("inside the block")  # not caught by connected, whatever `unreachable` says
    with pytest.raises(MilvusException, match="connection"):
        client.list_collections()


def test_connected_hands_none_to_the_block_only_for_the_errors_named_unreachable(tmp_path: Path) -> None:
    location = parse_location(f"milvus:{tmp_path / 'kb.db'}")
    with mc.connected(location, unreachable=IndexNotFoundError) as client:
        assert client is None
    with pytest.raises(IndexNotFoundError):
        with mc.connected(location):
            pass
    assert not (tmp_path / "kb.db").exists()
