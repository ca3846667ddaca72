"""Where `Config` values come from: pydantic-settings sources for a TOML file and the environment, layered
under command-line values, and errors that name the key and the source of a bad value.

Priority, highest first: command line (`Config.load`'s `overrides`, keyword arguments) > environment
(``RAG_…``) > TOML file > defaults. pydantic-settings merges the sources (nested sections deep-merged);
this module only chooses the sources and explains what goes wrong.
"""
from __future__ import annotations

import difflib
import logging
import os
import tomllib
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import EnvSettingsSource, PydanticBaseSettingsSource, TomlConfigSettingsSource
from pydantic_settings.sources.utils import parse_env_vars

from rag.core.errors import ConfigError

if TYPE_CHECKING:
    from rag.core.config import Config

log = logging.getLogger(__name__)

ENV_PREFIX = "RAG_"
NOT_SETTINGS = frozenset({"RAG_CONFIG", "RAG_API_KEYS", "RAG_OPENAI_API_KEY"})
"""``RAG_`` variables that are not settings: the config file's path and secrets read where they are used."""
RENAMED = {"RAG_UI_DATA_DIR": "RAG_DATA_DIR", "RAG_UI_INDEX": "RAG_INDEX_DIR"}
"""Variables of earlier versions and the keys that replaced them (a warning says so)."""

_LOADING: ContextVar[tuple[PydanticBaseSettingsSource, ...]] = ContextVar("config_sources", default=())


def sources_being_loaded() -> tuple[PydanticBaseSettingsSource, ...]:
    """The environment and file sources while `load_config` runs; none otherwise (``Config()`` is the defaults)."""
    return _LOADING.get()


class EnvironmentSource(EnvSettingsSource):
    """``RAG_<KEY>`` and ``RAG_<SECTION>_<KEY>`` from a given mapping (default ``os.environ``), case-insensitive.

    A top-level key wins over a section of the same prefix (``RAG_INDEX_DIR`` is ``index_dir``, not
    ``index.dir``); variables that name no key are left out here and reported by `unknown_variables`.
    """

    def __init__(self, settings_cls: type[Config], env: Mapping[str, str]) -> None:
        self._mapping = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._mapping, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)

    def explode_env_vars(self, field_name: str, field: FieldInfo, env_vars: Mapping[str, str | None]) -> dict[str, Any]:
        exploded = super().explode_env_vars(field_name, field, env_vars)
        known = getattr(field.annotation, "model_fields", {})
        return {key: value for key, value in exploded.items() if key in known}


class TomlFileSource(TomlConfigSettingsSource):
    """A TOML config file that must exist and parse; errors name the file."""

    def __init__(self, settings_cls: type[Config], path: Path) -> None:
        if not path.is_file():
            raise ConfigError(f"Config file '{path}' does not exist; create it or unset RAG_CONFIG.")
        self.path = path
        try:
            super().__init__(settings_cls, toml_file=path)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"Config file '{path}' is not valid TOML: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"Config file '{path}' can't be read: {exc}") from None


@contextmanager
def _layered(sources: tuple[PydanticBaseSettingsSource, ...]) -> Iterator[None]:
    token = _LOADING.set(sources)
    try:
        yield
    finally:
        _LOADING.reset(token)


def load_config(
    cls: type[Config], path: str | Path | None, env: Mapping[str, str] | None, overrides: Mapping[str, Any] | None
) -> Config:
    """`Config.load`: the file, the environment and `overrides` layered over the defaults, validated once."""
    env = os.environ if env is None else env
    file = Path(path) if path else default_config_file(env)
    named: list[tuple[str, Any]] = [("command line", nest({k: v for k, v in (overrides or {}).items() if v is not None}))]
    environment = EnvironmentSource(cls, env)
    sources: list[PydanticBaseSettingsSource] = [environment]
    named.append(("environment", environment))
    if file is not None:
        toml = TomlFileSource(cls, file)
        sources.append(toml)
        named.append((str(file), toml))
    for message in unknown_variables(cls, env):
        log.warning(message)
    try:
        with _layered(tuple(sources)):
            return cls(**named[0][1])
    except ValidationError as exc:
        raise explain(exc, [(name, values if isinstance(values, dict) else values()) for name, values in named]) from None


def default_config_file(env: Mapping[str, str]) -> Path | None:
    """``$RAG_CONFIG``, else ``./rag.toml`` when it exists, else None."""
    if env.get("RAG_CONFIG"):
        return Path(env["RAG_CONFIG"])
    local = Path("rag.toml")
    return local if local.is_file() else None


def value_sources(cls: type[Config], path: str | Path | None = None, env: Mapping[str, str] | None = None,
                  overrides: Mapping[str, Any] | None = None) -> dict[str, str]:
    """For each dotted key set anywhere other than the defaults, the source its value comes from."""
    env = os.environ if env is None else env
    file = Path(path) if path else default_config_file(env)
    layers = [(str(file), TomlFileSource(cls, file)())] if file is not None else []
    layers.append(("environment", EnvironmentSource(cls, env)()))
    layers.append(("command line", nest({k: v for k, v in (overrides or {}).items() if v is not None})))
    found: dict[str, str] = {}
    for name, values in layers:  # lowest priority first: later layers overwrite
        found.update({key: name for key in flatten(values)})
    return found


def unknown_variables(cls: type[Config], env: Mapping[str, str]) -> list[str]:
    """A warning for each ``RAG_`` variable in `env` that names no setting (with the closest setting's name)."""
    known = {f"{ENV_PREFIX}{key.replace('.', '_').upper()}" for key in setting_keys(cls)}
    messages = []
    for name in sorted(env):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in known or upper in NOT_SETTINGS:
            continue
        hint = RENAMED.get(upper) or next(iter(difflib.get_close_matches(upper, known, n=1, cutoff=0.8)), None)
        messages.append(f"Ignoring environment variable {name}: no such setting" + (f" (did you mean {hint}?)" if hint else "."))
    return messages


def setting_keys(cls: type[Config]) -> list[str]:
    """Every dotted key of the settings model, in declaration order (``embedder``, ``retrieval.top_k``...)."""
    from rag.core.config import SECTIONS

    keys = []
    for name in cls.model_fields:
        section = SECTIONS.get(name)
        keys += [f"{name}.{key}" for key in section.model_fields] if section else [name]
    return keys


def apply_values(config: Config, values: Mapping[str, Any], source: str) -> None:
    """`Config.apply`: set dotted or nested keys on `config`, validating the result as a whole."""
    from rag.core.config import SECTIONS

    data = config.model_dump()
    for key, value in flatten(values).items():
        parts = key.split(".")
        if len(parts) > 2 or (len(parts) == 2 and parts[0] not in SECTIONS):
            raise ConfigError(f"Unknown config section '{parts[0]}' in '{key}' (from {source}).")
        section = SECTIONS.get(parts[0]) if len(parts) == 2 else None
        fields = (section or type(config)).model_fields
        if parts[-1] not in fields or (section is None and parts[-1] in SECTIONS):
            names = ", ".join(n for n in fields if section is not None or n not in SECTIONS)
            raise ConfigError(f"Unknown config key '{key}' (from {source}); known keys here: {names}.")
        (data[parts[0]] if section else data)[parts[-1]] = value
    try:
        validated = type(config).model_validate(data)
    except ValidationError as exc:
        raise explain(exc, [(source, nest(flatten(values)))]) from None
    for name in type(config).model_fields:
        object.__setattr__(config, name, getattr(validated, name))


def explain(exc: ValidationError, layers: list[tuple[str, Mapping[str, Any]]]) -> ConfigError:
    """The first problem of a validation error as a message naming the key, its value and its source (the
    highest-priority layer in `layers` that sets the key)."""
    from rag.core.config import SECTIONS

    problem = exc.errors()[0]
    key = ".".join(str(part) for part in problem["loc"])
    given = [name for name, values in layers if values]
    if not key:  # a check across keys (model validator)
        where = ", ".join(given) or "defaults"
        return ConfigError(f"Invalid configuration (from {where}): {problem['msg'].removeprefix('Value error, ')}.")
    source = next((name for name, values in layers if key in flatten(values) or _has_prefix(values, key)), "defaults")
    if problem["type"] == "extra_forbidden":
        parts = key.split(".")
        if len(parts) == 1 and isinstance(problem.get("input"), Mapping):
            return ConfigError(f"Unknown config section '{key}' (from {source}); sections: {', '.join(SECTIONS)}.")
        fields = SECTIONS[parts[0]].model_fields if len(parts) == 2 and parts[0] in SECTIONS else {}
        return ConfigError(f"Unknown config key '{key}' (from {source}); known keys here: {', '.join(fields) or '-'}.")
    value = problem.get("input")
    message = "expected true or false" if problem["type"] == "bool_parsing" else problem["msg"].removeprefix("Value error, ").rstrip(".")
    if problem["type"] == "literal_error":
        message = f"expected one of {problem['ctx']['expected']}"
    return ConfigError(f"Config key '{key}' (from {source}) has invalid value {value!r}: {message}.")


def _has_prefix(values: Mapping[str, Any], key: str) -> bool:
    return any(k.startswith(key + ".") for k in flatten(values))


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"retrieval": {"top_k": 5}}`` -> ``{"retrieval.top_k": 5}`` (dotted keys pass through)."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def nest(values: Mapping[str, Any]) -> dict[str, Any]:
    """``{"retrieval.top_k": 5}`` -> ``{"retrieval": {"top_k": 5}}``."""
    nested: dict[str, Any] = {}
    for key, value in flatten(values).items():
        *sections, last = key.split(".")
        target = nested
        for section in sections:
            target = target.setdefault(section, {})
            if not isinstance(target, dict):
                raise ConfigError(f"Config key '{key}' puts a key under '{section}', which is not a section.")
        target[last] = value
    return nested
