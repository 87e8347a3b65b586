"""The edge agent against a real Mosquitto: subscriptions, durability across kill -9, reconnects."""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.uplinks import chirpstack_up, devices_toml, make_devices, tts_up
from edge_agent import config as edge_config
from tests.conftest import Mosquitto, edge_toml, mqtt_agent, wait_for

A2D = [sys.executable, "-m", "a2d.cli"]
ROOT = Path(__file__).resolve().parent.parent


def stored(db: Path, sql: str = "SELECT COUNT(*) FROM events", args: tuple = ()) -> int:
    if not db.exists():
        return -1
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
        try:
            return c.execute(sql, args).fetchone()[0]
        except sqlite3.OperationalError:
            return -1


def connected(db: Path, source: str = "chirpstack") -> bool:
    return stored(db, "SELECT COALESCE(MAX(connected), 0) FROM sources WHERE name = ?", (source,)) == 1


def start_agent(cfg: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*A2D, "edge", "run", "--config", str(cfg)], cwd=ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*A2D, *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_kill_9_in_the_middle_of_a_stream_loses_and_doubles_nothing(
    mosquitto: Mosquitto, publisher, tmp_path: Path
) -> None:
    devices = make_devices(3)
    cfg = edge_toml(tmp_path, mosquitto.port, devices_toml(devices))
    db = tmp_path / "data" / "edge.db"
    agent = start_agent(cfg, tmp_path / "agent.log")
    try:
        wait_for(lambda: connected(db), what="the agent to subscribe")
        import random
        from datetime import UTC, datetime

        rng = random.Random(3)
        n = 3000
        for k in range(n):
            dev = devices[k % 3]
            at = datetime.now(UTC)
            topic, body = chirpstack_up(dev, dev.payload(at), at, rng)
            info = publisher.publish(topic, body, qos=1)
            dev.f_cnt += 1
            if k == 1200:
                info.wait_for_publish(10)
                wait_for(lambda: stored(db) > 0, what="the first commits")
                agent.send_signal(signal.SIGKILL)
                agent.wait(10)
        info.wait_for_publish(30)
        agent = start_agent(cfg, tmp_path / "agent.log")
        wait_for(lambda: stored(db) >= n, timeout=60, what=f"{n} events")
        assert stored(db) == n
        assert stored(db, "SELECT COUNT(DISTINCT dev_eui || ':' || f_cnt) FROM events") == n
        assert stored(db, "SELECT COUNT(*) FROM events WHERE decoded IS NULL") == 0
    finally:
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(20) == 0  # a clean stop on SIGTERM


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_uplinks_sent_while_the_agent_is_stopped_are_drained_on_start(
    mosquitto: Mosquitto, publisher, tmp_path: Path, protocol: str
) -> None:
    cfg = edge_config.load(edge_toml(tmp_path, mosquitto.port, extra=f'protocol = "{protocol}"'))
    agent = mqtt_agent(cfg)
    agent.start()
    wait_for(lambda: agent.sources[0].connected, what="connect")
    agent.stop()
    import random
    from datetime import UTC, datetime

    dev = make_devices(1)[0]
    rng = random.Random(1)
    for _ in range(200):
        at = datetime.now(UTC)
        publisher.publish(*chirpstack_up(dev, dev.payload(at), at, rng), qos=1).wait_for_publish(10)
        dev.f_cnt += 1
    agent = mqtt_agent(cfg)
    agent.start()
    try:
        wait_for(lambda: stored(cfg.db_path) == 200, what="the queued uplinks")
    finally:
        agent.stop()


def test_reconnects_after_the_broker_restarts_and_records_the_outage(
    mosquitto: Mosquitto, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    caplog.set_level(logging.INFO)
    cfg = edge_config.load(edge_toml(tmp_path, mosquitto.port))
    agent = mqtt_agent(cfg)
    agent.start()
    try:
        wait_for(lambda: connected(cfg.db_path), what="connect")
        mosquitto.stop()
        wait_for(lambda: not connected(cfg.db_path), what="the outage to be recorded")
        mosquitto.start()
        wait_for(lambda: connected(cfg.db_path), timeout=60, what="the reconnect")
        dev = make_devices(1)[0]
        import random
        from datetime import UTC, datetime

        at = datetime.now(UTC)
        pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="after-restart")
        pub.connect("127.0.0.1", mosquitto.port)
        pub.loop_start()
        pub.publish(*chirpstack_up(dev, dev.payload(at), at, random.Random(2)), qos=1).wait_for_publish(10)
        pub.disconnect()
        pub.loop_stop()
        wait_for(lambda: stored(cfg.db_path) == 1, what="the uplink after the restart")
    finally:
        agent.stop()
    lost = [r for r in caplog.records if "retrying" in r.getMessage() and "chirpstack" in r.getMessage()]
    everything = [r.getMessage() for r in caplog.records]
    assert len(lost) == 1, everything  # one line for the outage, not one per retry
    assert any("connected to" in m and "again" in m for m in everything), everything


def test_cli_end_to_end_with_both_network_servers(mosquitto: Mosquitto, publisher, tmp_path: Path) -> None:
    import random
    from datetime import UTC, datetime

    devices = make_devices(3)
    cfg = edge_toml(tmp_path, mosquitto.port, devices_toml(devices[:1]))  # the TTS ones use version_ids
    db = tmp_path / "data" / "edge.db"
    agent = start_agent(cfg, tmp_path / "agent.log")
    try:
        wait_for(lambda: connected(db) and connected(db, "tts"), what="both sources")
        rng = random.Random(5)
        at = datetime.now(UTC)
        publisher.publish(
            *chirpstack_up(devices[0], devices[0].payload(at), at, rng), qos=1
        ).wait_for_publish(5)
        for dev in devices[1:]:
            publisher.publish(*tts_up(dev, dev.payload(at), at, rng), qos=1).wait_for_publish(5)
        publisher.publish("v3/x@ttn/devices/y/up", b"{broken", qos=1).wait_for_publish(5)
        wait_for(lambda: stored(db) == 3 and stored(db, "SELECT COUNT(*) FROM quarantine") == 1, what="rows")

        out = run_cli("edge", "events", "--config", str(cfg), "--json")
        assert out.returncode == 0, out.stderr
        evs = [json.loads(line) for line in out.stdout.splitlines()]
        assert {e["codec"] for e in evs} == {"milesight-iot/ws101", "dragino/lse01", "milesight-iot/vs133"}
        assert {e["source"] for e in evs} == {"chirpstack", "tts"}
        for e in evs:
            assert set(e) >= {"id", "source", "dev_eui", "device_name", "received_at", "f_cnt", "f_port", "kind",
                              "codec", "decoded", "decode_errors", "measurements", "raw"}  # fmt: skip
            assert e["received_at"].endswith("Z") and e["dev_eui"] == e["dev_eui"].lower()
            assert e["measurements"] and not e["decode_errors"]
        later = run_cli("edge", "events", "--config", str(cfg), "--json", "--since", "2999-01-01T00:00:00Z")
        assert later.stdout == ""

        q = run_cli("edge", "quarantine", "--config", str(cfg), "--json")
        (row,) = [json.loads(line) for line in q.stdout.splitlines()]
        assert row["source"] == "tts" and "not JSON" in row["reason"]

        st = run_cli("edge", "status", "--config", str(cfg))
        assert st.returncode == 0
        assert "source chirpstack (chirpstack)" in st.stdout and "connected" in st.stdout
        assert "QoS 0" in st.stdout and "QoS 1" in st.stdout
        assert "quarantined 1" in st.stdout
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(20)


def test_known_errors_are_one_line_and_exit_1(tmp_path: Path) -> None:
    missing = run_cli("edge", "status", "--config", str(tmp_path / "nope.toml"))
    assert missing.returncode == 1
    assert missing.stderr.strip().count("\n") == 0 and "does not exist" in missing.stderr
    cfg = tmp_path / "edge.toml"
    cfg.write_text(f'[device]\nid = "x"\ndata_dir = "{tmp_path}"\n[[devices]]\ndev_eui = "zz"\n')
    bad = run_cli("edge", "events", "--config", str(cfg))
    assert bad.returncode == 1 and "not 16 hex digits" in bad.stderr
    debug = subprocess.run([*A2D, "edge", "events", "--config", str(cfg)], cwd=ROOT, capture_output=True,
                           text=True, env={**os.environ, "A2D_DEBUG": "1"})  # fmt: skip
    assert "Traceback" in debug.stderr


def test_every_command_help_ends_with_an_example() -> None:
    for args in (["edge", "--help"], ["edge", "run", "--help"], ["edge", "events", "--help"],
                 ["edge", "status", "--help"], ["edge", "quarantine", "--help"], ["simulate", "--help"]):  # fmt: skip
        out = run_cli(*args)
        assert out.returncode == 0
        assert "example:" in out.stdout and "a2d " in out.stdout.split("example:")[-1], args
