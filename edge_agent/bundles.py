"""Receiving signed bundles (keys, config, content, models) from the sync server.

A bundle is applied only after :func:`a2d.bundles.verify` accepts it: signed by a key this device
trusts now, content matching its hash, meant for this device (``all``, ``site:<device.site>`` or
``device:<device.id>``), and a counter above the highest this device applied of that kind
(``bundles_state.counter``). The trusted keys are those of the config (``sync.trusted_keys`` and
``sync.server_public_key``) until a ``keys`` bundle was applied, then that bundle's list.

Applying means writing the verified document to ``<data_dir>/bundles/<kind>.json`` atomically
(temporary file, fsync, rename); the caller then records the counter with :func:`record`. A bundle
that fails is recorded with its reason and dropped, and the last good one stays in place. Other
parts of the device read the bundle in use with :func:`current`, which checks it again by the
same rules (its own counter passes, an older file put in its place does not).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from a2d import bundles
from a2d.bundles import Applied, Bundle, BundleError, Identity, TrustedKeys
from a2d.logs import Once

log = logging.getLogger(__name__)
_once = Once(log)

DB_FILE = "edge.db"


@dataclass(frozen=True)
class DeviceTrust:
    """What this device checks bundles with: the configured keys (the anchor) and who it is."""

    anchors: TrustedKeys = field(default_factory=TrustedKeys)
    identity: Identity = field(default_factory=lambda: Identity(""))

    @classmethod
    def from_config(cls, raw: Mapping[str, Any]) -> DeviceTrust:
        """From a checked ``edge.toml`` (:func:`edge_agent.config.parse` checked keys and site)."""
        s = raw["sync"]
        keys = TrustedKeys.configured([*s["trusted_keys"], s["server_public_key"]])
        return cls(keys, Identity(raw["device"]["id"], raw["device"]["site"]))

    @property
    def enabled(self) -> bool:
        """Whether any key is configured (without one no bundle can be checked, so none is fetched)."""
        return bool(self.anchors.anchors)


def bundle_dir(data_dir: Path) -> Path:
    return data_dir / "bundles"


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def applied(data_dir: Path) -> dict[str, Applied]:
    """The highest applied bundle of each kind, as ``bundles_state`` records it."""
    path = data_dir / DB_FILE
    if not path.exists():
        return {}
    try:
        db = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True, timeout=30)
        try:
            rows = db.execute(
                "SELECT kind, counter, sha256 FROM bundles_state WHERE counter IS NOT NULL"
            ).fetchall()
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise BundleError(f"cannot read the applied bundles' counters from {path}: {exc}") from exc
    return {str(kind): Applied(int(counter), str(sha)) for kind, counter, sha in rows}


def _read(data_dir: Path, kind: str) -> Any:
    path = bundle_dir(data_dir) / f"{kind}.json"
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise BundleError(f"cannot read {path}: {exc}") from exc


def _keys_chain(data_dir: Path) -> list[Any]:
    """The ``keys`` bundles applied so far, oldest first (``keys.json`` holds them as a list)."""
    chain = _read(data_dir, "keys")
    if chain is None:
        return []
    if not isinstance(chain, list):
        raise BundleError(f"{bundle_dir(data_dir) / 'keys.json'} holds no list of keys bundles")
    return chain


def _walk(
    data_dir: Path, trust: DeviceTrust, state: Mapping[str, Applied]
) -> tuple[TrustedKeys, Bundle | None]:
    keys, last = bundles.walk_keys(_keys_chain(data_dir), trust.anchors, trust.identity)
    recorded = state.get("keys")
    if recorded is not None:
        if last is None:
            raise BundleError(
                f"the applied keys bundle {recorded.counter} is gone from {bundle_dir(data_dir)}"
            )
        bundles.check_newer(last, recorded)
    return keys, last


def trusted_keys(
    data_dir: Path, trust: DeviceTrust, state: Mapping[str, Applied] | None = None
) -> TrustedKeys:
    """The keys trusted now: the last applied ``keys`` bundle's list, else the configured ones.

    The applied ``keys`` bundles are kept as a chain and read again from the configured keys on,
    each signed by a key of the one before. A chain that no longer checks out (edited, damaged)
    is logged once and the configured keys are used, so that a ``keys`` bundle signed with one of
    them can repair it.
    """
    try:
        keys, _ = _walk(data_dir, trust, applied(data_dir) if state is None else state)
    except BundleError as exc:
        _once.failed(
            "keys", "the applied keys bundles do not check out (%s); trusting the configured keys", exc
        )
        return trust.anchors
    _once.recovered("keys", "the applied keys bundles check out again")
    return keys


def current(data_dir: Path, kind: str, trust: DeviceTrust, *, now: datetime | None = None) -> Bundle | None:
    """The bundle of ``kind`` in use, checked again on reading; ``None`` if there is none."""
    state = applied(data_dir)
    if kind == "keys":
        return _walk(data_dir, trust, state)[1]
    doc = _read(data_dir, kind)
    if doc is None:
        return None
    keys = trusted_keys(data_dir, trust, state)
    return bundles.verify(doc, keys, kind, trust.identity, now=_now(now), applied=state.get(kind))


def check_file(
    path: Path, data_dir: Path, kind: str, trust: DeviceTrust, *, now: datetime | None = None
) -> tuple[bytes, Bundle]:
    """A signed bundle document in a file of the admin's (``content.pack``): its bytes and bundle.

    Checked like a received bundle, but for its counter: the file is not in the server's sequence.
    """
    try:
        data = path.read_bytes()
        doc = json.loads(data)
    except OSError as exc:
        raise BundleError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise BundleError(f"{path} is not JSON: {exc}") from exc
    bundle = bundles.verify(doc, trusted_keys(data_dir, trust), kind, trust.identity, now=_now(now))
    return data, bundle


def apply(data_dir: Path, doc: Any, kind: str, trust: DeviceTrust, *, now: datetime | None = None) -> Bundle:
    """Verify ``doc`` and make it the current bundle of ``kind``; :class:`BundleError` if it fails.

    The same bundle again (same counter and sha256) is accepted and written again. A ``keys``
    bundle joins the chain of those applied before.
    """
    state = applied(data_dir)
    keys = trusted_keys(data_dir, trust, state)
    bundle = bundles.verify(doc, keys, kind, trust.identity, now=_now(now), applied=state.get(kind))
    written: Any = bundle.as_dict()
    if kind == "keys":
        try:
            chain = _keys_chain(data_dir)
            bundles.walk_keys(chain, trust.anchors, trust.identity)
        except BundleError:
            chain = []  # start again from this one (it checked out with the keys trusted now)
        repeat = bool(chain) and chain[-1].get("counter") == bundle.counter
        if not repeat and len(chain) >= bundles.MAX_KEY_CHAIN:
            raise BundleError(
                f"this device applied {len(chain)} key lists already: provision it with the current key"
            )
        written = chain if repeat else [*chain, written]
    _write_atomic(bundle_dir(data_dir), f"{kind}.json", json.dumps(written).encode())
    return bundle


def _write_atomic(folder: Path, name: str, data: bytes) -> None:
    """Temporary file, fsync, rename, fsync of the folder: the old file or the new, never half."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.tmp"
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, folder / name)
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def record(
    db: sqlite3.Connection, kind: str, at: str, bundle: Bundle | None = None, error: str | None = None
) -> None:
    """Note in the database what happened to the latest bundle of ``kind`` (status, and the counter)."""
    if bundle is not None:
        db.execute(
            "INSERT INTO bundles_state (kind, version, sha256, counter, applied_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (kind) DO UPDATE SET version = excluded.version, sha256 = excluded.sha256,"
            " counter = excluded.counter, applied_at = excluded.applied_at"
            " WHERE bundles_state.counter IS NULL OR bundles_state.counter <= excluded.counter",
            (kind, bundle.version, bundle.sha256, bundle.counter, at),
        )
    if error is not None:
        db.execute(
            "INSERT INTO bundles_state (kind, last_error, last_error_at) VALUES (?, ?, ?)"
            " ON CONFLICT (kind) DO UPDATE SET last_error = excluded.last_error, last_error_at = excluded.last_error_at",
            (kind, error[:500], at),
        )


_STATUS = ("kind", "version", "counter", "sha256", "applied_at", "last_error", "last_error_at")


def status(db: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT kind, version, counter, sha256, applied_at, last_error, last_error_at FROM bundles_state"
    )
    return [dict(zip(_STATUS, r, strict=True)) for r in rows]
