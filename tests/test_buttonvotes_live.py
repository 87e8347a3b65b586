"""Feedback buttons answer polls, end to end: presses through a real Mosquitto into the real agent,
its results route for kiosks and walls, and the real sync server's open data.

One person hammering a button thirty times in ten seconds counts once everywhere, a redelivered
press gives no second vote, and the counts carry the pack's words, not the buttons' raw keys.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from a2d.buttons import ButtonEvent
from devtools.uplinks import encode_ws101
from edge_agent import config as edge_config
from edge_agent.agent import Agent
from tests.conftest import Mosquitto, free_port, mqtt_agent, wait_for, wait_port
from tests.edgeharness import pair_kiosk
from tests.localapi.conftest import pack_doc
from tests.signedpack import EDGE_TRUST, write_signed_pack
from tests.test_sync import A2D, ROOT, Server

EUI = "24e124538b223344"
BUTTONS = [
    {"bridge": "box7", "poll": "zufrieden", "keys": {"1": "1", "2": "3", "3": "5"}},
    {"dev_eui": EUI, "poll": "radweg", "keys": {"short": "nord", "double": "sued"}, "cooldown_s": 5},
]


class OpenServer(Server):
    """``a2d server run`` that publishes every count (open data's small-count threshold at 1)."""

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [*A2D, "server", "run", "--db", self.db, "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT, stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
            env={**os.environ, "A2D_OPENDATA_MIN_COUNT": "1"},
        )  # fmt: skip
        wait_port(self.port, 30)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[OpenServer]:
    s = OpenServer(tmp_path)
    yield s
    s.kill()


class Site:
    """The agent with a pack that maps the box and the WS101, syncing to ``server``."""

    def __init__(self, tmp: Path, broker: int, server: OpenServer) -> None:
        doc = pack_doc()
        doc["buttons"] = BUTTONS
        pack = write_signed_pack(tmp / "pack.signed.json", doc)
        self.device_id, token = server.add_device("edge-markt")
        # the town publishes the same pack: the server's open data takes the answers' words from it
        (tmp / "pack.json").write_text(json.dumps(doc), encoding="utf-8")
        subprocess.run([*A2D, "server", "signing-key", "--key", str(tmp / "signing.key")], cwd=ROOT, check=True,
                       capture_output=True)  # fmt: skip
        server.cli("bundle", "publish", "content", str(tmp / "pack.json"), "--key", str(tmp / "signing.key"))
        self.data = tmp / "edge"
        self.api_port = free_port()
        text = (
            f'[device]\nid = "{self.device_id}"\ndata_dir = "{self.data}"\n[mqtt]\nport = {broker}\n'
            f'[api]\nport = {self.api_port}\n[content]\npack = "{pack}"\n{EDGE_TRUST}'
            f'url = "http://127.0.0.1:{server.port}"\ntoken = "{token}"\ninterval_s = 0.2\nheartbeat_s = 1\n'
            f'[[sources]]\nkind = "chirpstack"\n'
            f'[[devices]]\ndev_eui = "{EUI}"\ncodec = "milesight-iot/ws101"\nname = "feedback-markt"\n'
        )
        self.agent: Agent = mqtt_agent(edge_config.parse(tomllib.loads(text), "edge.toml", env={}))
        self.agent.start()
        self.kiosk = pair_kiosk(self.data, "wall-markt")

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(f"file:{self.data / 'edge.db'}?mode=ro", uri=True) as c:
            return c.execute(sql).fetchall()

    def results(self, poll: str) -> dict[str, Any]:
        r = httpx.get(f"http://127.0.0.1:{self.api_port}/v1/polls/{poll}/results", headers=self.kiosk.headers)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def unsent(self) -> int:
        return int(self.query("SELECT COALESCE(SUM(pending), 0) FROM (SELECT COUNT(*) AS pending FROM events e"
                              " WHERE id > COALESCE((SELECT cursor FROM sync_streams s WHERE s.stream = e.stream), 0))")[0][0])  # fmt: skip


@pytest.fixture
def site(tmp_path: Path, mosquitto: Mosquitto, server: OpenServer) -> Iterator[Site]:
    s = Site(tmp_path, mosquitto.port, server)
    yield s
    s.agent.stop()


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ws101_up(n: int, press: str, at: datetime) -> tuple[str, bytes]:
    body = {
        "deduplicationId": f"ws-{n}", "time": iso(at), "fCnt": n, "fPort": 85,
        "deviceInfo": {"devEui": EUI, "deviceName": "ns-name", "applicationName": "feedback"},
        "data": base64.b64encode(encode_ws101(press)).decode(),
    }  # fmt: skip
    return f"application/app-1/device/{EUI}/event/up", json.dumps(body).encode()


def test_hammering_a_button_thirty_times_counts_once_on_the_site_and_in_open_data(
    site: Site, publisher: Any, server: OpenServer
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    presses = [
        ButtonEvent(f"p{n}", "box7", "1", "press", iso(start + timedelta(seconds=n / 3)), n)
        for n in range(30)
    ]
    ws101 = [ws101_up(n, "short", start + timedelta(seconds=n)) for n in range(4)]  # 4 presses in 3 s

    def first_stored() -> bool:  # sent again until stored: the agent's SUBSCRIBE may still be on its way
        publisher.publish(presses[0].topic, presses[0].to_json(), qos=1).wait_for_publish(5)
        return bool(site.query("SELECT 1 FROM events WHERE source = 'bridge'"))

    wait_for(first_stored, 10, "the first press")
    for _ in range(2):  # every press twice: the bridge publishes again after a lost PUBACK
        for ev in presses:
            publisher.publish(ev.topic, ev.to_json(), qos=1).wait_for_publish(5)
        for topic, body in ws101:
            publisher.publish(topic, body, qos=1).wait_for_publish(5)

    def stored() -> tuple[int, int]:
        return (site.query("SELECT COUNT(*) FROM events WHERE source IN ('bridge', 'chirpstack')")[0][0],
                site.query("SELECT COUNT(*) FROM events WHERE source = 'button'")[0][0])  # fmt: skip

    wait_for(lambda: stored() == (34, 34), 20, "34 presses and their 34 votes")
    assert site.query("SELECT counted, COUNT(*) FROM events WHERE source = 'button' GROUP BY counted") == [
        (0, 32),
        (1, 2),
    ]
    # the results route counts one vote each, in the pack's words
    box = site.results("zufrieden")
    assert box["counts"] == {"1": 1, "2": 0, "3": 0, "4": 0, "5": 0} and box["total"] == 1
    assert box["labels"]["1"]["de"] == "1"
    assert site.results("radweg")["counts"] == {"nord": 1, "sued": 0}
    # a kiosk vote still counts as one (its one-vote-per-visit rule is the kiosk's, unchanged)
    r = httpx.post(f"http://127.0.0.1:{site.api_port}/v1/feedback", headers=site.kiosk.headers,
                   json={"id": "k-1", "poll_id": "zufrieden", "choice": "5", "at": iso(start)})  # fmt: skip
    assert r.status_code == 201 and site.results("zufrieden")["counts"]["5"] == 1

    # the server gets every press and vote, and counts what the site counts
    wait_for(lambda: site.unsent() == 0, 30, "the outbox to drain")
    hour = start.replace(minute=0, second=0)
    window = {"from": iso(hour), "to": iso(hour + timedelta(hours=2))}
    r = httpx.get(f"http://127.0.0.1:{server.port}/api/v1/opendata/feedback.json", params=window)
    assert r.status_code == 200, r.text
    tally = sorted(
        (row["sensor_name"], row["channel"], row["presses"], row["label"]) for row in r.json()["rows"]
    )
    assert tally == [
        ("button:24e124538b223344", "radweg:nord", 1, "Nord"),
        ("button:box7", "zufrieden:1", 1, "1"),
        ("wall-markt", "zufrieden:5", 1, "5"),
    ]
    records = [
        json.loads(line) for line in server.cli("events", "--device", site.device_id, "--json").splitlines()
    ]
    assert len(records) == 69 and sum(r["payload"]["counted"] is False for r in records) == 66
