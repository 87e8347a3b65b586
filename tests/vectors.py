"""Codec vectors: the shared corpus (real TTN device-repository examples) plus our own."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"


def corpus_vectors(device: str) -> list[dict[str, Any]]:
    """Vectors for ``device`` (``vendor/model``) from ``../shared/corpus/lorawan_payloads``."""
    path = CORPUS / "lorawan_payloads" / (device.replace("/", "__") + ".jsonl")
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
