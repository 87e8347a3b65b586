"""`a2d bridge status`: what waits in the spool and where each box's counter stands (read-only)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from a2d.errors import KnownError

from .spool import connect


def status(db_path: Path) -> dict[str, Any]:
    if not db_path.exists():
        raise KnownError(f"no spool at {db_path}: has the bridge run with this config yet?")
    try:
        db = connect(db_path, readonly=True)
        try:
            waiting, oldest = db.execute("SELECT COUNT(*), MIN(created_at) FROM spool").fetchone()
            boxes = [
                {"box_id": b, "last_seq": s, "updated_at": u}
                for b, s, u in db.execute("SELECT box_id, last_seq, updated_at FROM boxes ORDER BY box_id")
            ]
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise KnownError(f"cannot read the spool {db_path}: {exc}") from exc
    return {"spool": {"waiting": waiting, "oldest": oldest}, "boxes": boxes}


def text(st: dict[str, Any]) -> str:
    sp = st["spool"]
    lines = [
        f"spool: {sp['waiting']} event(s) waiting for the broker"
        + (f", oldest {sp['oldest']}" if sp["oldest"] else "")
    ]
    for b in st["boxes"]:
        lines.append(f"box {b['box_id']:<20} counter {b['last_seq']!s:<6} last heard {b['updated_at']}")
    return "\n".join(lines) + "\n"
