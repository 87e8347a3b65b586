"""The one thread that writes the spool database: :class:`a2d.sqlwriter.Writer` set up for the spool.

Serial readers, GPIO callbacks and the publisher hand it small functions of the :class:`.Spool`
and get a future each, settled after the commit (or with the error, if the commit failed).
Several presses arriving together share one transaction and one fsync. After a failed
transaction it pauses briefly (a failing disk: the senders retry on their own); after any
rollback, of one job or of a transaction, the spool reloads its dedup windows before the next frame.
"""

from __future__ import annotations

from collections.abc import Callable

from a2d.sqlwriter import Writer

from .spool import Spool

#: most jobs in one transaction
BATCH_MAX = 500


def spool_writer(spool: Spool, on_commit: Callable[[], None] | None = None) -> Writer[Spool]:
    """The writer of ``spool``; ``start()`` it, ``submit(fn)`` runs ``fn(spool)``, ``close()`` ends it."""
    return Writer(
        spool.db, spool, name="a2d-bridge-writer", group=BATCH_MAX, what="the spool",
        on_commit=on_commit, on_rollback=lambda exc: spool.mark_stale(),
    )  # fmt: skip
