"""What the ``a2d server`` commands print: one JSON object with ``--json``, else a readable line."""

from __future__ import annotations

import sys
from typing import Any

import orjson


def say(as_json: bool, data: dict[str, Any], text: str) -> None:
    sys.stdout.write((orjson.dumps(data).decode() if as_json else text) + "\n")
