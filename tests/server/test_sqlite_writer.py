"""The server's SQLite backend on a2d.sqlwriter: concurrent uploads share transactions, a locked or
closed database is Unavailable (a 503 for the client, which retries), a refused record is Refused."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sync_server.db import Refused, Unavailable
from sync_server.db import sqlite as backend
from sync_server.db.sqlite import SQLiteDatabase
from tests.conftest import wait_for


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SQLiteDatabase]:
    d = SQLiteDatabase(tmp_path / "server.db")
    d.migrate()
    yield d
    d.close()


def rows(device: str, n: int, first: int = 0) -> list[tuple[str, str, str, str, str, str]]:
    at = "2026-06-02T08:00:00Z"
    return [(device, f"r-{i}", "uplink", at, "{}", at) for i in range(first, first + n)]


def queued_together(db: SQLiteDatabase, threads: list[threading.Thread]) -> None:
    """Run ``threads`` (uploads) while a held job keeps the writer busy, so that all of them queue
    up behind it, then let the writer go on and wait for them."""
    gate, held = threading.Event(), threading.Event()

    def hold(_conn: sqlite3.Connection) -> None:
        held.set()
        gate.wait(10)

    db._writer.submit(hold)
    # the writer takes whatever is queued when it begins a transaction: the uploads must come after
    assert held.wait(10), "the writer did not take the held job"
    for t in threads:
        t.start()
    wait_for(lambda: len(db._writer._jobs) >= len(threads), 10, "the uploads to queue behind the held job")
    gate.set()
    for t in threads:
        t.join(10)


def test_concurrent_uploads_share_transactions(db: SQLiteDatabase) -> None:
    commits: list[int] = []
    db._writer.on_commit = lambda: commits.append(1)
    queued_together(
        db, [threading.Thread(target=db.store_records, args=(rows(f"edge-{n}", 50),)) for n in range(16)]
    )
    assert sum(1 for _ in db.records()) == 16 * 50
    assert len(commits) <= 2  # the held job's transaction, and one for all sixteen uploads


def test_a_locked_database_is_unavailable_and_then_works_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backend, "_BUSY_TIMEOUT_S", 0.05)
    db = SQLiteDatabase(tmp_path / "server.db")
    db.migrate()
    other = sqlite3.connect(tmp_path / "server.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # say, `a2d server prune` in another process, holding the lock
        with pytest.raises(Unavailable, match="locked"):
            db.store_records(rows("edge-1", 3))
        other.execute("ROLLBACK")
        db.store_records(rows("edge-1", 3))
        assert sum(1 for _ in db.records()) == 3
    finally:
        other.close()
        db.close()


def test_a_closed_database_is_unavailable(tmp_path: Path) -> None:
    db = SQLiteDatabase(tmp_path / "server.db")
    db.migrate()
    db.close()
    with pytest.raises(Unavailable, match="closed"):
        db.store_records(rows("edge-1", 1))


def test_a_record_sqlite_refuses_is_refused_alone(db: SQLiteDatabase) -> None:
    outcome: dict[str, object] = {}

    def upload(name: str, batch: list) -> None:
        try:
            db.store_records(batch)
            outcome[name] = "stored"
        except Refused as exc:
            outcome[name] = exc

    at = "2026-06-02T08:00:00Z"
    bad = [("edge-2", "r-0", "uplink", at, '{"x": "\udc80"}', at)]  # a lone surrogate: SQLite cannot take it
    queued_together(
        db,
        [
            threading.Thread(target=upload, args=("good", rows("edge-1", 5))),
            threading.Thread(target=upload, args=("bad", bad)),
        ],
    )
    assert outcome["good"] == "stored" and isinstance(outcome["bad"], Refused)
    assert [r.device_id for r in db.records()] == ["edge-1"] * 5  # same transaction, only the bad one undone
