"""The on-demand jieba dictionary segments exactly like jieba, loads only what a text needs, and keeps its file current."""
from __future__ import annotations

import io
import threading
from pathlib import Path

import jieba
import pytest

from rag.core import segmenter
from rag.core.paths import default_corpus_files
from rag.core.segmenter import PrefixDictionary, Segmenter, dictionary_key, load_dictionary

TINY_DICTIONARY = "混合 50 n\n混合精度 20 n\n精度 40 n\n训练 60 v\n好处 30 n\n"


@pytest.fixture(scope="module")
def words_file(tmp_path_factory) -> Path:
    """jieba's real dictionary, split by first character (built once for this module: about 2 s)."""
    path = tmp_path_factory.mktemp("segmenter") / "words.bin"
    load_dictionary(path)
    return path


@pytest.fixture(scope="module")
def reference() -> jieba.Tokenizer:
    """jieba as it comes: its whole dictionary loaded at start."""
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


@pytest.fixture
def tiny_dictionary(monkeypatch) -> list[int]:
    """jieba's dictionary file replaced by five words; returns a list that counts the builds."""
    builds: list[int] = []

    def dict_file(self):
        builds.append(1)
        return io.BytesIO(TINY_DICTIONARY.encode())

    monkeypatch.setattr(jieba.Tokenizer, "get_dict_file", dict_file)
    return builds


def test_segments_the_bundled_corpus_exactly_like_jieba(words_file: Path, reference: jieba.Tokenizer) -> None:
    texts = [path.read_text(encoding="utf-8").lower() for path in default_corpus_files()]
    ours = Segmenter(load_dictionary(words_file))
    assert [list(ours.cut_for_search(t)) for t in texts] == [list(reference.cut_for_search(t)) for t in texts]


def test_a_question_loads_only_the_words_that_start_with_its_characters(words_file: Path) -> None:
    dictionary = load_dictionary(words_file)
    tokens = list(Segmenter(dictionary).cut_for_search("混合精度训练有什么好处？"))
    assert tokens == ["混合", "精度", "训练", "有", "什么", "好处", "？"]
    assert {word[0] for word in dictionary.freq} <= set("混合精度训练有什么好处？")
    assert 0 < len(dictionary.freq) < 20_000, "a few parts of about 500,000 entries"


def test_the_file_is_built_once_and_read_afterwards(tmp_path: Path, tiny_dictionary: list[int]) -> None:
    path = tmp_path / "cache" / "words.bin"
    first = load_dictionary(path)
    second = load_dictionary(path)
    assert len(tiny_dictionary) == 1 and path.is_file()
    second.cover("混合精度")
    assert second.total == first.total == 200
    assert second.freq == {"混": 0, "混合": 50, "混合精": 0, "混合精度": 20, "精": 0, "精度": 40}


@pytest.mark.parametrize("damage", ["other key", "truncated", "garbage"])
def test_a_stale_or_damaged_file_is_rebuilt(tmp_path: Path, tiny_dictionary: list[int], damage: str) -> None:
    path = tmp_path / "words.bin"
    if damage == "other key":
        path.write_bytes(PrefixDictionary.encode({"旧": 1}, 1, ("an older jieba",)))
    else:
        path.write_bytes(PrefixDictionary.encode({"旧": 1}, 1, dictionary_key())[:20] if damage == "truncated" else b"\x00" * 64)
    dictionary = load_dictionary(path)
    assert len(tiny_dictionary) == 1
    assert list(Segmenter(dictionary).cut_for_search("混合精度训练")) == ["混合", "精度", "混合精度", "训练"]
    assert PrefixDictionary.decode(path.read_bytes(), dictionary_key()) is not None, "stored again"


def test_an_unwritable_cache_folder_only_costs_the_store(tmp_path: Path, tiny_dictionary: list[int], caplog) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    dictionary = load_dictionary(blocker / "words.bin")
    assert list(Segmenter(dictionary).cut_for_search("训练")) == ["训练"]
    assert "could not store the word dictionary" in caplog.text


def test_threads_segmenting_at_once_get_jieba_s_tokens(words_file: Path, reference: jieba.Tokenizer) -> None:
    texts = [path.read_text(encoding="utf-8").lower()[:3000] for path in default_corpus_files()] * 2
    expected = [list(reference.cut_for_search(t)) for t in texts]
    shared = Segmenter(load_dictionary(words_file))
    results: dict[int, list[str]] = {}
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, list(shared.cut_for_search(texts[i]))))
               for i in range(len(texts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[i] for i in range(len(texts))] == expected


def test_the_key_follows_jieba_s_version_and_dictionary_file(monkeypatch) -> None:
    key = dictionary_key()
    monkeypatch.setattr(segmenter.jieba, "__version__", "9.9")
    assert dictionary_key() != key
