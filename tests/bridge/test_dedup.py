"""Each (box_id, seq) is spooled once: the 16-bit wrap, the window, hello, and restarts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from buttons_firmware_bridge.dedup import BoxWindow
from buttons_firmware_bridge.frames import Frame
from buttons_firmware_bridge.spool import Spool, count_pending, read_pending
from buttons_firmware_bridge.writer import spool_writer

AT = "2026-06-02T08:15:31.000000Z"


def test_new_and_duplicate_across_the_wrap() -> None:
    w = BoxWindow(window=64)
    for seq in (65534, 65535, 0, 1):
        assert w.accept(seq) is not None
    for seq in (65534, 65535, 0, 1):
        assert w.accept(seq) is None  # resends
    assert w.last == 1
    assert w.accept(65530) is not None  # behind, within the window, never seen: arrived late
    assert w.last == 1


def test_far_behind_means_the_box_lost_its_counter() -> None:
    w = BoxWindow(window=64)
    for seq in range(500, 600):
        w.accept(seq)
    assert w.accept(3) is not None  # 597 behind: a new start, not a duplicate
    assert w.last == 3 and w.seen == {3}


def test_hello_forgets_what_lies_ahead_of_the_counter() -> None:
    w = BoxWindow(window=1024)
    for seq in range(1, 41):
        w.accept(seq)
    w.hello(10)  # the box was re-flashed with an older counter: 11.. are new presses again
    assert w.accept(11) is not None
    assert w.accept(10) is None  # still resent by the box? a duplicate
    w.hello(65529)  # far away: start over
    assert w.accept(65530) is not None and w.accept(5) is not None


@given(st.lists(st.integers(0, 65535), max_size=60), st.integers(0, 65535))
def test_the_window_stays_bounded(seqs: list[int], start: int) -> None:
    w = BoxWindow(window=16)
    w.accept(start)
    for s in seqs:
        w.accept(s)
    assert all((w.last - s) % 65536 <= 16 for s in w.seen)


def test_spool_keeps_the_window_across_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "bridge.db"
    spool = Spool(path, window=64)
    spool.db.execute("BEGIN")
    assert spool.accept_frame(Frame("box1", 65535, "hello", "0"), AT)
    assert spool.accept_frame(Frame("box1", 0, "press", "1"), AT)
    assert spool.accept_frame(Frame("box1", 1, "hold", "2"), AT)
    assert not spool.accept_frame(Frame("box1", 0, "press", "1"), AT)
    spool.db.execute("COMMIT")
    spool.close()
    spool = Spool(path, window=64)  # as after kill -9: the database is the truth
    assert not spool.accept_frame(Frame("box1", 1, "hold", "2"), AT)
    assert spool.accept_frame(Frame("box1", 2, "press", "1"), AT)
    assert [p.topic for p in read_pending(spool.db, 0, 10)] == ["a2d/v1/buttons/box1"] * 3
    assert count_pending(spool.db) == 3
    assert spool.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert spool.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    spool.close()
    with sqlite3.connect(path) as db:
        assert [r[0] for r in db.execute("SELECT name FROM migrations")] == ["001_spool"]


def test_a_frame_whose_job_was_rolled_back_is_taken_the_next_time(tmp_path: Path) -> None:
    """The writer rolls a failed job back; the window in memory must not keep its frame as seen,
    or the box's resend would be acknowledged as a duplicate and the press lost."""
    spool = Spool(tmp_path / "bridge.db", window=64)
    writer = spool_writer(spool)
    writer.start()
    press = Frame("box1", 7, "press", "1")

    def accept_then_fail(s: Spool) -> None:
        assert s.accept_frame(press, AT)
        raise OSError("the serial port went away")  # anything after the spool call, in the same job

    try:
        with pytest.raises(OSError):
            writer.call(accept_then_fail, timeout=10)
        assert count_pending(spool.db) == 0
        assert writer.call(lambda s: s.accept_frame(press, AT), timeout=10) is True  # the resend counts
        assert writer.call(lambda s: s.accept_frame(press, AT), timeout=10) is False  # and only once
    finally:
        writer.close()
        spool.close()
    with sqlite3.connect(tmp_path / "bridge.db") as db:
        assert db.execute("SELECT COUNT(*) FROM spool").fetchone()[0] == 1
