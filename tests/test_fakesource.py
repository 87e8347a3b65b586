"""edge_agent.fakesource: the fake source drives the real ingest loop into a real store, and
``a2d edge run --fake`` runs the agent without a broker."""

from __future__ import annotations

import base64
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from a2d.errors import KnownError
from edge_agent import config as edge_config
from edge_agent import queries
from edge_agent.agent import Agent
from edge_agent.fakesource import FakeSource, with_devices
from edge_agent.ingest import Ingest
from edge_agent.loop import IngestLoop
from edge_agent.store import Store, open_reader
from tests.conftest import wait_for

ROOT = Path(__file__).resolve().parent.parent
EUI = "24e124538b223344"
CS_TOPIC = f"application/app-1/device/{EUI}/event/up"
TTS_TOPIC = "v3/offenburg@ttn/devices/baum-7/up"


def cs_up(dedup: str, f_cnt: int) -> dict[str, Any]:
    return {
        "deduplicationId": dedup,
        "time": "2026-06-02T08:15:31.412883114+00:00",
        "deviceInfo": {"devEui": EUI, "deviceName": "feedback-eg-1", "applicationName": "feedback"},
        "fCnt": f_cnt,
        "fPort": 85,
        "data": base64.b64encode(bytes([0xFF, 0x2E, 0x01])).decode(),
    }


def tts_up() -> bytes:
    body = {
        "end_device_ids": {"device_id": "baum-7", "dev_eui": "A84041000181C3D2"},
        "received_at": "2026-06-02T08:16:00Z",
        "uplink_message": {
            "session_key_id": "AXq",
            "f_cnt": 9,
            "f_port": 2,
            "frm_payload": base64.b64encode(bytes.fromhex("0e1000cd0c92070801c210")).decode(),
            "version_ids": {"brand_id": "dragino", "model_id": "lse01"},
        },
    }
    return json.dumps(body).encode()


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = open_reader(db)
    try:
        return [tuple(r) for r in conn.execute(sql)]
    finally:
        conn.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "edge.db")
    yield s
    s.close()


def run_loop(ingest: Ingest, *sources: FakeSource) -> IngestLoop:
    loop = IngestLoop(ingest, sources)
    for src in sources:
        ingest.register_source(src.state)
    loop.start()
    return loop


def test_given_messages_are_committed_before_the_future_says_so_and_stored_once(store: Store) -> None:
    cs, tts = FakeSource("cs"), FakeSource("tts", "tts")
    loop = run_loop(Ingest(store, {}), cs, tts)
    try:
        first = cs.feed(CS_TOPIC, cs_up("d-1", 5))
        seen: list[list[tuple[Any, ...]]] = []
        first.add_done_callback(lambda f: seen.append(rows(Path(store.path), "SELECT key FROM events")))
        first.result(10)
        again = cs.feed(CS_TOPIC, cs_up("d-1", 5))  # a redelivery: acknowledged, stored once
        other = tts.feed(TTS_TOPIC, tts_up())
        bad = cs.feed(CS_TOPIC, b"{not json")
        for f in (again, other, bad):
            f.result(10)
    finally:
        loop.stop()
    assert seen == [[("cs:up:d-1",)]]  # committed when the acknowledgement came
    events = rows(Path(store.path), "SELECT source, dev_eui, codec, decoded FROM events ORDER BY id")
    assert [e[:3] for e in events] == [
        ("chirpstack", EUI, None),
        ("tts", "a84041000181c3d2", "dragino/lse01"),
    ]
    assert json.loads(events[1][3])["water_SOIL"] == "32.18"  # the codec ran on the given bytes
    assert rows(Path(store.path), "SELECT source, reason FROM quarantine")[0][0] == "cs"
    counts = rows(Path(store.path), "SELECT name, received, stored, duplicates, quarantined FROM sources")
    assert sorted(counts) == [("cs", 3, 1, 1, 1), ("tts", 1, 1, 0, 0)]
    assert cs.acknowledged == 3 and tts.acknowledged == 1


def test_simulated_uplinks_decode_with_the_simulated_devices_codecs(store: Store) -> None:
    src = FakeSource(simulated=3)
    loop = run_loop(Ingest(store, src.devices), src)
    try:
        futures = src.simulate(6)
        futures[-1].result(10)
    finally:
        loop.stop()
    assert all(f.done() and not f.cancelled() for f in futures)
    events = rows(Path(store.path), "SELECT codec, measurements FROM events ORDER BY id")
    assert [codec for codec, _ in events] == [
        "milesight-iot/ws101",
        "dragino/lse01",
        "milesight-iot/vs133",
    ] * 2
    quantities = {m["quantity"] for _, ms in events for m in json.loads(ms)}
    assert {"button_press", "soil_moisture", "people_in"} <= quantities


def test_held_while_the_disk_is_full_and_redelivered_like_a_broker_would(store: Store) -> None:
    free = [0]
    ingest = Ingest(
        store, {}, min_free_bytes=64 << 20, free_bytes=lambda: free[0], full_check_s=0.05, hold_max=2
    )
    src = FakeSource()
    loop = run_loop(ingest, src)
    try:
        wait_for(lambda: loop.call(lambda: ingest.full).result(5), 10, "the agent to notice the full disk")
        futures = [src.feed(CS_TOPIC, cs_up(f"d-{n}", n)) for n in range(4)]
        wait_for(lambda: src.received >= 4, 10, "the four messages to be read")
        assert not any(f.done() for f in futures)  # held or left: nothing acknowledged
        assert rows(Path(store.path), "SELECT COUNT(*) FROM events") == [(0,)]
        free[0] = 1 << 40
        for f in futures:
            f.result(10)
    finally:
        loop.stop()
    assert rows(Path(store.path), "SELECT key FROM events ORDER BY id") == [
        (f"cs:up:d-{n}",) for n in range(4)
    ]
    assert src.received == 6  # the two left unacknowledged came a second time


def test_close_cancels_what_was_not_acknowledged() -> None:
    src = FakeSource()
    waiting = src.feed(CS_TOPIC, cs_up("d-1", 1))
    src.close()
    assert waiting.cancelled()
    assert src.feed(CS_TOPIC, cs_up("d-2", 2)).cancelled()


def test_the_shell_recipe_of_the_docstring_works(tmp_path: Path) -> None:
    src = FakeSource()
    cfg = edge_config.parse(
        {"device": {"id": "edge-try", "data_dir": str(tmp_path)}, "api": {"enabled": False}}, env={}
    )
    agent = Agent(with_devices(cfg, src), [src])
    agent.start()
    try:
        src.simulate(6)[-1].result(10)
        src.feed(CS_TOPIC, cs_up("mine", 1)).result(10)
    finally:
        agent.stop()
    db = open_reader(cfg.db_path)
    try:
        stored = list(queries.events(db))
        status = queries.status(db)
    finally:
        db.close()
    assert len(stored) == 7 and all(e["decoded"] for e in stored[:6])  # the simulated ones, decoded
    assert stored[6]["dev_eui"] == EUI and stored[6]["raw"]  # ours: no [[devices]] codec, kept raw
    assert [(s["name"], s["broker"], s["stored"]) for s in status["sources"]] == [("fake", "fake", 7)]


def test_a2d_edge_run_fake_stores_simulated_uplinks_without_a_broker(tmp_path: Path) -> None:
    cfg = tmp_path / "edge.toml"
    cfg.write_text(
        f'[device]\nid = "edge-fake"\ndata_dir = "{tmp_path / "data"}"\n[api]\nenabled = false\n'
        '[mqtt]\nhost = "127.0.0.1"\nport = 9\n'  # nothing listens there: it must not be needed
    )
    a2d = [sys.executable, "-m", "a2d.cli", "edge"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = (tmp_path / "agent.log").open("wb")
    proc = subprocess.Popen(
        [*a2d, "run", "--fake", "--config", str(cfg)], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    db = tmp_path / "data" / "edge.db"

    def stored() -> int:
        try:
            return rows(db, "SELECT COUNT(*) FROM events")[0][0]
        except (sqlite3.Error, KnownError):  # not created yet
            return 0

    try:
        wait_for(lambda: stored() >= 4, 30, "four simulated uplinks in the database")
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(30)
        log.close()
    assert rc == 0, (tmp_path / "agent.log").read_text()
    out = subprocess.run(
        [*a2d, "events", "--config", str(cfg), "--json"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
    events = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(events) >= 4
    assert {e["codec"] for e in events[:3]} == {"milesight-iot/ws101", "dragino/lse01", "milesight-iot/vs133"}
    assert all(e["measurements"] for e in events)
    logged = (tmp_path / "agent.log").read_text()
    assert "127.0.0.1:9" not in logged and "Traceback" not in logged
