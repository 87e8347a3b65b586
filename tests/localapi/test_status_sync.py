"""``/v1/status`` against a real sync server: online, last sync, pending votes per stream; and the
vote itself reaching the server as a record of the ``feedback`` stream."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.conftest import wait_for
from tests.localapi.conftest import RunningApi
from tests.test_sync import Server

THIS_YEAR = {"from": "2026-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"}


def test_status_follows_the_sync_server(
    tmp_path: Path, api_factory: Callable[..., RunningApi], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("A2D_OPENDATA_MIN_COUNT", "1")  # publish even one vote (the default hides 1 to 4)
    server = Server(tmp_path)
    try:
        device_id, token = server.add_device("kiosk-edge")
        run = api_factory(
            f'[sync]\nurl = "http://127.0.0.1:{server.port}"\ntoken = "{token}"\ninterval_s = 0.2\n'
            "heartbeat_s = 1\ntimeout_s = 2\nmax_records_per_s = 0\n",
            device_id=device_id,
        )

        def status() -> dict:
            return run.http.get("/status").json()

        assert run.vote("up-1").status_code == 201

        def synced() -> bool:
            st = status()
            return st["pending"] == {"feedback": 0} and st["online"]

        wait_for(synced, what="the vote synced", interval=0.5)  # polls within the kiosk's rate limit
        st = status()
        assert st["device_id"] == device_id and st["last_sync"].endswith("Z")
        assert "vote:up-1" in server.record_ids(device_id)
        # the open-data feedback tally counts the kiosk's answer per poll and choice
        tallies = httpx.get(
            f"http://127.0.0.1:{server.port}/api/v1/opendata/feedback.json", params=THIS_YEAR
        ).json()
        rows = [r for r in tallies["rows"] if r["device_id"] == device_id]
        assert [(r["channel"], r["presses"], r["sensor_name"]) for r in rows] == [
            ("zufrieden:4", 1, "kiosk-eg")
        ]

        server.kill(signal.SIGKILL)
        # nothing waits for upload: the failing heartbeat alone turns the status offline
        wait_for(lambda: not status()["online"], what="status offline with an empty outbox", interval=0.5)
        assert status()["pending"] == {"feedback": 0}
        for i in range(3):
            assert run.vote(f"down-{i}").status_code == 201  # kiosks are answered while the server is away
        wait_for(lambda: not status()["online"], what="status offline", interval=0.5)
        st = status()
        assert st["pending"] == {"feedback": 3}
        assert st["last_sync"] is not None  # the last success is still known
    finally:
        server.kill(signal.SIGTERM)
