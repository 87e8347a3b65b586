"""Typed, tolerant field access for network-server JSON: absent means default, wrong type is an error.

Text from the network is cleaned here, before anything is stored: no control character reaches
the store (C0 incl. NUL and ESC, DEL, C1, lone surrogates, and the Unicode line separators and
bidirectional overrides that make a terminal or a log show something else than is there). A
PostgreSQL text or jsonb column refuses NUL, and a terminal obeys ESC. Per field:

* an id (DevEUI, deduplication id, session key id, device id of The Things Stack, ...) that holds
  one is refused: :func:`ident` raises :class:`BadMessage`, and the message goes to quarantine;
* free text (device and application names, log descriptions, tags) is cleaned: :func:`clean`
  turns line breaks and tabs into a space and drops the other control characters;
* the JSON objects we keep (the network server's ``object``, log context, location, meta) are
  cleaned the same way at any depth, keys too, by :func:`clean_json`, and may nest at most
  :data:`MAX_DEPTH` levels.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Mapping
from typing import Any

from a2d import timeutil


class BadMessage(ValueError):
    """The message cannot be stored as an event; the text is the quarantine reason."""


_EUI = re.compile(r"^[0-9A-Fa-f]{16}$")
#: characters no stored text may hold (see the module docstring)
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
#: of those, the ones that separate words: they become a space
_BREAKS = frozenset("\t\n\v\f\r\x85\u2028\u2029")
#: deepest nesting of a JSON object we keep (a network server's decoded object is a few levels)
MAX_DEPTH = 32


def _replacement(m: re.Match[str]) -> str:
    return " " if m.group() in _BREAKS else ""


def clean(value: str) -> str:
    """``value`` without control characters: line breaks and tabs become a space, the rest goes.

    >>> clean("evil\\x00name\\x1b[31m\\nred")
    'evilname[31m red'
    """
    return CONTROL.sub(_replacement, value) if CONTROL.search(value) else value


def clean_json(value: Any, what: str, depth: int = 0) -> Any:
    """A JSON value with every string (and key) cleaned; deeper than :data:`MAX_DEPTH` is an error."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, Mapping | list | tuple):
        if depth >= MAX_DEPTH:
            raise BadMessage(f"{what}: nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, Mapping):
            return {clean(str(k)): clean_json(v, what, depth + 1) for k, v in value.items()}
        return [clean_json(v, what, depth + 1) for v in value]
    return value


def check_ident(value: str | None, what: str) -> str | None:
    """``value`` unchanged, or :class:`BadMessage` if it holds a control character."""
    if value is not None:
        bad = CONTROL.search(value)
        if bad is not None:
            raise BadMessage(f"{what}: holds the control character {bad.group()!r}")
    return value


def ident(d: Mapping[str, Any], key: str) -> str | None:
    """A string field that identifies something: one with a control character is refused."""
    return check_ident(text(d, key), f"field {key}")


def free(d: Mapping[str, Any], key: str) -> str | None:
    """A string field of free text (a name, a description): control characters are cleaned out."""
    v = text(d, key)
    return None if v is None else clean(v)


def obj(d: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    v = d.get(key)
    if v is None:
        return {}
    if not isinstance(v, Mapping):
        raise BadMessage(f"field {key}: expected an object, got {type(v).__name__}")
    return v


def text(d: Mapping[str, Any], key: str, default: str | None = None) -> str | None:
    v = d.get(key)
    if type(v) is str:
        return v
    if v is None:
        return default
    if not isinstance(v, str):
        raise BadMessage(f"field {key}: expected a string, got {type(v).__name__}")
    return v


_INT64 = range(-(2**63), 2**63)


def integer(d: Mapping[str, Any], key: str, default: int | None = None) -> int | None:
    """A 64-bit integer field; integral floats and ASCII digit strings (protobuf-JSON uint64) are accepted."""
    v = d.get(key)
    if type(v) is int and v in _INT64:
        return v
    if v is None:
        return default
    if isinstance(v, bool):
        raise BadMessage(f"field {key}: expected an integer, got a boolean")
    if isinstance(v, float) and v.is_integer() and -(2.0**63) <= v < 2.0**63:
        return int(v)
    if isinstance(v, str) and 0 < len(v) <= 20 and v.lstrip("-").isascii() and v.lstrip("-").isdigit():
        if v.count("-") <= 1 and (v[0] == "-" or "-" not in v) and int(v) in _INT64:
            return int(v)
    raise BadMessage(f"field {key}: expected an integer of at most 64 bits, got {v!r:.40}")


def number(d: Mapping[str, Any], key: str) -> float | int | None:
    v = d.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or (isinstance(v, int) and v not in _INT64):
        raise BadMessage(f"field {key}: expected a number, got {v!r:.40}")
    return v


def flag(d: Mapping[str, Any], key: str) -> bool | None:
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, bool):
        raise BadMessage(f"field {key}: expected true or false, got {v!r:.40}")
    return v


def b64(d: Mapping[str, Any], key: str) -> bytes | None:
    v = text(d, key)
    if v is None:
        return None
    try:
        return binascii.a2b_base64(v, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise BadMessage(f"field {key}: not valid base64") from exc


def eui(value: str | None, what: str) -> str | None:
    """A DevEUI in lower-case hex, or ``None``; anything else that is not 16 hex digits is an error."""
    if value is None or value == "":
        return None
    if not _EUI.match(value):
        raise BadMessage(f"{what}: {value!r:.40} is not a 16-digit hex DevEUI")
    return value.lower()


def timestamp(d: Mapping[str, Any], key: str) -> str | None:
    v = text(d, key)
    if v is None or v == "":
        return None
    try:
        return timeutil.normalise(v)
    except ValueError:
        raise BadMessage(f"field {key}: {v!r:.40} is not an RFC 3339 time") from None
