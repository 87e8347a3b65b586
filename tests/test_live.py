"""Live questions from ``a2d server poll live`` to an agent's ``GET /v1/live``, with real processes.

A real ``a2d server run`` (restartable on its port), a real agent (in this process, as
``a2d edge run`` builds it) syncing through a proxy on 127.0.0.1 that can cut the line, and the
CLI in its own processes writing straight into the server's database.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from a2d import livewire
from edge_agent import config as edge_config
from edge_agent.agent import Agent
from sync_server.db import open_database
from tests.conftest import mqtt_agent, wait_for
from tests.edgeharness import pair_kiosk
from tests.faultproxy import FaultProxy
from tests.test_sync import Server

QUESTION = "Soll der Marktplatz autofrei werden?"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    s = Server(tmp_path)
    yield s
    s.kill(signal.SIGTERM)


class Edge:
    """The agent with sync to ``url`` and its local API, and a paired kiosk's HTTP client."""

    def __init__(self, tmp: Path, url: str, device_id: str, token: str) -> None:
        (tmp / "data").mkdir(exist_ok=True)
        self.cfg = tmp / "edge.toml"
        self.cfg.write_text(
            f'[device]\nid = "{device_id}"\ndata_dir = "{tmp / "data"}"\n'
            f'[sync]\nurl = "{url}"\ntoken = "{token}"\ninterval_s = 0.2\nheartbeat_s = 1\ntimeout_s = 2\n'
        )
        self.kiosk = pair_kiosk(tmp / "data", "kiosk-live")
        self.agent: Agent | None = None
        self.http: httpx.Client | None = None

    def start(self) -> Agent:
        agent = mqtt_agent(edge_config.load(self.cfg))
        assert agent.live is not None, "an agent with [sync] keeps a live stream"
        agent.live.max_backoff_s = 1.0  # the test waits seconds, not half a minute
        agent.live.silent_s = 3.0  # a cut line is noticed after 3 s of silence (15 s keep-alives)
        agent.start()
        assert agent.api is not None
        self.agent = agent
        self.http = httpx.Client(base_url=agent.api.url, timeout=10, headers=self.kiosk.headers)
        return agent

    def stop(self) -> None:
        if self.http is not None:
            self.http.close()
        if self.agent is not None:
            self.agent.stop()
        self.agent, self.http = None, None

    def live(self) -> dict[str, Any]:
        assert self.http is not None
        r = self.http.get("/live")
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    def live_ids(self) -> list[str]:
        return [q["id"] for q in self.live()["questions"]]


@pytest.fixture
def edge_factory(tmp_path: Path) -> Iterator[Any]:
    made: list[Edge] = []

    def make(url: str, device_id: str, token: str) -> Edge:
        e = Edge(tmp_path, url, device_id, token)
        made.append(e)
        return e

    yield make
    for e in made:
        e.stop()


def start_question(server: Server, *args: str) -> str:
    out = server.cli("poll", "live", "--question", QUESTION, "--answers", "Ja,Nein", *args, "--json")
    return str(json.loads(out)["id"])


def listed(server: Server) -> dict[str, dict[str, Any]]:
    return {q["id"]: q for q in map(json.loads, server.cli("poll", "list", "--json").splitlines())}


def test_a_question_reaches_the_agent_through_a_server_restart_and_a_network_cut(
    server: Server, edge_factory: Any, tmp_path: Path
) -> None:
    device_id, token = server.add_device("edge-live-1", "buergerbuero")
    proxy = FaultProxy(server.port)
    try:
        edge = edge_factory(f"http://127.0.0.1:{proxy.port}", device_id, token)
        edge.start()
        assert edge.live() == {"questions": [], "updated_at": None}  # nothing heard yet

        first = start_question(server)
        started = time.monotonic()
        wait_for(lambda: first in edge.live_ids(), 10, "the question on /v1/live", interval=0.5)
        took = time.monotonic() - started
        assert took < 5, f"the live question took {took:.1f} s to arrive"
        doc = edge.live()
        assert doc["updated_at"] is not None
        assert doc["questions"][0]["text"] == {"de": QUESTION}
        assert [a["id"] for a in doc["questions"][0]["answers"]] == ["ja", "nein"]

        # the server goes away; a question started meanwhile arrives when it is back
        server.kill(signal.SIGTERM)
        assert first in edge.live_ids(), "the stored question is served while the server is away"
        second = start_question(server, "--sites", "buergerbuero")
        server.start()
        wait_for(
            lambda: second in edge.live_ids(), 15, "the question after the server's restart", interval=0.5
        )

        # the line is cut (silently: no FIN, no RST); the agent keeps serving; it catches up after
        proxy.mode = "cut"
        third = start_question(server)
        wait_for(lambda: not edge.agent.live.connected, 15, "the agent noticing the cut line")
        assert set(edge.live_ids()) == {first, second}
        proxy.mode = "pass"
        wait_for(lambda: third in edge.live_ids(), 15, "the question after the cut", interval=0.5)

        # closed on the server: gone from the agent
        server.cli("poll", "close", first)
        wait_for(lambda: first not in edge.live_ids(), 10, "the closed question gone", interval=0.5)
    finally:
        proxy.close()


def test_a_restarted_offline_agent_serves_the_open_question_and_one_closes_by_its_time(
    server: Server, edge_factory: Any
) -> None:
    device_id, token = server.add_device("edge-live-2")
    edge = edge_factory(f"http://127.0.0.1:{server.port}", device_id, token)
    edge.start()
    lasting = start_question(server, "--minutes", "10")
    # a question that closes in a few seconds (the CLI's shortest is a minute): straight into the database
    now = datetime.now(UTC)
    q = livewire.LiveQuestion.new("Kurz gefragt?", ["Ja", "Nein"], now=now, minutes=1)
    q = livewire.LiveQuestion(q.id, q.text, q.answers, q.opens_at, livewire.stamp(now + timedelta(seconds=6)))
    db = open_database(server.db)
    try:
        db.add_live(q.id, orjson.dumps(q.as_json()).decode(), q.opens_at, q.closes_at, "test", q.opens_at)
    finally:
        db.close()
    wait_for(lambda: {lasting, q.id} <= set(edge.live_ids()), 10, "both questions on /v1/live", interval=0.5)

    # a kiosk votes on the short one; the vote reaches the server and counts town-wide
    assert edge.http is not None
    vote = {"id": "v-live-1", "poll_id": q.id, "choice": "ja", "at": livewire.stamp(datetime.now(UTC))}
    assert edge.http.post("/feedback", json=vote).status_code == 201
    r = edge.http.get(f"/polls/{q.id}/results").json()
    assert r["counts"] == {"ja": 1, "nein": 0} and r["total"] == 1
    wait_for(
        lambda: listed(server)[q.id]["counts"] == {"ja": 1, "nein": 0}, 15, "the vote counted on the server"
    )
    wait_for(lambda: (edge.http.get(f"/polls/{q.id}/results").json()["town"] or {}).get("total") == 1, 10,
             "the town total back on the agent", interval=0.5)  # fmt: skip

    # it closes by itself: gone from the agent, listed as closed with its count on the server
    wait_for(lambda: q.id not in edge.live_ids(), 15, "the short question closing by its time", interval=0.5)
    shown = listed(server)[q.id]
    assert shown["state"] == "closed" and shown["total"] == 1

    # the server goes away and the agent restarts without it: the open question is still served
    server.kill(signal.SIGTERM)
    edge.stop()
    edge.start()
    assert edge.live_ids() == [lasting]
    assert edge.live()["updated_at"] is not None
