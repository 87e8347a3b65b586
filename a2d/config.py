"""Config files: one TOML file per app, every setting declared with a default and a help line.

An app declares its settings as a table of :class:`Setting` rows; :func:`read_toml` reads the
TOML file, :func:`resolve` applies the defaults and the ``A2D_<SECTION>_<KEY>`` environment
overrides (:func:`environ` is the only place they are read), checks types and returns plain nested
dicts. Lists of tables (``[[sources]]``, :func:`table_list`) are checked against their own table of
settings.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import KnownError


class ConfigError(KnownError, ValueError):
    """The config file is missing, unreadable or has a wrong value; the message says which."""


_REQUIRED = object()


@dataclass(frozen=True)
class Setting:
    """One setting: dotted ``key`` (``mqtt.port``), its ``default`` and a one-line ``help``.

    ``default=REQUIRED`` makes the setting mandatory. ``choices`` restricts string values.
    ``type=list`` is a list of strings (comma-separated in an environment variable).
    """

    key: str
    default: Any
    help: str
    type: type = str
    choices: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED

    @property
    def env(self) -> str:
        return "A2D_" + self.key.replace(".", "_").replace("-", "_").upper()


REQUIRED: Any = _REQUIRED


def _coerce(setting: Setting, value: Any, where: str) -> Any:
    want = setting.type
    if want is list:  # a list of strings; an environment variable gives them comma-separated
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: {setting.key} must be a list of strings, not {value!r:.60}")
        return value
    if want is bool and isinstance(value, str):
        low = value.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
    if want in (int, float) and isinstance(value, str):
        try:
            value = want(value)
        except ValueError:
            raise ConfigError(f"{where}: {setting.key} must be a number, not {value!r}") from None
    if want is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, want) or (want is int and isinstance(value, bool)):
        raise ConfigError(f"{where}: {setting.key} must be {want.__name__}, not {value!r}")
    if setting.choices and value not in setting.choices:
        raise ConfigError(
            f"{where}: {setting.key} must be one of {', '.join(setting.choices)}, not {value!r}"
        )
    return value


def _lookup(data: Mapping[str, Any], dotted: str, where: str) -> Any:
    node: Any = data
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        if not isinstance(node, Mapping):
            section = ".".join(parts[:i])
            raise ConfigError(f"{where}: {section} must be a table ([{section}]), not {node!r:.40}")
        if part not in node:
            return _REQUIRED
        node = node[part]
    return node


def setting(resolved: Mapping[str, Any], dotted: str) -> Any:
    """A value of settings :func:`resolve` made, by its dotted name (``"mqtt.port"``)."""
    node: Any = resolved
    for part in dotted.split("."):
        node = node[part]
    return node


def _assign(out: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        out = out.setdefault(part, {})
    out[leaf] = value


def resolve(
    data: Mapping[str, Any],
    settings: Sequence[Setting],
    where: str,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Apply defaults, environment overrides (when ``environ`` is given) and type checks."""
    out: dict[str, Any] = {}
    for setting in settings:
        value = _lookup(data, setting.key, where)
        if environ is not None and setting.env in environ:
            value = environ[setting.env]
        if value is _REQUIRED:
            if setting.required:
                raise ConfigError(f"{where}: {setting.key} is required ({setting.help})")
            value = setting.default
        else:
            value = _coerce(setting, value, where)
        _assign(out, setting.key, value)
    return out


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file, turning every failure into a :class:`ConfigError` naming the file."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {p} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {p} is not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read config file {p}: {exc.strerror}") from exc


def table_list(data: Mapping[str, Any], name: str, where: str) -> list[Mapping[str, Any]]:
    """The ``[[name]]`` entries of a config (empty if absent), each checked to be a table."""
    items = data.get(name, [])
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        raise ConfigError(f"{where}: [[{name}]] must be a list of tables")
    return items


def environ() -> Mapping[str, str]:
    """The process environment, the single source of ``A2D_*`` overrides."""
    return os.environ


def fill_from_file(resolved: dict[str, Any], key: str, file_key: str, where: str) -> None:
    """Set the setting ``key`` from the file the setting ``file_key`` names, when ``key`` is empty.

    A secret (a broker password) stays out of the TOML this way: the file is mode 0600, or systemd
    hands it over as a credential. Its first line counts, without surrounding blanks.
    """
    path = setting(resolved, file_key)
    if setting(resolved, key) or not path:
        return
    try:
        lines = Path(path).read_text(encoding="utf-8").strip().splitlines()
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read {file_key} {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: {file_key} {path} is not UTF-8 text") from None
    if not lines or not lines[0].strip():
        raise ConfigError(f"{where}: {file_key} {path} is empty")
    _assign(resolved, key, lines[0].strip())
