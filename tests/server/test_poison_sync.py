"""End to end, as the hardening acceptance check does it: a real broker, a real edge agent and a
real `a2d server run` on SQLite and on PostgreSQL. A ChirpStack status event whose device name
holds NUL and ESC does not stop the sync; one kiosk vote is not published as open data, seven are."""

from __future__ import annotations

import base64
import csv
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from a2d.timeutil import utc_now
from edge_agent import config as edge_config
from edge_agent.agent import Agent
from edge_agent.store import open_reader
from sync_server.db import Database
from tests.conftest import Mosquitto, mqtt_agent, wait_for

from .conftest import ServerProcess, add_device

APP = "accept-sync"
DEV_OK, DEV_POISON, PROBE = "0606060606060606", "0707070707070707", "0e0e0e0e0e0e0e0e"


def uplink(fcnt: int, dev_eui: str = DEV_OK) -> tuple[str, str]:
    m = {"deduplicationId": f"22222222-0000-4000-8000-{dev_eui[-4:]}{fcnt:08d}", "time": utc_now(),
         "deviceInfo": {"devEui": dev_eui, "deviceName": "bar", "applicationId": APP, "tenantId": "t",
                        "tenantName": "t", "applicationName": APP, "deviceProfileId": "p",
                        "deviceProfileName": "p", "tags": {}},
         "devAddr": "0", "adr": False, "dr": 0, "fCnt": fcnt, "fPort": 85, "confirmed": False,
         "data": base64.b64encode(bytes.fromhex("FF2E01")).decode(), "rxInfo": [], "txInfo": {}}  # fmt: skip
    return f"application/{APP}/device/{dev_eui}/event/up", json.dumps(m)


def poison_status() -> tuple[str, str]:
    m = {"deduplicationId": str(uuid.uuid4()), "time": utc_now(),
         "deviceInfo": {"tenantId": "t", "tenantName": "t", "applicationId": APP, "applicationName": APP,
                        "deviceProfileId": "p", "deviceProfileName": "p",
                        "deviceName": "evil\u0000name\u001b[31m", "devEui": DEV_POISON},
         "margin": 10, "batteryLevel": 88.3}  # fmt: skip
    return f"application/{APP}/device/{DEV_POISON}/event/status", json.dumps(m)


@pytest.fixture
def agent(tmp_path: Path, db: Database, db_url: str, mosquitto: Mosquitto,
          servers: list[ServerProcess]) -> Iterator[tuple[Agent, str]]:  # fmt: skip
    server = ServerProcess(db_url, tmp_path / "server.log")
    servers.append(server)
    device, token = add_device(db, "edge-hardening")
    cfg = tmp_path / "edge.toml"
    cfg.write_text(
        f'[device]\nid = "{device}"\ndata_dir = "{tmp_path / "edge"}"\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {mosquitto.port}\n'
        f'[[sources]]\nkind = "chirpstack"\ntopic = "application/{APP}/device/+/event/+"\n'
        f'[sync]\nurl = "{server.base}"\ntoken = "{token}"\ninterval_s = 0.2\nheartbeat_s = 1\n'
    )
    running = mqtt_agent(edge_config.load(cfg))
    running.start()
    yield running, device
    running.stop()


def subscribed(agent: Agent, publisher: Any) -> None:
    """Publish probe uplinks until the agent has stored one: then its subscription stands."""
    probes = iter(range(1, 10_000))

    def stored() -> bool:
        publisher.publish(*uplink(next(probes), PROBE), qos=1)
        db = open_reader(agent.config.db_path)
        try:
            return db.execute("SELECT 1 FROM events WHERE dev_eui = ?", (PROBE,)).fetchone() is not None
        finally:
            db.close()

    wait_for(stored, timeout=30, what="the agent's subscription")


def payloads(db: Database, device: str) -> list[dict[str, Any]]:
    return [json.loads(r.payload) for r in db.records(device)]


def test_a_nul_in_a_device_name_does_not_stop_sync(
    agent: tuple[Agent, str], db: Database, publisher: Any
) -> None:
    running, device = agent
    subscribed(running, publisher)
    publisher.publish(*poison_status(), qos=1)
    for k in range(1, 21):
        publisher.publish(*uplink(k), qos=1)

    def arrived() -> bool:
        got = payloads(db, device)
        ups = {p["f_cnt"] for p in got if p.get("dev_eui") == DEV_OK}
        return ups == set(range(1, 21)) and any(p.get("dev_eui") == DEV_POISON for p in got)

    wait_for(arrived, timeout=90, what="all 20 uplinks and the status event on the server")
    (status,) = [p for p in payloads(db, device) if p.get("dev_eui") == DEV_POISON]
    assert status["device_name"] == "evilname[31m" and status["kind"] == "status"


def test_one_vote_is_not_open_data_seven_are(agent: tuple[Agent, str], db: Database, servers: list) -> None:
    from a2d.localapi import Vote
    from edge_agent.localapi import votes

    running, device = agent
    poll = f"accept-poll-{uuid.uuid4().hex[:8]}"

    def cast() -> None:
        vote = Vote.from_json({"id": str(uuid.uuid4()), "kiosk_id": "kiosk-1", "poll_id": poll, "choice": "3",
                               "at": utc_now(), "lang": "de"})  # fmt: skip
        running._write(lambda conn: votes.store(conn, vote, utc_now())).result(10)

    def tallies() -> list[dict[str, str]]:
        r = httpx.get(f"{servers[0].base}/api/v1/opendata/feedback.csv", timeout=10)
        return list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))

    def on_server() -> int:
        return sum(1 for p in payloads(db, device) if p.get("kind") == "vote")

    cast()
    wait_for(lambda: on_server() == 1, timeout=60, what="the first vote on the server")
    assert [r for r in tallies() if 1 <= int(r["presses"]) <= 4] == []
    for _ in range(6):
        cast()
    wait_for(lambda: on_server() == 7, timeout=60, what="all seven votes on the server")
    rows = [r for r in tallies() if poll in r["channel"]]
    assert all(int(r["presses"]) >= 5 for r in rows)
    days = {p["received_at"][:10] for p in payloads(db, device) if p.get("kind") == "vote"}
    if len(days) == 1:  # seven votes in one hour, or one UTC day, make a row (across midnight they need not)
        assert [r["presses"] for r in rows] == ["7"]
