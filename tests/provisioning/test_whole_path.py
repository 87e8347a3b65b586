"""The whole path with real processes: enroll at a running server -> firstboot into a folder -> the
agent started from the written edge.toml syncs and heartbeats, and lets in the kiosk paired for it
-> revoke -> the agent's next uploads are refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.uplinks import encode_ws101
from tests.conftest import Mosquitto, free_port, wait_for
from tests.test_ingest import CS_TOPIC, cs_up
from tests.test_sync import Server

ROOT = Path(__file__).resolve().parents[2]
A2D = [sys.executable, "-m", "a2d.cli"]
EUI_BEFORE, EUI_AFTER = "0606060606060606", "0707070707070707"


def a2d(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*A2D, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)


def ok(*args: str, env: dict[str, str] | None = None) -> str:
    r = a2d(*args, env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    s = Server(tmp_path)
    yield s
    s.kill(signal.SIGTERM)


def uploaded(server: Server, eui: str) -> set[int]:
    out = server.cli("events", "--json")
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    return {r["payload"]["f_cnt"] for r in rows if r["payload"].get("dev_eui") == eui}


def publish(publisher, eui: str, counts: range) -> None:
    for k in counts:
        body = cs_up(eui, k, 85, encode_ws101("short"), f"{eui[-4:]}-{k}")
        publisher.publish(CS_TOPIC.format(eui=eui, event="up"), body, qos=1).wait_for_publish(10)


def test_enroll_firstboot_sync_heartbeat_revoke(
    tmp_path: Path, server: Server, mosquitto: Mosquitto, publisher
) -> None:
    admin = json.loads(server.cli("admin-token", "--json"))["admin_token"]
    url = f"http://127.0.0.1:{server.port}"
    boot, root = tmp_path / "boot", tmp_path / "root"
    boot.mkdir()
    root.mkdir()
    enrolled = json.loads(ok("provision", "enroll", "--server", url, "--admin-token", admin, "--name", "Edge Test",
                             "--site", "rathaus", "--role", "edge+kiosk", "--out", str(boot), "--json"))  # fmt: skip
    device = enrolled["device_id"]
    assert device == "edge-test" and enrolled["role"] == "edge+kiosk"
    ok("provision", "firstboot", "--boot", str(boot), "--root", str(root))
    assert list(boot.iterdir()) == []
    etc = root / "etc/a2d"

    api_port = free_port()
    env = {**os.environ, "A2D_DEVICE_DATA_DIR": str(root / "var/lib/a2d/edge"), "A2D_MQTT_PORT": str(mosquitto.port),
           "A2D_SYNC_TOKEN_FILE": str(etc / "sync.token"), "A2D_SYNC_INTERVAL_S": "0.2", "A2D_SYNC_HEARTBEAT_S": "1",
           "A2D_API_PORT": str(api_port),
           # the broker password first boot wrote (this broker lets anyone in: the login is accepted)
           "A2D_MQTT_PASSWORD_FILE": str(etc / "mqtt-agent.password")}  # fmt: skip
    with (tmp_path / "edge.log").open("wb") as log:
        agent = subprocess.Popen([*A2D, "edge", "run", "--config", str(etc / "edge.toml")], cwd=ROOT, env=env,
                                 stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        status = ["edge", "status", "--config", str(etc / "edge.toml"), "--json"]

        def connected() -> bool:
            r = a2d(*status, env=env)  # fails until the agent made its database
            return r.returncode == 0 and json.loads(r.stdout)["sources"][0]["connected"]

        wait_for(connected, 30, "the agent's MQTT source", 0.2)
        publish(publisher, EUI_BEFORE, range(1, 6))
        wait_for(
            lambda: uploaded(server, EUI_BEFORE) == {1, 2, 3, 4, 5}, 30, "the uplinks at the server", 0.2
        )

        def seen() -> dict | None:
            rows = [json.loads(line) for line in server.cli("device", "list", "--json").splitlines()]
            return next((r for r in rows if r["device_id"] == device and r["last_seen"]), None)

        wait_for(seen, 30, "the device's heartbeat", 0.2)
        fleet = [json.loads(line) for line in ok("provision", "list", "--server", url, "--admin-token", admin,
                                                 "--json").splitlines()]  # fmt: skip
        row = next(r for r in fleet if r["device_id"] == device)
        assert row["site"] == "rathaus" and row["role"] == "edge+kiosk" and row["last_seen"]
        assert row["versions"] and isinstance(row["outbox_depth"], int)

        # the kiosk beside the agent was paired by firstboot: its token opens the agent's API
        kiosk_token = (etc / "kiosk.token").read_text().strip()
        req = urllib.request.Request(f"http://127.0.0.1:{api_port}/v1/status",
                                     headers={"Authorization": f"Bearer {kiosk_token}"})  # fmt: skip
        with urllib.request.urlopen(req, timeout=10) as answer:
            assert answer.status == 200
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{api_port}/v1/status",
                                   headers={"Authorization": "Bearer a2dk_guess"}), timeout=10)  # fmt: skip
        assert refused.value.code == 401

        ok("provision", "revoke", "Edge Test", "--server", url, "--admin-token", admin)
        publish(publisher, EUI_AFTER, range(1, 6))

        def refused_after() -> bool:
            sync = json.loads(ok(*status, env=env))["sync"]
            return any("HTTP 401" in (s["last_error"] or "") and s["pending"] >= 5 for s in sync)

        wait_for(refused_after, 30, "the agent's uploads refused with 401", 0.2)
        assert uploaded(server, EUI_AFTER) == set()
        assert agent.poll() is None  # refused, the agent keeps the records and runs on
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(30)
