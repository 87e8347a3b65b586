"""The outbox: records as the server receives them, cursors, refused records, retention."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from a2d.syncwire import parse_records
from devtools.uplinks import encode_ws101
from edge_agent import outbox, queries
from edge_agent.config import Device
from edge_agent.ingest import Inbound, Ingest
from edge_agent.store import Store
from tests.test_ingest import CS_TOPIC, cs_up

EUI = "24e124538b223344"


@pytest.fixture
def ingest(tmp_path: Path) -> Ingest:
    ing = Ingest(Store(tmp_path / "edge.db"), {EUI: Device(EUI, "milesight-iot/ws101", "knopf")})
    ing.start()
    return ing


def fill(ing: Ingest, n: int, start: int = 0) -> None:
    for k in range(start, start + n):
        body = cs_up(EUI, k, 85, encode_ws101("short"), f"o-{k}")
        ing.add(Inbound("chirpstack", "chirpstack", CS_TOPIC.format(eui=EUI, event="up"), body))
    ing.flush()


def test_records_are_the_events_as_the_cli_prints_them(ingest: Ingest) -> None:
    fill(ingest, 3)
    batch = outbox.read_batch(ingest.store.db, "uplink", 10, 1 << 20)
    records = parse_records(json.loads('{"records":[' + ",".join(p.text for p in batch) + "]}"))
    events = list(queries.events(ingest.store.db))
    assert [r.payload for r in records] == events
    assert [r.record_id for r in records] == ["cs:up:o-0", "cs:up:o-1", "cs:up:o-2"]
    assert {r.stream for r in records} == {"uplink"} and records[0].ts == events[0]["received_at"]


def test_batches_are_bounded_in_count_and_bytes(ingest: Ingest) -> None:
    fill(ingest, 20)
    assert len(outbox.read_batch(ingest.store.db, "uplink", 7, 1 << 20)) == 7
    one = len(outbox.read_batch(ingest.store.db, "uplink", 1, 1 << 20)[0].text)
    assert len(outbox.read_batch(ingest.store.db, "uplink", 100, 3 * one + 10)) == 3
    assert len(outbox.read_batch(ingest.store.db, "uplink", 100, 1)) == 1  # one record always goes


def test_cursor_moves_only_forward_and_resumes_after_reopen(ingest: Ingest, tmp_path: Path) -> None:
    fill(ingest, 10)
    batch = outbox.read_batch(ingest.store.db, "uplink", 4, 1 << 20)
    with ingest.store.atomic() as db:
        outbox.advance(db, "uplink", batch[-1].event_id, len(batch), "2026-06-02T09:00:00.000000Z")
        outbox.advance(db, "uplink", batch[0].event_id, 0, "2026-06-02T09:00:01.000000Z")  # a late, older ack
    ingest.store.close()
    reopened = Store(tmp_path / "edge.db")
    nxt = outbox.read_batch(reopened.db, "uplink", 100, 1 << 20)
    assert [p.record_id for p in nxt] == [f"cs:up:o-{k}" for k in range(4, 10)]
    (st,) = outbox.status(reopened.db)
    assert st["pending"] == 6 and st["sent"] == 4 and st["last_success_at"] == "2026-06-02T09:00:01.000000Z"


def test_a_refused_record_is_set_aside_and_reported(ingest: Ingest) -> None:
    fill(ingest, 3)
    bad = outbox.read_batch(ingest.store.db, "uplink", 3, 1 << 20)[1]
    with ingest.store.atomic() as db:
        outbox.refuse(db, bad.event_id, "uplink", "HTTP 400", "2026-06-02T09:00:00.000000Z")
    left = outbox.read_batch(ingest.store.db, "uplink", 10, 1 << 20)
    assert bad.record_id not in {p.record_id for p in left} and len(left) == 2
    (st,) = outbox.status(ingest.store.db)
    assert st["refused"] == 1 and "HTTP 400" in st["last_error"] and st["pending"] == 2


def test_a_full_outbox_is_thinned_in_policy_order_and_keeps_every_vote(ingest: Ingest) -> None:
    from devtools.uplinks import encode_lse01
    from edge_agent.housekeeping import Housekeeper, Limits

    soil = "a84041000181c3d2"
    ingest.devices = {**ingest.devices, soil: Device(soil, "dragino/lse01", "")}
    for k in range(10):  # 10 feedback votes, 10 soil readings, 10 status events
        ingest.add(Inbound("chirpstack", "chirpstack", CS_TOPIC.format(eui=EUI, event="up"),
                           cs_up(EUI, k, 85, encode_ws101("short"), f"v-{k}")))  # fmt: skip
        ingest.add(Inbound("chirpstack", "chirpstack", CS_TOPIC.format(eui=soil, event="up"),
                           cs_up(soil, k, 2, encode_lse01(3.6, 20, 30, 15, 300), f"m-{k}")))  # fmt: skip
        status = {
            "deduplicationId": f"h-{k}",
            "deviceInfo": {"devEui": soil},
            "margin": 5,
            "batteryLevel": 80,
        }
        ingest.add(Inbound("chirpstack", "chirpstack", CS_TOPIC.format(eui=soil, event="status"),
                           json.dumps(status).encode()))  # fmt: skip
    ingest.flush()

    def thin(max_pending: int) -> None:
        Housekeeper(ingest.store, Limits({}, max_pending=max_pending)).run_pass()

    thin(30)
    assert len(list(queries.events(ingest.store.db))) == 30
    thin(15)
    left = list(queries.events(ingest.store.db))
    votes = [e for e in left if any(m["quantity"] == "button_press" for m in e["measurements"])]
    assert len(votes) == 10 and len(left) == 15 and not [e for e in left if e["stream"] == "health"]
    assert [e["f_cnt"] for e in left if e["dev_eui"] == soil] == [5, 6, 7, 8, 9]  # the oldest went first
    thin(0)
    assert len(list(queries.events(ingest.store.db))) == 10  # votes, never
    st = {s["stream"]: s for s in outbox.status(ingest.store.db)}
    assert st["uplink"]["thinned"] == 10  # (the health stream has no events left to list)


def test_streams_are_each_listed_once_in_order_without_reading_every_event(tmp_path: Path) -> None:
    store = Store(tmp_path / "edge.db")
    assert outbox.streams(store.db) == []
    with store.atomic() as db:
        db.executemany(
            "INSERT INTO events (key, source, kind, stream, received_at, stored_at) VALUES (?, 'cs', 'up', ?,"
            " '2026-06-02T08:00:00.000000Z', '2026-06-02T08:00:00.000000Z')",
            [
                (f"k{i}", s)
                for i, s in enumerate(["uplink", "health", "uplink", "feedback", "health", "uplink"])
            ],
        )
    assert outbox.streams(store.db) == ["feedback", "health", "uplink"]
    # one index seek per stream: no step of the plan goes through all events
    plan = [row[3] for row in store.db.execute(f"EXPLAIN QUERY PLAN {outbox._STREAMS}")]
    assert not [step for step in plan if step.startswith("SCAN events")], plan
    store.close()
