"""Every index file × {truncated, garbage, missing} gives a clear error naming the file and the fix."""
from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from rag.core.config import Config
from rag.core.errors import IndexCorruptError, IndexNotFoundError, RagError
from rag.index.local import (
    CHUNKS,
    CURRENT,
    DENSE,
    DOCUMENTS,
    EMBEDDINGS,
    MANIFEST,
    SENTENCE_EMBEDDINGS,
    SENTENCES,
    SPARSE,
    IndexStore,
    current_generation,
)
from rag_ingest.builder import IndexBuilder
from tests.conftest import TINY_DOCS, KeywordEmbedder

FILES = [MANIFEST, CHUNKS, DOCUMENTS, EMBEDDINGS, SENTENCES, SENTENCE_EMBEDDINGS, DENSE]
SPARSE_FILES = ["params.index.json", "vocab.index.json", "data.csc.index.npy", "indices.csc.index.npy", "indptr.csc.index.npy"]
DAMAGE = ["truncate", "garbage", "missing"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    corpus = tmp_path_factory.mktemp("docs")
    for name, text in TINY_DOCS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    index_dir = tmp_path_factory.mktemp("pristine") / "index"
    IndexBuilder(Config(), KeywordEmbedder()).build([corpus], index_dir, progress=False)
    return index_dir


def _damage(file: Path, how: str) -> None:
    if how == "missing":
        file.unlink()
        return
    data = file.read_bytes()
    if how == "truncate":
        file.write_bytes(data[: len(data) // 2])
    else:
        file.write_bytes(bytes(random.Random(7).randrange(256) for _ in range(max(len(data), 64))))


def test_the_sparse_files_listed_here_are_the_ones_bm25s_writes(built: Path) -> None:
    written = {p.name for p in (current_generation(built) / SPARSE).iterdir()}
    assert set(SPARSE_FILES) <= written


@pytest.mark.parametrize("how", DAMAGE)
@pytest.mark.parametrize("name", FILES + [f"{SPARSE}/{n}" for n in SPARSE_FILES])
def test_a_damaged_file_is_named_with_the_fix(built: Path, tmp_path: Path, name: str, how: str) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(built, index_dir)
    _damage(current_generation(index_dir) / name, how)
    with pytest.raises(IndexCorruptError) as raised:
        IndexStore.open(index_dir)
    message = str(raised.value)
    assert Path(name).name in message or SPARSE in message, message
    assert "rag ingest" in message


@pytest.mark.parametrize("content", [b"", b"../../etc\n", b"\xff\xfe\x00garbage", b"gen-does-not-exist\n"])
def test_a_damaged_pointer_is_named(built: Path, tmp_path: Path, content: bytes) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(built, index_dir)
    (index_dir / CURRENT).write_bytes(content)
    with pytest.raises(RagError, match=r"CURRENT|gen-does-not-exist|No index") as raised:
        IndexStore.open(index_dir)
    assert "rag ingest" in str(raised.value)


def test_a_missing_pointer_means_no_index(built: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(built, index_dir)
    (index_dir / CURRENT).unlink()
    with pytest.raises(IndexNotFoundError, match="rag ingest"):
        IndexStore.open(index_dir)


def test_manifest_with_wrong_shape_is_named(built: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(built, index_dir)
    manifest = current_generation(index_dir) / MANIFEST
    manifest.write_text(manifest.read_text(encoding="utf-8").replace('"chunks":', '"chunkz":'), encoding="utf-8")
    with pytest.raises(IndexCorruptError, match=r"manifest\.json.*counts"):
        IndexStore.open(index_dir)


def test_chunks_out_of_step_with_the_documents_are_caught(built: Path, tmp_path: Path) -> None:
    """The case that used to be silently wrong: chunk text no longer matching its document."""
    index_dir = tmp_path / "index"
    shutil.copytree(built, index_dir)
    documents = current_generation(index_dir) / DOCUMENTS
    documents.write_text(documents.read_text(encoding="utf-8").replace("混合精度", "半精度混合"), encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="does not match its document"):
        IndexStore.open(index_dir)
