"""The running agent (in this process, with a real Mosquitto) while its database cannot grow: it stays
connected and responsive, answers kiosk writes with 503 and reads as before, and stores every
QoS 1 uplink once when there is room again."""

from __future__ import annotations

import random
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from a2d.localapi import Vote
from devtools.uplinks import chirpstack_up, make_devices
from edge_agent import config as edge_config
from edge_agent import queries, statefile
from edge_agent.localapi import votes
from edge_agent.localapi.server import HttpError
from tests.conftest import Mosquitto, edge_toml, mqtt_agent, wait_for
from tests.test_agent_mqtt import connected, stored
from tests.test_diskfull import fill_up, make_room

NOW = "2026-06-10T12:00:00Z"


def test_the_agent_stays_up_holds_and_resumes_when_its_database_is_full(
    mosquitto: Mosquitto, publisher, tmp_path: Path
) -> None:
    # keep-alive of 1 s: an agent that stopped reading its socket would lose the connection at once
    cfg = edge_config.load(
        edge_toml(tmp_path, mosquitto.port, extra="keepalive = 1\n[store]\nfull_check_s = 0.2\n")
    )
    agent = mqtt_agent(cfg)
    agent.start()
    try:
        src = agent.sources[0]
        wait_for(lambda: connected(cfg.db_path), what="the subscription")
        dev = make_devices(1)[0]
        rng = random.Random(4)

        def publish(n: int) -> None:
            for _ in range(n):
                at = datetime.now(UTC)
                publisher.publish(*chirpstack_up(dev, dev.payload(at), at, rng), qos=1)
                dev.f_cnt += 1

        publish(20)
        wait_for(lambda: stored(cfg.db_path) == 20, what="the first 20 uplinks")
        assert agent.api is not None
        api = agent.api.context
        api.commit(lambda db: votes.store(db, Vote("v-1", "kiosk-1", "poll", "3", NOW), NOW))

        agent.loop.call(lambda: fill_up(agent.store)).result(5)
        publish(300)
        wait_for(lambda: agent.ingest.full, what="the agent to find its database full")
        connection, before = src._conn, stored(cfg.db_path)  # (a few may have fitted into the last pages)
        wait_for(lambda: agent.loop.call(lambda: agent.ingest.pending).result(5) > 0, what="held messages")
        # while full: the loop answers at once, the kiosk's write is refused, its reads work
        for _ in range(3):
            assert agent.loop.call(lambda: 42).result(1) == 42
        with pytest.raises(HttpError) as refused:
            api.commit(lambda db: votes.store(db, Vote("v-2", "kiosk-1", "poll", "3", NOW), NOW))
        assert refused.value.status == 503
        with api.reader() as db:
            assert votes.counts(db, "poll") == {"3": 1}
        port = agent.api.port
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/healthz", timeout=5) as r:  # noqa: S310
            assert r.status == 200
        # four keep-alive periods later the connection is the same one, and nothing more was stored
        end = datetime.now(UTC).timestamp() + 4
        wait_for(lambda: datetime.now(UTC).timestamp() > end, timeout=10, what="four keep-alive periods")
        assert src.connected and src._conn == connection and stored(cfg.db_path) == before
        st = queries.status(agent.store.db, state=statefile.read(cfg.state_path))
        assert st["agent"]["running"] and "no space left" in st["full"]["reason"]

        agent.loop.call(lambda: make_room(agent.store)).result(5)
        wait_for(lambda: stored(cfg.db_path) == 320 + 1, timeout=30, what="all 320 uplinks once")
        wait_for(lambda: not agent.ingest.full, what="the recovery")
        assert stored(cfg.db_path, "SELECT COUNT(DISTINCT f_cnt) FROM events WHERE kind = 'up'") == 320
        api.commit(lambda db: votes.store(db, Vote("v-2", "kiosk-1", "poll", "3", NOW), NOW))
    finally:
        agent.stop()
