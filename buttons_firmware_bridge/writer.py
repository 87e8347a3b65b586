"""The one thread that writes the spool database, committing whatever is queued in one transaction.

Serial readers, GPIO callbacks and the publisher hand it small functions and get a future each,
settled after the commit (or with the error, if the commit failed). Several presses arriving
together share one fsync.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from a2d.logs import Once

from .spool import Spool

log = logging.getLogger(__name__)

Task = tuple[Callable[[Spool], Any], "Future[Any]"]
_STOP = object()


class Writer:
    BATCH_MAX = 500

    def __init__(self, spool: Spool, on_commit: Callable[[], None] = lambda: None) -> None:
        self.spool = spool
        self.on_commit = on_commit
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._once = Once(log)
        self._stale = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="a2d-bridge-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(30)
            self._thread = None

    def submit(self, fn: Callable[[Spool], Any]) -> Future[Any]:
        """Run ``fn(spool)`` inside the next transaction; the future settles after the commit."""
        fut: Future[Any] = Future()
        if self._thread is None:
            fut.set_exception(RuntimeError("the spool writer is not running"))
        else:
            self._queue.put((fn, fut))
        return fut

    def _run(self) -> None:
        stopping = False
        while not stopping:
            item = self._queue.get()
            tasks: list[Task] = []
            while True:
                if item is _STOP:
                    stopping = True
                else:
                    tasks.append(item)
                if len(tasks) >= self.BATCH_MAX:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if tasks:
                self._commit(tasks)

    def _commit(self, tasks: list[Task]) -> None:
        db = self.spool.db
        if self._stale:
            try:
                self.spool.reload()  # the dedup windows in memory may hold what was rolled back
                self._stale = False
            except sqlite3.Error as exc:
                for _, fut in tasks:
                    fut.set_exception(exc)
                time.sleep(0.2)
                return
        results: list[tuple[Future[Any], Any, BaseException | None]] = []
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                for fn, fut in tasks:
                    db.execute("SAVEPOINT task")
                    try:
                        results.append((fut, fn(self.spool), None))
                        db.execute("RELEASE task")
                    except sqlite3.Error:
                        raise
                    except Exception as exc:  # noqa: BLE001 - handed to the caller through its future
                        db.execute("ROLLBACK TO task")
                        db.execute("RELEASE task")
                        results.append((fut, None, exc))
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            self._once.failed("db", "cannot write the spool (%s); nothing is acknowledged", exc)
            self._stale = True
            for _, fut in tasks:
                fut.set_exception(exc)
            time.sleep(0.2)  # a failing disk: do not spin; senders retry on their own
            return
        self._once.recovered("db", "spool writes work again")
        for fut, value, error in results:
            if error is None:
                fut.set_result(value)
            else:
                fut.set_exception(error)
        self.on_commit()
