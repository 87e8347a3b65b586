"""Typed, tolerant field access for network-server JSON: absent means default, wrong type is an error."""

from __future__ import annotations

import binascii
import re
from collections.abc import Mapping
from typing import Any

from a2d import timeutil


class BadMessage(ValueError):
    """The message cannot be stored as an event; the text is the quarantine reason."""


_EUI = re.compile(r"^[0-9A-Fa-f]{16}$")


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
    except (binascii.Error, ValueError):
        raise BadMessage(f"field {key}: not valid base64") from None


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
