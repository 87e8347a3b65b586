"""One thread owns the SQLite write connection; callers hand it jobs and wait for the commit.

Jobs that queue up while a transaction runs are committed together (group commit), each inside
its own savepoint, so a failing job rolls back alone. A caller's result is delivered only after
the COMMIT returned: whoever acknowledges something on that result acknowledges durable data.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from ._base import Unavailable

log = logging.getLogger(__name__)
T = TypeVar("T")
_Job = tuple[Callable[[sqlite3.Connection], Any], "Future[Any]"]


class Writer:
    """Run ``fn(connection)`` jobs in transactions on one thread; :meth:`call` waits for the commit."""

    def __init__(self, conn: sqlite3.Connection, name: str = "a2d-sqlite-writer", group: int = 64) -> None:
        self._conn = conn
        self._group = group
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self._closed

    def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        done: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise Unavailable("the database is closed")
            self._jobs.put((fn, done))
        try:
            return done.result()
        except sqlite3.OperationalError as exc:
            raise Unavailable(f"SQLite: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._jobs.put(None)
        self._thread.join()

    def _run(self) -> None:
        try:
            while True:
                first = self._jobs.get()
                if first is None:
                    return
                batch = [first]
                stop = False
                while len(batch) < self._group:
                    try:
                        job = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if job is None:
                        stop = True
                        break
                    batch.append(job)
                self._commit(batch)
                if stop:
                    return
        finally:
            self._conn.close()
            with self._lock:
                self._closed = True
            self._fail_queued()

    def _fail_queued(self) -> None:
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            if job is not None and not job[1].done():
                job[1].set_exception(Unavailable("the database is closed"))

    def _commit(self, batch: list[_Job]) -> None:
        conn = self._conn
        outcomes: list[tuple[Future[Any], bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for fn, done in batch:
                if not done.set_running_or_notify_cancel():
                    continue
                conn.execute("SAVEPOINT job")
                try:
                    value = fn(conn)
                except Exception as exc:  # noqa: BLE001 - the job's own failure goes back to its caller
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    outcomes.append((done, False, exc))
                else:
                    conn.execute("RELEASE job")
                    outcomes.append((done, True, value))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            log.warning("SQLite transaction failed, %d job(s) not committed: %s", len(batch), exc)
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    log.exception("SQLite rollback failed")
            failure = Unavailable(f"SQLite write failed: {exc}")
            for _, done in batch:
                if not done.done():
                    done.set_exception(failure)
            return
        for done, ok, value in outcomes:
            if ok:
                done.set_result(value)
            else:
                done.set_exception(value)
