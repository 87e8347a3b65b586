"""Proof of display end to end: a kiosk client reports through the real local API, the agent's
heartbeat carries the report to a real sync server, and the admin devices list shows when the
screen last changed and raises and clears ``screen_frozen`` and ``kiosk_gone``.

The server runs with small settings (``server.display_stale_s``, ``server.display_gone_s``) so the
alerts come within seconds; the kiosk's reporter runs on a clock the test moves by hand.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from kiosk.client import AgentClient
from kiosk.displayproof import DisplayReporter, Picture, picture_hash
from tests.conftest import ManualClock, wait_for
from tests.edgeharness import pair_kiosk
from tests.localapi.conftest import RunningApi
from tests.test_sync import A2D, ROOT, Server


def picture(shade: int) -> Picture:
    return Picture(64, 36, bytes((shade, shade, shade, 255)) * (64 * 36))


def test_reports_reach_the_admin_list_and_raise_and_clear_both_alerts(
    tmp_path: Path, api_factory: Callable[..., RunningApi], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("A2D_SERVER_DISPLAY_STALE_S", "1.5")
    monkeypatch.setenv("A2D_SERVER_DISPLAY_GONE_S", "2")
    server = Server(tmp_path)
    client: AgentClient | None = None
    try:
        device_id, token = server.add_device("edge-display")
        admin = json.loads(server.cli("admin-token", "--json"))["admin_token"]
        run = api_factory(
            f'[sync]\nurl = "http://127.0.0.1:{server.port}"\ntoken = "{token}"\ninterval_s = 0.2\n'
            "heartbeat_s = 0.2\ntimeout_s = 2\n",
            device_id=device_id,
        )
        hall = pair_kiosk(run.data_dir, "kiosk-hall")
        assert run.agent.api is not None
        client = AgentClient(run.agent.api.url.removesuffix("/v1"), tmp_path / "kiosk", hall.kiosk_id, token=hall.token,
                             discover=False, interval_s=0.05, timeout=2)  # fmt: skip
        client.start()
        clock = ManualClock()
        reporter = DisplayReporter(client, clock, interval_s=0.5)

        def listing() -> dict[str, Any]:
            r = httpx.get(f"http://127.0.0.1:{server.port}/api/v1/admin/devices",
                          headers={"Authorization": f"Bearer {admin}"}, timeout=5)  # fmt: skip
            assert r.status_code == 200
            return dict(r.json())

        def shown() -> dict[str, Any] | None:
            device = next(d for d in listing()["devices"] if d["device_id"] == device_id)
            return next((x for x in device["displays"] if x["kiosk_id"] == "kiosk-hall"), None)

        def alerts() -> set[str]:
            return {a["alert"] for a in listing()["alerts"] if a["kiosk_id"] == "kiosk-hall"}

        def keep_reporting() -> None:
            """The kiosk is alive but draws nothing: a report every (manual) interval, same picture."""
            clock.advance(1)
            reporter.poll(lambda: None)

        reporter.frame("home", lambda: picture(200))
        wait_for(lambda: shown() is not None, what="the kiosk's display at the server", interval=0.1)
        first = shown()
        assert first is not None
        assert (first["page"], first["hash"], first["frames"]) == ("home", picture_hash(picture(200)), 1)
        assert first["screen_changed_at"].endswith("Z") and first["alerts"] == []
        # the agent's own view through its local API
        at_agent = run.http.get("/display").json()["displays"]
        assert [(d["kiosk_id"], d["hash"]) for d in at_agent] == [("kiosk-hall", first["hash"])]

        # nothing new on screen while the (hour-less) site should be open: screen_frozen
        wait_for(lambda: keep_reporting() or "screen_frozen" in alerts(), timeout=20, what="screen_frozen",
                 interval=0.1)  # fmt: skip
        out = subprocess.run(
            [*A2D, "provision", "list", "--server", f"http://127.0.0.1:{server.port}", "--admin-token", admin],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        row = next(line for line in out.stdout.splitlines() if line.startswith(device_id))
        assert "screen kiosk-hall:home changed " in row and "SCREEN_FROZEN" in row

        # a new picture: the alert clears, and the screen's change time moves on
        clock.advance(1)
        assert reporter.frame("home", lambda: picture(90)) is not None
        wait_for(lambda: not alerts(), timeout=10, what="screen_frozen cleared", interval=0.1)
        later = shown()
        assert later is not None and later["hash"] == picture_hash(picture(90))
        assert later["screen_changed_at"] > first["screen_changed_at"]

        # the kiosk stops reporting while the agent's heartbeats go on: kiosk_gone, not screen_frozen
        wait_for(lambda: alerts() == {"kiosk_gone"}, timeout=20, what="kiosk_gone", interval=0.2)
        clock.advance(1)
        reporter.frame("attract", lambda: picture(30))
        wait_for(lambda: not alerts(), timeout=10, what="kiosk_gone cleared", interval=0.1)

        # the agent goes silent: nothing is claimed about its kiosks (its heartbeat is stale)
        run.agent.stop()
        wait_for(
            lambda: not alerts() and shown() is not None, timeout=10, what="no alerts for a silent agent"
        )
    finally:
        if client is not None:
            client.stop()
        server.kill(signal.SIGTERM)
