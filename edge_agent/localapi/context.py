"""What the endpoints work with: the device, a reader per request, and the agent's single writer."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from a2d import timeutil
from a2d.logs import Once

from ..store import open_reader
from .content import ContentSource
from .http import HttpError

log = logging.getLogger(__name__)
_once = Once(log)
T = TypeVar("T")
#: runs ``fn(connection)`` in one transaction on the agent's writer thread (``Agent._write``)
WriteFn = Callable[[Callable[[sqlite3.Connection], Any]], "Future[Any]"]


@dataclass(frozen=True)
class ApiContext:
    device_id: str
    data_dir: Path
    db_path: Path
    sync_enabled: bool
    content: ContentSource
    write: WriteFn = field(repr=False)
    #: the sync client's live view (``SyncClient.online``); ``None`` when it has not tried yet
    sync_online: Callable[[], bool | None] = lambda: None
    clock: Callable[[], str] = timeutil.utc_now
    #: seconds a write may wait for its commit before the kiosk is told to try again (503)
    write_timeout_s: float = 10.0

    @contextmanager
    def reader(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection of its own, for one request."""
        db = open_reader(self.db_path)
        try:
            yield db
        finally:
            db.close()

    def commit(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in a transaction on the writer thread; return its result once it is committed.

        Anything but a commit is ``HttpError`` 503, so the kiosk keeps the item and sends it again.
        """
        try:
            result = self.write(fn).result(timeout=self.write_timeout_s)
        except (CancelledError, FutureTimeout):
            _once.failed("write", "the local API could not commit a write in time; kiosks are told to retry")
            raise HttpError(503, "the edge agent cannot store this now; try again later") from None
        except sqlite3.Error as exc:
            _once.failed(
                "write", "the local API cannot write to the database (%s); kiosks are told to retry", exc
            )
            raise HttpError(503, "the edge agent's database cannot be written now; try again later") from exc
        _once.recovered("write", "the local API stores writes again")
        return result  # type: ignore[no-any-return]
