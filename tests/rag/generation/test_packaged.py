"""Assembling a GGUF from part packages: streamed, verified (size, SHA-256, metadata), reused, clear errors.

A tiny GGUF is written in-test with the `gguf` library and split into three "part packages" whose
installed files the test points `importlib.metadata` at; the real packaged models are checked for
their part packages only (assembling a gigabyte belongs in the README's first command, not here).
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

import pytest

from rag.core.config import Config
from rag.core.errors import ModelLoadError
from rag.generation import packaged as packaged_models
from rag.generation.packaged import (
    PACKAGED_MODELS,
    PackagedModel,
    ensure_assembled,
    gguf_metadata,
    packaged_model,
)
from rag.models import all_models


def _tiny_gguf(path: Path, name: str = "Tiny Test Model") -> bytes:
    import numpy as np
    from gguf import GGUFWriter

    writer = GGUFWriter(str(path), "llama")
    writer.add_name(name)
    writer.add_file_type(15)
    writer.add_chat_template("{% for m in messages %}{{ m['content'] }}{% endfor %}")
    writer.add_tensor("weights", np.arange(4096, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path.read_bytes()


class FakeDistribution:
    def __init__(self, root: Path) -> None:
        self.root = root

    def locate_file(self, name: str) -> Path:
        return self.root / name


@pytest.fixture
def tiny_model(tmp_path: Path, monkeypatch) -> PackagedModel:
    """A 3-part packaged model whose part 'packages' live under tmp_path/site."""
    data = _tiny_gguf(tmp_path / "whole.gguf")
    site = tmp_path / "site"
    third = len(data) // 3 + 1
    for n in range(1, 4):
        part = site / f"tiny_part{n}" / "data" / f"part{n:02d}.bin"
        part.parent.mkdir(parents=True)
        part.write_bytes(data[(n - 1) * third: n * third])
    installed = {f"tiny-part{n}" for n in range(1, 4)}

    def distribution(name: str) -> FakeDistribution:
        if name not in installed:
            raise packaged_models.metadata.PackageNotFoundError(name)
        return FakeDistribution(site)

    monkeypatch.setattr(packaged_models.metadata, "distribution", distribution)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(packaged_models, "CHUNK_BYTES", 1000)  # many blocks: streaming, not one read
    return PackagedModel(
        name="tiny", title="Tiny", filename="tiny.gguf", distribution="tiny-part{n}",
        data_file="tiny_part{n}/data/part{n:02d}.bin", parts=3, version="1.0", size=len(data),
        sha256=hashlib.sha256(data).hexdigest(), general_name="Tiny Test Model", file_type=15,
        licence="MIT", provenance="built in a test", chat=True,
    )


def test_parts_are_assembled_verified_and_reused(tiny_model: PackagedModel, tmp_path: Path) -> None:
    seen: list[int] = []
    path = ensure_assembled(tiny_model, progress=lambda done, total: seen.append(done))
    assert path == tmp_path / "cache" / "rag" / "models" / "tiny.gguf"
    assert path.read_bytes() == (tmp_path / "whole.gguf").read_bytes()
    assert len(seen) > 3 and seen[-1] == tiny_model.size
    assert gguf_metadata(path, ("general.name", "general.file_type")) == {"general.name": "Tiny Test Model", "general.file_type": 15}
    assert not list(path.parent.glob(".*partial"))
    mtime = path.stat().st_mtime_ns
    assert ensure_assembled(tiny_model) == path and path.stat().st_mtime_ns == mtime  # reused, not rewritten


def test_a_changed_file_in_the_cache_is_assembled_again(tiny_model: PackagedModel) -> None:
    path = ensure_assembled(tiny_model)
    path.write_bytes(b"\0" * tiny_model.size)  # same size, other content
    stat = path.stat()  # a new mtime, also where the kernel stamps files from a clock that ticks every few ms
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert ensure_assembled(tiny_model).read_bytes()[:4] == b"GGUF"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"sha256": "0" * 64}, "SHA-256"),
        ({"size": 10}, "bytes, expected 10"),
        ({"general_name": "Another Model"}, "names itself 'Tiny Test Model'"),
        ({"file_type": 7}, "file type 15, expected 7"),
    ],
)
def test_a_mismatch_fails_and_leaves_no_file(tiny_model: PackagedModel, change: dict, message: str) -> None:
    wrong = dataclasses.replace(tiny_model, **change)
    with pytest.raises(ModelLoadError, match=message):
        ensure_assembled(wrong)
    assert not list((packaged_models.models_dir()).glob("*tiny*"))


def test_a_missing_part_names_the_package_and_the_pip_command(tiny_model: PackagedModel) -> None:
    four = dataclasses.replace(tiny_model, parts=4)
    with pytest.raises(ModelLoadError, match=r"missing 1 of its 4 part packages \(tiny-part4\).*pip install tiny-part4==1.0"):
        ensure_assembled(four)


def test_packaged_specs() -> None:
    assert packaged_model("packaged") is PACKAGED_MODELS["qwen2.5-coder-1.5b"]
    assert {"qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b", "gemma3-270m"} <= set(PACKAGED_MODELS)
    with pytest.raises(ModelLoadError, match="packaged models: qwen2.5-coder-1.5b"):
        packaged_model("gpt-5")


def test_rag_models_lists_every_packaged_generator_with_size_and_licence() -> None:
    statuses = [s for s in all_models(Config()) if s.role == "generator"]
    assert [s.spec for s in statuses] == ["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b", "gemma3-270m"]
    default = statuses[0]
    assert default.available and "1.12 GB" in default.where and "Apache-2.0" in default.where  # a default dependency
    assert "not configured" in statuses[2].where and "Gemma Terms of Use" in statuses[2].where
