"""The agent's state file: what ``a2d edge status`` needs even while the database takes no writes.

One small JSON object (the process, its latest heartbeat, the full-disk state), rewritten in place
over a file of fixed size: overwriting blocks a file already has needs no new space, so this keeps
working on a full disk (ext4, f2fs, tmpfs; a copy-on-write file system may refuse, which is logged
once). It is status, not data: no fsync, and a reader that catches it half-written ignores it.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from a2d.logs import Once

log = logging.getLogger(__name__)

SIZE = 1024


class StateFile:
    """``open()`` once (the writer thread's owner), then ``write(doc)`` as often as needed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._once = Once(log)

    def open(self) -> None:
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            if os.fstat(self._fd).st_size < SIZE:
                os.pwrite(self._fd, b" " * SIZE, 0)
        except OSError as exc:
            self._once.failed("write", "cannot prepare the state file %s: %s", self.path, exc)

    def write(self, doc: dict[str, Any]) -> None:
        if self._fd is None:
            return
        data = json.dumps(doc, ensure_ascii=True, separators=(",", ":")).encode()
        if len(data) > SIZE:
            log.debug("state file entry too long (%d bytes); not written", len(data))
            return
        try:
            os.pwrite(self._fd, data.ljust(SIZE), 0)
        except OSError as exc:
            self._once.failed("write", "cannot write the state file %s: %s", self.path, exc)
            return
        self._once.recovered("write", "the state file %s is written again", self.path)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def read(path: Path) -> dict[str, Any] | None:
    """The state file's object, or ``None`` when there is none (or it was caught half-written)."""
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None
