"""One thread owns a SQLite write connection; callers on any thread hand it jobs and get futures.

Every app keeps its own SQLite file and writes it from one thread (the edge agent's store, the
bridge's spool, the server's SQLite backend, the kiosk's outbox); readers open connections of
their own. This module is that pattern once, in two halves:

* :class:`Jobs` is the queue and the futures. Any thread submits a function (:meth:`Jobs.submit`) and
  gets a :class:`~concurrent.futures.Future`; the thread that owns the connection takes the jobs
  where it suits it. The edge agent's ingest loop is such an owner: it already owns the MQTT
  sockets and the connection, and runs the queued jobs between two reads of its sockets
  (:meth:`Jobs.run_pending`), so the hot path pays no thread hand-over.
* :class:`Writer` is an owner thread of its own for everyone else. It commits the jobs that queued
  up while the last transaction ran in one transaction (group commit: one fsync for many
  callers), each job inside its own savepoint so that a failing job rolls back alone, and settles
  the futures only after ``COMMIT`` returned: whoever acknowledges something on a result
  acknowledges durable data.

The contract, for both halves: a future holds the job's result or its exception; jobs run in the
order they were submitted, all on the owner's thread; once the queue is closed, a job submitted
later, or one still queued when the owner stops without taking it, is cancelled, never run.

Why in ``a2d``: this is runtime plumbing that all four apps share, like :mod:`a2d.logs` and
:mod:`a2d.sqlmigrations` (the schema half of the same files). It is standard library only, knows
no table and no domain word, and the apps may import ``a2d`` but not each other; a library
package of its own would add a package, an extra and import contracts for some 200 lines.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

from .logs import Once

log = logging.getLogger(__name__)

H = TypeVar("H")
T = TypeVar("T")

#: a queued job: the function to run and the future that receives its outcome
Job = tuple[Callable[[], Any], "Future[Any]"]


def settle(future: Future[T], fn: Callable[[], T]) -> None:
    """Run ``fn`` for ``future`` now: its result or its exception goes into the future.

    A future its caller cancelled meanwhile is left alone and ``fn`` is not run.
    """
    if not future.set_running_or_notify_cancel():
        return
    try:
        value = fn()
    except Exception as exc:  # noqa: BLE001 - handed to the caller through the future
        future.set_exception(exc)
    else:
        future.set_result(value)


class Jobs:
    """The queue-and-future half: callers :meth:`submit`, one owner thread takes and runs.

    >>> jobs = Jobs()
    >>> answer = jobs.submit(lambda: 6 * 7)
    >>> jobs.run_pending()   # on the owner's thread
    1
    >>> answer.result()
    42
    >>> jobs.close()
    >>> jobs.submit(lambda: 1).cancelled()
    True

    ``wake`` is called after each submission (from the submitting thread), e.g. to interrupt the
    owner's ``select``. A :class:`Writer` waits in :meth:`take` instead.
    """

    def __init__(self, wake: Callable[[], None] | None = None) -> None:
        self._queue: deque[Job] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._closed = False
        self._wake = wake

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def closed(self) -> bool:
        return self._closed

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        """Queue ``fn`` for the owner; a closed queue returns an already cancelled future."""
        future: Future[T] = Future()
        with self._cond:
            if self._closed:
                future.cancel()
                return future
            self._queue.append((fn, future))
            self._cond.notify()
        if self._wake is not None:
            self._wake()
        return future

    def take(self, most: int, timeout: float | None = 0.0) -> list[Job]:
        """Up to ``most`` queued jobs, oldest first (the owner's thread).

        ``timeout`` 0 returns at once; otherwise wait up to ``timeout`` seconds (``None``: for ever)
        for a first job. An empty list after waiting means the queue is closed and empty (or the
        time ran out).
        """
        with self._cond:
            if not self._queue and timeout != 0.0:
                self._cond.wait_for(lambda: self._queue or self._closed, timeout)
            queue = self._queue
            return [queue.popleft() for _ in range(min(most, len(queue)))]

    def run_pending(self) -> int:
        """Run every queued job here, one after the other, settling each future; return how many."""
        if not self._queue:  # the common case in a busy owner loop: no lock taken
            return 0
        ran = 0
        while True:
            batch = self.take(64)
            if not batch:
                return ran
            for fn, future in batch:
                settle(future, fn)
            ran += len(batch)

    def close(self) -> None:
        """Take no more jobs: from now on :meth:`submit` returns a cancelled future.

        What is queued stays for the owner to take; a waiting :meth:`take` returns.
        """
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def cancel_pending(self) -> int:
        """Cancel every job still queued (an owner that stops without running them)."""
        cancelled = 0
        for _, future in self.take(len(self._queue) + 1):
            cancelled += future.cancel()
        return cancelled


class Writer(Generic[H]):
    """An owner thread for ``conn``: runs ``fn(handle)`` jobs in group-committed transactions.

    ``handle`` is what each job receives: the connection itself, or an object around it (the
    bridge's spool). ``group`` caps the jobs in one transaction. ``on_commit`` runs on the writer's
    thread after each commit; ``on_rollback`` after something was rolled back: one job's savepoint
    (with the job's exception), or a whole transaction (with the SQLite error its jobs' futures
    then hold). The writer borrows ``conn``: its owner closes it after :meth:`close`.

    >>> db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    >>> writer = Writer(db, db, name="a2d-doctest-writer")
    >>> writer.start()
    >>> writer.call(lambda c: c.execute("CREATE TABLE t (x)").rowcount)
    -1
    >>> writer.submit(lambda c: c.execute("INSERT INTO t VALUES (1)").rowcount).result()
    1
    >>> writer.close(); db.close()
    """

    #: after a failed transaction, wait this long before the next one (a failing disk: do not spin)
    PAUSE_S = 0.2

    def __init__(
        self,
        conn: sqlite3.Connection,
        handle: H,
        *,
        name: str,
        group: int = 64,
        what: str = "the database",
        on_commit: Callable[[], None] | None = None,
        on_rollback: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.conn = conn
        self.handle = handle
        self.name = name
        self.group = group
        self.what = what
        self.on_commit = on_commit
        self.on_rollback = on_rollback
        self._jobs = Jobs()
        self._once = Once(log)
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def alive(self) -> bool:
        """The thread runs and takes jobs."""
        return self._thread is not None and self._thread.is_alive() and not self._jobs.closed

    def start(self) -> None:
        """Start the thread; jobs submitted before are queued and run then."""
        if self._thread is None and not self._jobs.closed:
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def submit(self, fn: Callable[[H], T]) -> Future[T]:
        """Run ``fn(handle)`` in the next transaction; the future settles after its commit."""
        handle = self.handle
        return self._jobs.submit(lambda: fn(handle))

    def call(self, fn: Callable[[H], T], timeout: float | None = None) -> T:
        """:meth:`submit` and wait for the committed result (or the job's exception).

        A closed writer raises :class:`concurrent.futures.CancelledError`.
        """
        return self.submit(fn).result(timeout)

    def close(self, timeout: float | None = 30) -> None:
        """Take no more jobs, commit those already queued, end the thread."""
        self._jobs.close()
        self._closing.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._jobs.cancel_pending()  # the thread never ran, or died: nothing stays unanswered

    # the writer's thread ----------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while True:
                batch = self._jobs.take(self.group, timeout=None)
                if not batch:
                    return  # closed, and everything queued before is committed
                if not self._commit(batch):
                    self._closing.wait(self.PAUSE_S)
        finally:
            self._jobs.close()
            self._jobs.cancel_pending()

    def _commit(self, batch: list[Job]) -> bool:
        """One transaction for ``batch``; True if it committed."""
        conn = self.conn
        outcomes: list[tuple[Future[Any], bool, Any]] = []
        started: set[Future[Any]] = set()
        try:
            conn.execute("BEGIN IMMEDIATE")
            for fn, future in batch:
                if not future.set_running_or_notify_cancel():
                    continue
                started.add(future)
                conn.execute("SAVEPOINT job")
                try:
                    value = fn()
                except Exception as exc:  # noqa: BLE001 - the job's own failure goes back to its caller
                    conn.execute("ROLLBACK TO job")  # should this fail, the whole transaction fails
                    conn.execute("RELEASE job")
                    outcomes.append((future, False, exc))
                    self._hook(self.on_rollback, exc)
                else:
                    conn.execute("RELEASE job")
                    outcomes.append((future, True, value))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            self._once.failed(
                "commit", "cannot write %s (%s); %d job(s) not committed", self.what, exc, len(batch)
            )
            for _, future in batch:
                if future in started or future.set_running_or_notify_cancel():
                    future.set_exception(exc)
            self._hook(self.on_rollback, exc)
            return False
        self._once.recovered("commit", "writing %s works again", self.what)
        for future, ok, value in outcomes:
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
        self._hook(self.on_commit)
        return True

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.Error as exc:
                log.warning("rolling back %s failed: %s", self.what, exc)

    def _hook(self, fn: Callable[..., None] | None, *args: Any) -> None:
        """Run a hook on this thread; its failure is logged once, and the writer goes on."""
        if fn is None:
            return
        try:
            fn(*args)
        except Exception as exc:  # noqa: BLE001 - a hook must not end the one thread that writes
            log.debug("a hook of the writer of %s failed", self.what, exc_info=True)
            self._once.failed("hook", "a hook of the writer of %s failed: %r", self.what, exc)
