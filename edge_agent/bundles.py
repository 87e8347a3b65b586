"""Receiving signed bundles (config, content, models) from the sync server.

A bundle is applied only after its Ed25519 signature and its hash check out against the
server's public key (``sync.server_public_key``). Applying means writing the verified document
to ``<data_dir>/bundles/<kind>.json`` atomically (temporary file, fsync, rename); a bundle that
fails the checks is recorded and dropped, and the last good one stays in place. Other parts of
the device read the current bundle with :func:`current`.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from pathlib import Path
from typing import Any

from a2d import bundles
from a2d.bundles import Bundle, BundleError

log = logging.getLogger(__name__)


def bundle_dir(data_dir: Path) -> Path:
    return data_dir / "bundles"


def current(data_dir: Path, kind: str, public_key: str) -> Bundle | None:
    """The bundle of ``kind`` in use, verified again on reading; ``None`` if there is none."""
    path = bundle_dir(data_dir) / f"{kind}.json"
    try:
        doc = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise BundleError(f"cannot read {path}: {exc}") from None
    return bundles.verify(doc, bundles.load_public_key(public_key), kind)


def apply(data_dir: Path, doc: Any, kind: str, public_key: str) -> Bundle:
    """Verify ``doc`` and make it the current bundle of ``kind``; :class:`BundleError` if it fails."""
    bundle = bundles.verify(doc, bundles.load_public_key(public_key), kind)
    folder = bundle_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{kind}.json"
    tmp = folder / f".{kind}.json.tmp"
    with tmp.open("wb") as fh:
        fh.write(json.dumps(bundle.as_dict()).encode())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return bundle


def record(
    db: sqlite3.Connection, kind: str, at: str, bundle: Bundle | None = None, error: str | None = None
) -> None:
    """Note in the database what happened to the latest bundle of ``kind`` (for the status)."""
    if bundle is not None:
        db.execute(
            "INSERT INTO bundles_state (kind, version, sha256, applied_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (kind) DO UPDATE SET version = excluded.version, sha256 = excluded.sha256,"
            " applied_at = excluded.applied_at",
            (kind, bundle.version, bundle.sha256, at),
        )
    if error is not None:
        db.execute(
            "INSERT INTO bundles_state (kind, last_error, last_error_at) VALUES (?, ?, ?)"
            " ON CONFLICT (kind) DO UPDATE SET last_error = excluded.last_error, last_error_at = excluded.last_error_at",
            (kind, error[:500], at),
        )


def status(db: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT kind, version, sha256, applied_at, last_error, last_error_at FROM bundles_state"
    )
    return [dict(zip(("kind", "version", "sha256", "applied_at", "last_error", "last_error_at"), r, strict=True))
            for r in rows]  # fmt: skip
