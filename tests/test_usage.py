"""Kiosk usage statistics from the kiosk's client through a real agent and a real server process to
the open-data dataset: counters summed per site and day, a report sent twice counted once, small
counts left out, the dataset listed in the catalogue and DCAT-AP.de."""

from __future__ import annotations

import csv
import io
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from a2d.localapi import PREFIX, UsageReport
from kiosk.client import AgentClient
from tests.conftest import wait_for
from tests.test_live import Edge
from tests.test_sync import Server

DAY = "2026-06-02"


@pytest.fixture
def town(tmp_path: Path) -> Iterator[tuple[Server, Edge]]:
    server = Server(tmp_path)
    device, token = server.add_device("edge-rathaus", "rathaus")
    edge = Edge(tmp_path, f"http://127.0.0.1:{server.port}", device, token)
    edge.start()
    yield server, edge
    edge.stop()
    server.kill(signal.SIGTERM)


def _rows(base: str) -> dict[tuple[str, str, str], int]:
    r = httpx.get(f"{base}/api/v1/opendata/usage.json", params={"from": DAY, "to": DAY})
    assert r.status_code == 200, r.text
    return {(x["site"], x["metric"], x["item"]): x["count"] for x in r.json()["rows"] if x["day"] == DAY}


def test_usage_counters_go_from_the_kiosk_to_the_open_data_dataset(
    town: tuple[Server, Edge], tmp_path: Path
) -> None:
    server, edge = town
    assert edge.agent is not None and edge.agent.api is not None
    base = f"http://127.0.0.1:{server.port}"
    agent_url = edge.agent.api.url.removesuffix(PREFIX)
    client = AgentClient(agent_url, tmp_path / "kiosk", edge.kiosk.kiosk_id, discover=False,
                         token=edge.kiosk.token, interval_s=0.1)  # fmt: skip
    client.start()
    try:
        first = UsageReport("u-1", "", DAY, 7, {"home": 7, "service": 2}, {"de": 6, "fr": 1})
        client.usage(first)
        client.usage(first)  # sent again (e.g. the kiosk's outbox after a lost answer): counted once
        client.usage(UsageReport("u-2", "", DAY, 3, {"home": 3}, {"fr": 4}))  # after a kiosk restart
        assert client.flush(10), "the agent took the reports"
    finally:
        client.stop()

    want = {("rathaus", "sessions", ""): 10, ("rathaus", "screen", "home"): 10,
            ("rathaus", "language", "de"): 6, ("rathaus", "language", "fr"): 5}  # fmt: skip
    wait_for(lambda: _rows(base) == want, 15, "the usage totals in open data", interval=0.3)
    # ("screen", "service") is 2: below opendata.min_count (5), left out

    text = httpx.get(f"{base}/api/v1/opendata/usage.csv", params={"from": DAY, "to": DAY}).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0].keys() == {"day", "site", "metric", "item", "count", "licence", "attribution"}
    assert {(r["metric"], r["item"], r["count"]) for r in rows} == {
        ("language", "de", "6"), ("language", "fr", "5"), ("screen", "home", "10"), ("sessions", "", "10")
    }  # fmt: skip
    cat: dict[str, Any] = httpx.get(f"{base}/api/v1/opendata").json()
    assert "usage" in {d["name"] for d in cat["datasets"]}
    jsonld = httpx.get(f"{base}/opendata.jsonld").json()
    assert any(d["@id"].endswith("#usage") for d in jsonld["dcat:dataset"])
    assert httpx.get(f"{base}/api/v1/opendata/usage.json", params={"from": "kein"}).status_code == 400
