"""A full disk: the writer holds what it read, unacknowledged, deletes nothing, stays responsive, and
resumes by itself; the state machine behind it; the status that shows it."""

from __future__ import annotations

import errno
import json
import logging
import sqlite3
import threading
from pathlib import Path

import pytest

from edge_agent import queries, statefile
from edge_agent.diskfull import DiskFullError, DiskGuard, is_no_space
from edge_agent.housekeeping import Housekeeper, Limits
from edge_agent.ingest import Inbound, Ingest
from edge_agent.statefile import StateFile
from edge_agent.store import Store
from tests.conftest import ManualClock
from tests.test_ingest import CS_TOPIC, cs_up

EUI = "0101010101010101"
MB = 1 << 20


class Broker:
    """Stands in for an MQTT source: records acknowledgements and requests to send again."""

    def __init__(self) -> None:
        self.acked: list[int] = []
        self.redelivers = 0

    def ack(self, mid: int, qos: int, conn: int) -> None:
        self.acked.append(mid)

    def redeliver(self) -> None:
        self.redelivers += 1


def message(k: int, broker: Broker, qos: int = 1) -> Inbound:
    """An uplink of a device without codec and 6000 payload bytes: each row needs pages of its own,
    so a database that may not grow cannot take it."""
    body = cs_up(EUI, k, 2, bytes(k % 256 for _ in range(6000)), f"full-{k}")
    return Inbound("chirpstack", "chirpstack", CS_TOPIC.format(eui=EUI, event="up"), body, k, qos, broker, 0)


def stored(store: Store) -> int:
    return store.db.execute("SELECT COUNT(*) FROM events").fetchone()[0]


def fill_up(store: Store) -> None:
    """Let SQLite find the database full: no page beyond those it has (SQLITE_FULL, as on a full disk)."""
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages}")


def make_room(store: Store) -> None:
    store.db.execute("PRAGMA max_page_count = 1073741823")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def make_ingest(tmp_path: Path, clock: ManualClock, **kw) -> Ingest:
    ing = Ingest(Store(tmp_path / "edge.db"), {},
                 state_file=StateFile(tmp_path / "edge.state.json"), full_check_s=5.0, **kw)  # fmt: skip
    ing.guard.clock = clock
    ing.start()
    return ing


def test_what_counts_as_no_space() -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (x BLOB)")
    db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")
    with pytest.raises(sqlite3.OperationalError) as full:
        db.execute("INSERT INTO t VALUES (zeroblob(100000))")
    assert is_no_space(full.value)
    assert is_no_space(OSError(errno.ENOSPC, "No space left on device"))
    assert not is_no_space(OSError(errno.EACCES, "Permission denied"))
    assert not is_no_space(sqlite3.IntegrityError("UNIQUE constraint failed"))


def test_a_failed_write_holds_the_batch_unacknowledged_and_stores_it_once_there_is_room(
    tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    ing = make_ingest(tmp_path, clock)
    broker = Broker()
    for k in range(3):
        ing.add(message(k, broker))
    assert ing.flush() == 3
    fill_up(ing.store)
    with caplog.at_level(logging.INFO):
        for k in range(3, 8):
            ing.add(message(k, broker))
        done = threading.Event()
        worker = threading.Thread(target=lambda: (ing.flush(), done.set()))
        worker.start()
        assert done.wait(2), "flush blocked on a full database"  # it used to sleep and retry in place
        worker.join()
        assert ing.full and ing.pending == 5 and broker.acked == [0, 1, 2]
        assert "no space left" in ing.guard.reason
        clock.advance(1)
        assert ing.flush() == 0  # not yet time to look again
        make_room(ing.store)
        assert ing.flush() == 0  # room, but the next look is due only after full_check_s
        clock.advance(5)
        assert ing.flush() == 5
    assert not ing.full and broker.acked == list(range(8)) and stored(ing.store) == 8
    said = [r.getMessage() for r in caplog.records if r.name == "edge_agent.diskfull"]
    assert len(said) == 2 and said[0].startswith("disk full: no space left") and "again" in said[1]
    ing.store.close()


def test_low_free_space_takes_nothing_in_and_deletes_nothing(tmp_path: Path, clock: ManualClock) -> None:
    free = {"bytes": 500 * MB}
    ing = make_ingest(tmp_path, clock, min_free_bytes=32 * MB, free_bytes=lambda: free["bytes"])
    broker = Broker()
    for k in range(20):
        ing.add(message(k, broker))
    ing.flush()
    free["bytes"] = 20 * MB  # something else filled the disk
    for k in range(20, 25):
        ing.add(message(k, broker))
    assert ing.flush() == 0 and ing.full and "below store.min_free_mb (32)" in ing.guard.reason
    # the housekeeping pass goes on, by the database's own size: nothing of the 20 goes
    Housekeeper(ing.store, Limits({"uplink": 400}, max_db_bytes=64 * MB)).run_pass()
    assert stored(ing.store) == 20 and len(broker.acked) == 20
    free["bytes"] = 33 * MB  # above the minimum, below the margin to resume
    clock.advance(5)
    assert ing.flush() == 0 and ing.full
    free["bytes"] = 41 * MB
    clock.advance(5)
    assert ing.flush() == 5 and not ing.full and stored(ing.store) == 25
    ing.store.close()


def test_while_full_it_holds_at_most_hold_max_and_has_the_rest_sent_again(
    tmp_path: Path, clock: ManualClock
) -> None:
    ing = make_ingest(tmp_path, clock, hold_max=3)
    broker = Broker()
    ing.add(message(0, broker))
    ing.flush()
    fill_up(ing.store)
    ing.add(message(1, broker))
    ing.flush()
    assert ing.full
    for k in range(2, 8):
        ing.add(message(k, broker))
    ing.add(message(99, broker, qos=0))
    assert ing.pending == 3  # 1, 2, 3: the rest stays with the broker (QoS 1) or is lost (QoS 0)
    make_room(ing.store)
    clock.advance(5)
    assert ing.flush() == 3
    assert broker.acked == [0, 1, 2, 3] and broker.redelivers == 1
    ing.store.close()


def test_a_quiet_agent_recovers_through_a_probe_write(tmp_path: Path, clock: ManualClock) -> None:
    ing = make_ingest(tmp_path, clock)
    fill_up(ing.store)
    ing.add(message(1, Broker()))
    ing.flush()
    ing._batch = type(ing._batch)()  # nothing held: as if the broker had nothing more to send
    assert ing.full
    clock.advance(5)
    ing.tick()
    assert ing.full  # the probe needs new pages: still no room
    make_room(ing.store)
    clock.advance(5)
    ing.tick()
    assert not ing.full
    assert ing.store.db.execute("SELECT COUNT(*) FROM write_probe").fetchone()[0] == 0
    ing.store.close()


def test_the_guard_refuses_writes_while_full_and_reads_the_disk_only_when_due() -> None:
    free = {"bytes": 10 * MB, "looks": 0}

    def measure() -> int:
        free["looks"] += 1
        return free["bytes"]

    clock = ManualClock()
    guard = DiskGuard(32 * MB, measure, recheck_s=5, clock=clock, wall_clock=lambda: "2026-06-10T12:00:00Z")
    with pytest.raises(DiskFullError, match="full since 2026-06-10T12:00:00Z"):
        guard.refuse()
    assert guard.state() == {"since": "2026-06-10T12:00:00Z", "reason": guard.reason}
    looks = free["looks"]
    for _ in range(100):
        assert not guard.may_write()
    assert free["looks"] == looks  # no statvfs per message while full
    free["bytes"] = 100 * MB
    clock.advance(5)
    assert guard.may_write() and guard.full  # full until the write went through
    guard.worked()
    assert not guard.full
    guard.refuse()  # no longer raises


def test_status_shows_since_when_and_why_the_disk_is_full(tmp_path: Path, clock: ManualClock) -> None:
    from edge_agent.cli import _status_text

    ing = make_ingest(tmp_path, clock)
    ing.heartbeat()
    st = queries.status(ing.store.db, state=statefile.read(tmp_path / "edge.state.json"))
    assert st["agent"]["running"] and st["full"] is None
    fill_up(ing.store)
    ing.add(message(1, Broker()))
    ing.flush()
    for _ in range(2):
        ing.heartbeat()  # the database's heartbeat stops; the state file's goes on
    doc = statefile.read(tmp_path / "edge.state.json")
    assert doc is not None and (tmp_path / "edge.state.json").stat().st_size == statefile.SIZE
    st = queries.status(ing.store.db, state=doc)
    assert st["agent"]["running"] and st["agent"]["heartbeat_at"] == doc["heartbeat_at"]
    assert st["full"]["since"] == ing.guard.since and "no space left" in st["full"]["reason"]
    assert f"DISK FULL since {ing.guard.since}: no space left" in _status_text(st)
    json.dumps(st)  # --json prints it
    ing.store.close()


def test_a_stale_state_file_is_not_taken_for_a_running_agent(tmp_path: Path) -> None:
    store = Store(tmp_path / "edge.db")
    store.record_agent("e", 4242, "0", "2026-06-10T12:00:00.000000Z")
    state = {
        "pid": 4241,
        "heartbeat_at": "2026-06-10T11:00:00.000000Z",
        "full": {"since": "x", "reason": "y"},
    }
    from datetime import UTC, datetime

    st = queries.status(store.db, now=datetime(2026, 6, 10, 12, 0, 5, tzinfo=UTC), state=state)
    assert st["agent"]["pid"] == 4242 and st["full"] is None
    store.close()


def test_the_state_file_is_rewritten_in_place(tmp_path: Path) -> None:
    f = StateFile(tmp_path / "s.json")
    f.open()
    f.write({"full": {"reason": "x" * 300}})
    f.write({"full": None})
    assert statefile.read(tmp_path / "s.json") == {"full": None}
    assert (tmp_path / "s.json").stat().st_size == statefile.SIZE
    f.close()
    assert statefile.read(tmp_path / "missing.json") is None
