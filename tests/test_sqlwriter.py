"""a2d.sqlwriter: the one-writer-thread contract every app's SQLite file relies on."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import CancelledError, Future
from pathlib import Path

import pytest

from a2d.sqlwriter import Jobs, Writer
from tests.conftest import wait_for


def connect(path: Path, timeout: float = 5.0) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=timeout)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "w.db"
    with connect(path) as c:
        c.execute("CREATE TABLE t (x INTEGER UNIQUE)")
    yield path


@pytest.fixture
def writer(db: Path) -> Iterator[Writer[sqlite3.Connection]]:
    conn = connect(db)
    w = Writer(conn, conn, name="a2d-test-writer")
    w.start()
    yield w
    w.close()
    conn.close()


def rows(db: Path) -> list[int]:
    with sqlite3.connect(db) as c:
        return [r[0] for r in c.execute("SELECT x FROM t ORDER BY rowid")]


def insert(x: int):
    return lambda c: c.execute("INSERT INTO t VALUES (?)", (x,)).rowcount


def test_result_and_exception_come_back_through_the_future_and_a_failing_job_rolls_back_alone(
    writer: Writer[sqlite3.Connection], db: Path
) -> None:
    rollbacks: list[BaseException] = []
    writer.on_rollback = rollbacks.append
    gate = threading.Event()
    first = writer.submit(lambda c: gate.wait(5))  # holds the thread so the next three share a transaction
    ok = writer.submit(insert(1))
    duplicate = writer.submit(lambda c: [insert(2)(c), insert(1)(c)])  # its first insert goes too

    def boom(c: sqlite3.Connection) -> None:
        raise ValueError("no")

    failing = writer.submit(boom)
    gate.set()
    assert first.result(5) is True
    assert ok.result(5) == 1
    with pytest.raises(sqlite3.IntegrityError):
        duplicate.result(5)
    with pytest.raises(ValueError, match="no"):
        failing.result(5)
    assert rows(db) == [1]  # the failing jobs left nothing behind, the good one was committed
    assert [type(e) for e in rollbacks] == [sqlite3.IntegrityError, ValueError]  # each told to the owner


def test_jobs_run_in_order_on_one_thread_that_is_not_the_callers(
    writer: Writer[sqlite3.Connection], db: Path
) -> None:
    seen: list[tuple[int, int]] = []

    def job(x: int):
        def run(c: sqlite3.Connection) -> None:
            seen.append((x, threading.get_ident()))
            c.execute("INSERT INTO t VALUES (?)", (x,))

        return run

    futures = [writer.submit(job(x)) for x in range(300)]
    for f in futures:
        f.result(10)
    assert [x for x, _ in seen] == list(range(300))
    threads = {ident for _, ident in seen}
    assert len(threads) == 1 and threads != {threading.get_ident()}
    assert rows(db) == list(range(300))
    assert "a2d-test-writer" in {t.name for t in threading.enumerate() if t.ident in threads}


def test_a_result_is_delivered_only_once_it_is_committed(db: Path) -> None:
    conn = connect(db)
    gate = threading.Event()
    visible: list[list[int]] = []
    w = Writer(conn, conn, name="a2d-test-writer")
    w.start()
    try:
        w.submit(lambda c: gate.wait(5))
        inserted = w.submit(insert(7))
        inserted.add_done_callback(lambda f: visible.append(rows(db)))
        later = w.submit(lambda c: gate.wait(5))  # same transaction, after the insert
        assert not inserted.done()
        gate.set()
        later.result(5)
        wait_for(lambda: visible, 5, "the insert's future")
        assert visible == [[7]]  # another connection saw the row when the caller heard of it
    finally:
        w.close()
        conn.close()


def test_jobs_that_queue_up_share_one_transaction(db: Path) -> None:
    conn = connect(db)
    commits: list[int] = []
    w = Writer(conn, conn, name="a2d-test-writer", group=64, on_commit=lambda: commits.append(1))
    futures = [w.submit(insert(x)) for x in range(100)]  # queued before the thread starts
    w.start()
    try:
        for f in futures:
            f.result(5)
        assert len(commits) == 2  # 64 + 36, one fsync each
    finally:
        w.close()
        conn.close()


def test_close_commits_what_was_queued_and_cancels_what_comes_after(db: Path) -> None:
    conn = connect(db)
    w = Writer(conn, conn, name="a2d-test-writer")
    w.start()
    gate = threading.Event()
    w.submit(lambda c: gate.wait(5))
    queued = w.submit(insert(1))
    closing = threading.Thread(target=w.close)
    closing.start()
    wait_for(lambda: not w.alive, 5, "the writer to stop taking jobs")
    late = w.submit(insert(2))
    assert late.cancelled()
    with pytest.raises(CancelledError):
        w.call(insert(3))
    gate.set()
    closing.join(5)
    assert queued.result(0) == 1
    assert rows(db) == [1]
    conn.close()


def test_a_writer_that_never_ran_cancels_its_queue_on_close(db: Path) -> None:
    conn = connect(db)
    w = Writer(conn, conn, name="a2d-test-writer")
    pending = [w.submit(insert(x)) for x in range(3)]
    w.close()
    assert all(f.cancelled() for f in pending)
    assert rows(db) == []
    conn.close()


def test_a_failed_transaction_fails_its_jobs_logs_once_and_the_writer_goes_on(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "a2d.sqlwriter")
    conn = connect(db, timeout=0.05)
    failures: list[BaseException] = []
    w = Writer(conn, conn, name="a2d-test-writer", what="the test file", on_rollback=failures.append)
    w.start()
    blocker = connect(db)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        for x in (1, 2):
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                w.call(insert(x), timeout=5)
        blocker.execute("ROLLBACK")
        assert w.call(insert(3), timeout=5) == 1
    finally:
        blocker.close()
        w.close()
        conn.close()
    assert rows(db) == [3]
    assert len(failures) == 2 and all(isinstance(f, sqlite3.OperationalError) for f in failures)
    warnings = [
        r for r in caplog.records if r.levelname == "WARNING" and "cannot write the test" in r.message
    ]
    assert len(warnings) == 1  # the second failure is no news
    assert any("writing the test file works again" in r.message for r in caplog.records)


def test_a_failing_hook_does_not_stop_the_writer(db: Path) -> None:
    conn = connect(db)

    def bad() -> None:
        raise RuntimeError("hook")

    w = Writer(conn, conn, name="a2d-test-writer", on_commit=bad)
    w.start()
    try:
        assert w.call(insert(1), timeout=5) == 1
        assert w.call(insert(2), timeout=5) == 1
        assert w.alive
    finally:
        w.close()
        conn.close()


def test_the_queue_half_runs_on_the_owners_thread_and_wakes_it() -> None:
    wakes: list[int] = []
    jobs = Jobs(wake=lambda: wakes.append(1))
    owner: list[int] = []
    a = jobs.submit(lambda: owner.append(threading.get_ident()) or "a")
    b: Future[None] = jobs.submit(lambda: 1 / 0)  # type: ignore[func-returns-value]
    assert wakes == [1, 1] and not a.done()
    done = threading.Event()
    ran: list[int] = []

    def run() -> None:
        ran.append(jobs.run_pending())
        done.set()

    t = threading.Thread(target=run)
    t.start()
    t.join(5)
    assert ran == [2] and a.result(0) == "a" and owner == [t.ident]
    with pytest.raises(ZeroDivisionError):
        b.result(0)
    c = jobs.submit(lambda: "never")
    jobs.close()
    assert jobs.submit(lambda: "late").cancelled()
    assert jobs.cancel_pending() == 1 and c.cancelled()
