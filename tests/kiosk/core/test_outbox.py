"""kiosk.outbox: durable, ordered, one row per id; a vote survives kill -9 of the kiosk right after the tap."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kiosk.outbox import Outbox

ROOT = Path(__file__).resolve().parents[3]


def body(n: int) -> dict[str, str]:
    return {"id": f"id-{n}", "kiosk_id": "k", "poll_id": "p", "choice": str(n), "at": "2026-06-02T08:00:00Z"}


def test_items_are_kept_in_order_once_per_id_across_reopen(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.db")
    for n in (3, 1, 2):
        box.put("vote", body(n))
    box.put("vote", body(1))  # the same tap twice: one item
    box.put("help", {"id": "h-1", "kiosk_id": "k", "at": "2026-06-02T08:00:00Z", "topic": ""})
    box.close()
    box = Outbox(tmp_path / "outbox.db")
    items = box.peek()
    assert [i.id for i in items] == ["id-3", "id-1", "id-2", "h-1"]
    assert items[0].body == body(3) and items[3].kind == "help"
    box.failed("id-3", "HTTP 503")
    assert box.peek(1)[0].attempts == 1
    box.done("id-1")
    box.refuse("id-2", "choice too long")
    assert [i.id for i in box.peek()] == ["id-3", "h-1"]
    assert box.count() == 2 and box.refused_count() == 1
    box.close()


def test_journal_is_wal_with_full_sync(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.db")
    assert box._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert box._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    box.close()


def test_unknown_kind_is_refused(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.db")
    with pytest.raises(ValueError):
        box.put("comment", body(1))
    box.close()


def test_a_vote_survives_kill_9_right_after_the_tap(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    script = textwrap.dedent(
        f"""
        import sys, threading
        from pathlib import Path
        from kiosk.client import AgentClient
        client = AgentClient("http://127.0.0.1:9", Path({str(cache)!r}), "kiosk-eg", discover=False)
        vote_id = client.vote("zufriedenheit", "5", "de")
        sys.stdout.write(vote_id + "\\n")
        sys.stdout.flush()
        threading.Event().wait(60)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        vote_id = proc.stdout.readline().strip()
        assert vote_id, "the kiosk process printed no vote id"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
    box = Outbox(cache / "outbox.db")
    assert [i.id for i in box.peek()] == [vote_id]
    box.close()


def test_refused_items_go_after_refused_days_and_nothing_outlives_400_days(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from a2d.timeutil import iso

    box = Outbox(tmp_path / "outbox.db")
    now = datetime(2027, 6, 1, tzinfo=UTC)

    def put(item_id: str, days_ago: float, kind: str = "vote") -> None:
        at = iso(now - timedelta(days=days_ago))
        box.put(kind, {**body(1), "id": item_id, "at": at})
        box._db.execute("UPDATE outbox SET created_at = ? WHERE id = ?", (at, item_id))

    for item_id, days in (("fresh-refused", 1), ("old-refused", 40), ("ancient-refused", 399)):
        put(item_id, days)
        box.refuse(item_id, "bad")
        box._db.execute("UPDATE refused SET at = ? WHERE id = ?", (iso(now - timedelta(days=days)), item_id))
    box._db.execute("UPDATE refused SET at = ? WHERE id = 'ancient-refused'", (iso(now - timedelta(days=2)),))
    put("waiting", 30)
    put("too-old", 401)
    put("too-old-help", 500, "help")
    assert box.prune(30, now=now) == (1, 2)  # old-refused; too-old and too-old-help
    assert [i.id for i in box.peek()] == ["waiting"]
    assert box.refused_count() == 2
    assert box.prune(30, now=now + timedelta(days=2)) == (1, 0)  # ancient-refused: its vote turned 401 days
    assert box.refused_count() == 1
    box.close()


def test_taps_from_many_threads_are_kept_and_written_by_the_outboxs_one_thread(tmp_path: Path) -> None:
    import threading

    box = Outbox(tmp_path / "outbox.db")

    def tap(first: int) -> None:
        for n in range(first, first + 25):
            box.put("vote", body(n))

    taps = [threading.Thread(target=tap, args=(25 * i,)) for i in range(8)]
    for t in taps:
        t.start()
    for t in taps:
        t.join(30)
    assert box.count() == 200 and len({i.id for i in box.peek(500)}) == 200
    assert [t.name for t in threading.enumerate()].count("a2d-kiosk-outbox") == 1
    box.close()
    assert "a2d-kiosk-outbox" not in [t.name for t in threading.enumerate()]
    box.close()  # twice is harmless
