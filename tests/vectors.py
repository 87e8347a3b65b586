"""Codec vectors: real TTN device-repository examples (``tests/data/lorawan_payloads``) plus our own."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from a2d.measurements import QUANTITIES, Measurement
from edge_agent.codecs._base import Codec, CodecError

#: the real vectors, one ``vendor__model.jsonl`` per codec (origin and licence in its SOURCE.md)
PAYLOADS = Path(__file__).resolve().parent / "data" / "lorawan_payloads"


def corpus_vectors(device: str) -> list[dict[str, Any]]:
    """Vectors for ``device`` (``vendor/model``) from ``tests/data/lorawan_payloads``."""
    path = PAYLOADS / (device.replace("/", "__") + ".jsonl")
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def same(a: Any, b: Any, tol: float = 1e-9) -> bool:
    """Deep equality as the acceptance check judges it: floats within ``tol``, types kept."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=tol, abs_tol=tol)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k], tol) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y, tol) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def check_vector(codec: Codec, f_port: int, data: bytes, expected: dict[str, Any]) -> dict[str, Any] | None:
    """Check one vector: ``expected`` is ``{"data": ...}`` or, for a frame the vendor rejects,
    ``{"errors": [...]}`` (an empty ``errors`` list next to ``data`` means none).

    Returns the decoded object, or ``None`` for an error vector.
    """
    if expected.get("errors"):
        with pytest.raises(CodecError) as caught:
            codec.decode(data, f_port)
        assert caught.value.errors == expected["errors"]
        return None
    decoded = codec.decode(data, f_port)
    assert isinstance(decoded, dict)
    assert same(decoded, expected["data"]), (decoded, expected["data"])
    return decoded


def check_contract(codec: Codec, data: bytes, f_port: int) -> None:
    """The fuzz property: decoding gives a JSON-clean dict or raises :class:`CodecError`, and
    ``measure`` of a success gives :class:`Measurement` s in the canonical vocabulary."""
    try:
        decoded = codec.decode(data, f_port)
    except CodecError:
        return
    assert isinstance(decoded, dict)
    json.dumps(decoded, allow_nan=False)
    for m in codec.measure(decoded):
        assert isinstance(m, Measurement)
        assert m.quantity in QUANTITIES, m.quantity
