"""Housekeeping of the edge database: retention for unsent events too, thinning by the database's
own size, space given back to the disk, bounded steps, and the per-kiosk cap on votes."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from pathlib import Path

import pytest

from a2d.localapi import Vote
from edge_agent import outbox
from edge_agent.eventrow import EventRow
from edge_agent.housekeeping import Housekeeper, Limits
from edge_agent.localapi import votes
from edge_agent.store import Store

NOW = "2026-06-10T12:00:00.000000Z"
PRESS = json.dumps([{"quantity": "button_press", "value": 1, "unit": "count", "channel": "short"}])


def put(store: Store, stream: str, n: int, *, at: str = NOW, press: bool = False, size: int = 0,
        prefix: str = "") -> list[int]:  # fmt: skip
    """Insert ``n`` events of ``stream``; returns their ids."""
    rows = []
    for k in range(n):
        rows.append(EventRow(
            id=None, key=f"{prefix or stream}-{press}-{at}-{k}-{os.urandom(4).hex()}", source="chirpstack", kind="up",
            stream=stream, dev_eui=None, device_name=None, application=None, received_at=at, stored_at=at,
            f_cnt=None, f_port=None, codec=None, decoded=None, decode_errors="[]", measurements=PRESS if press else "[]",
            raw=os.urandom(size) if size else None, meta="{}",
        ))  # fmt: skip
    with store.atomic() as db:
        store.insert_events(db, rows)
    return [r[0] for r in store.db.execute("SELECT id FROM events ORDER BY id DESC LIMIT ?", (n,))][::-1]


def sent_upto(store: Store, stream: str, event_id: int) -> None:
    with store.atomic() as db:
        outbox.advance(db, stream, event_id, 0, NOW)


def left(store: Store, sql: str = "SELECT COUNT(*) FROM events", args: tuple = ()) -> int:
    return store.db.execute(sql, args).fetchone()[0]


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "edge.db")
    yield s
    s.close()


def test_retention_removes_unsent_events_too_and_warns_once(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    old = put(store, "uplink", 5, at="2026-04-01T00:00:00.000000Z")
    put(store, "uplink", 2)  # recent
    put(store, "feedback", 3, at="2025-01-01T00:00:00.000000Z", press=True)
    sent_upto(store, "uplink", old[1])  # the server has two of the five old ones
    keeper = Housekeeper(store, Limits({"uplink": 30, "feedback": 400}), clock=lambda: NOW)
    with caplog.at_level(logging.INFO, logger="edge_agent.housekeeping"):
        keeper.run_pass()
    assert left(store) == 2 and left(store, "SELECT MIN(id) FROM events") > old[-1]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert (
        len(warnings) == 1
        and "6 events that never reached the sync server (3 feedback, 3 uplink)" in warnings[0].getMessage()
    )
    caplog.clear()
    put(store, "uplink", 4, at="2026-04-02T00:00:00.000000Z")  # the outage goes on: more expire unsent
    with caplog.at_level(logging.INFO, logger="edge_agent.housekeeping"):
        keeper.run_pass()
    assert left(store) == 2
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # logged once, not per pass


def test_thinning_follows_the_database_size_sent_events_first_and_keeps_votes(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    net = put(store, "network", 300, size=1000)
    health = put(store, "health", 300, size=1000)
    sensor = put(store, "uplink", 600, size=1000)
    presses = put(store, "uplink", 200, size=1000, press=True, prefix="press")
    vote_ids = put(store, "feedback", 200, size=1000, press=True)
    sent_upto(store, "network", net[199])  # the server holds 200 network events, and 300 sensor uplinks
    sent_upto(store, "uplink", sensor[299])
    used = store.used_bytes()
    cap = int(used * 0.75)
    keeper = Housekeeper(store, Limits({}, max_db_bytes=cap))
    with caplog.at_level(logging.INFO, logger="edge_agent.housekeeping"):
        keeper.run_pass()
    assert store.used_bytes() <= cap
    ids = {r[0] for r in store.db.execute("SELECT id FROM events")}
    assert set(presses) <= ids and set(vote_ids) <= ids  # never thinned
    # what the server holds went first: all 200 sent network events and 300 sent sensor uplinks; then
    # the oldest unsent network events; health events and unsent sensor uplinks come later in the order
    assert not (set(net[:200]) | set(sensor[:300])) & ids
    gone = [i for i in net[200:] if i not in ids]
    assert gone and gone == net[200 : 200 + len(gone)]  # the oldest first
    assert set(health) <= ids and set(sensor[300:]) <= ids
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(lines) == 2 and "over its cap" in lines[0] and lines[1].startswith("thinning done: removed")
    assert "network (sent)" in lines[1]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="edge_agent.housekeeping"):
        keeper.run_pass()  # within the cap now: nothing more goes, nothing is logged
    assert {r[0] for r in store.db.execute("SELECT id FROM events")} == ids
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_the_database_within_its_cap_is_never_thinned_however_little_disk_is_free(store: Store) -> None:
    put(store, "network", 100, size=2000)
    # the pass never asks how much disk is free: only the database's own size and unsent count count
    Housekeeper(store, Limits({}, max_pending=1000, max_db_bytes=store.used_bytes() + 1)).run_pass()
    assert left(store) == 100


def test_deleted_space_goes_back_to_the_disk(store: Store, tmp_path: Path) -> None:
    assert store.db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental, from the start
    put(store, "network", 4000, at="2026-01-01T00:00:00.000000Z", size=4000)
    store.checkpoint()
    big = (tmp_path / "edge.db").stat().st_size
    assert big > 16 << 20
    Housekeeper(store, Limits({"network": 30}), clock=lambda: NOW).run_pass()
    assert left(store) == 0
    assert (tmp_path / "edge.db").stat().st_size < big // 8
    assert store.db.execute("PRAGMA freelist_count").fetchone()[0] == 0


def test_an_older_database_switches_to_incremental_vacuum_once_at_open(tmp_path: Path) -> None:
    s = Store(tmp_path / "edge.db")
    put(s, "uplink", 50, size=500)
    s.db.execute("PRAGMA auto_vacuum = NONE")
    s.db.execute("VACUUM")  # as a database made before this version
    assert s.db.execute("PRAGMA auto_vacuum").fetchone()[0] == 0
    s.close()
    s = Store(tmp_path / "edge.db")
    assert s.db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
    assert left(s) == 50
    s.close()


def test_a_pass_holds_the_writer_only_for_small_steps(store: Store) -> None:
    put(store, "network", 1000, at="2026-01-01T00:00:00.000000Z", size=3000)
    keeper = Housekeeper(store, Limits({"network": 30}), clock=lambda: NOW)
    keeper.STEP_ROWS, keeper.VACUUM_PAGES = 100, 50
    keeper.start()
    steps, biggest = 0, 0
    while True:
        before = store.db.total_changes
        more = keeper.step()
        biggest = max(biggest, store.db.total_changes - before)
        steps += 1
        if not more:
            break
    assert left(store) == 0
    assert biggest <= 100  # rows per step
    assert steps >= 10 + 1000 * 3000 // 4096 // 50  # 10 delete steps, then vacuum steps of 50 pages


def test_a_kiosk_flooding_votes_is_refused_beyond_its_cap_and_pushes_nothing_out(tmp_path: Path) -> None:
    store = Store(tmp_path / "edge.db", max_feedback_per_kiosk=5)
    sensor = put(store, "uplink", 20)

    def vote(i: int, kiosk: str = "kiosk-a") -> bool:
        with store.atomic() as db:
            return votes.store(db, Vote(f"{kiosk}-{i}", kiosk, "poll", "3", NOW), NOW)

    assert all(vote(i) for i in range(5))
    with pytest.raises(sqlite3.IntegrityError, match="max_feedback_per_kiosk"):
        vote(5)
    assert vote(0) is False  # a resend of a vote it holds is answered as before, not refused
    assert vote(0, "kiosk-b")  # another kiosk is not held back
    assert left(store, "SELECT COUNT(*) FROM events WHERE stream = 'feedback'") == 6
    assert [r[0] for r in store.db.execute("SELECT id FROM events WHERE stream = 'uplink'")] == sensor
    first = store.db.execute("SELECT MIN(id) FROM events WHERE stream = 'feedback'").fetchone()[0]
    sent_upto(store, "feedback", first + 1)  # two of kiosk-a's votes reached the server
    assert vote(5) and vote(6)
    with pytest.raises(sqlite3.IntegrityError):
        vote(7)
    store.close()
