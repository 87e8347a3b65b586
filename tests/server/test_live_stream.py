"""The device's live stream from a real ``a2d server run``: changes made by another process arrive
within about a second, streams are bounded per device, and a server with open streams stops at once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from sync_server.db import Database

from .conftest import PROJECT, ServerProcess, add_device, bearer


class Listener(threading.Thread):
    """Reads one device's stream and keeps every ``live`` event (its arrival time too)."""

    def __init__(self, base: str, device: str, token: str, polls: str = "") -> None:
        super().__init__(name=f"listener-{device}", daemon=True)
        self.url = f"{base}/api/v1/devices/{device}/live" + (f"?polls={polls}" if polls else "")
        self.headers = bearer(token)
        self.events: list[tuple[float, dict[str, Any]]] = []
        self.status: int | None = None
        self.ended = threading.Event()
        self.opened = threading.Event()

    def run(self) -> None:
        try:
            with httpx.stream("GET", self.url, headers=self.headers, timeout=httpx.Timeout(5, read=60)) as r:
                self.status = r.status_code
                self.opened.set()
                for line in r.iter_lines():
                    if line.startswith("data: "):
                        self.events.append((time.monotonic(), json.loads(line[6:])))
        except httpx.HTTPError:
            pass
        finally:
            self.opened.set()
            self.ended.set()


def wait(cond: Any, what: str, timeout: float = 10) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def cli(db_url: str, *args: str) -> str:
    r = subprocess.run([sys.executable, "-m", "a2d.cli", "server", *args, "--db", db_url], cwd=PROJECT,
                       capture_output=True, text=True, check=False)  # fmt: skip
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_the_stream_follows_other_processes_and_is_bounded(
    db: Database, db_url: str, tmp_path: Path, servers: list[ServerProcess]
) -> None:
    bb, bb_token = add_device(db, "edge-bb", site="buergerbuero")
    ov, ov_token = add_device(db, "edge-ov", site="ortsverwaltung")
    server = ServerProcess(db_url, tmp_path / "server.log")
    servers.append(server)
    assert httpx.get(f"{server.base}/api/v1/devices/{bb}/live", timeout=5).status_code == 401
    assert (
        httpx.get(f"{server.base}/api/v1/devices/{bb}/live", headers=bearer(ov_token), timeout=5).status_code
        == 403
    )

    a, b = Listener(server.base, bb, bb_token, "zufriedenheit"), Listener(server.base, ov, ov_token)
    for x in (a, b):
        x.start()
    wait(lambda: a.events and b.events, "the first snapshot on both streams")
    assert a.events[0][1]["questions"] == [] and b.events[0][1]["questions"] == []

    qid = cli(db_url, "poll", "live", "--question", "Neue Bänke?", "--answers", "Ja,Nein", "--sites",
              "buergerbuero").splitlines()[0]  # fmt: skip
    sent = time.monotonic()
    wait(lambda: len(a.events) >= 2, "the question on the buergerbuero stream", 5)
    got_at, snap = a.events[1]
    assert got_at - sent < 2.5, f"the question arrived {got_at - sent:.1f} s after it was stored"
    assert [q["id"] for q in snap["questions"]] == [qid]
    assert snap["town"][qid]["counts"] == {"ja": 0, "nein": 0}
    time.sleep(1.5)  # the other site's stream must stay quiet: nothing changed for it
    assert len(b.events) == 1

    # a device holds two streams at most; a third is refused with 429
    extra = Listener(server.base, bb, bb_token)
    extra.start()
    wait(lambda: extra.status is not None, "the second stream of the device")
    assert extra.status == 200
    third = httpx.get(f"{server.base}/api/v1/devices/{bb}/live", headers=bearer(bb_token), timeout=5)
    assert third.status_code == 429 and "Retry-After" in third.headers

    cli(db_url, "poll", "close", qid)
    wait(lambda: len(a.events) >= 3 and a.events[-1][1]["questions"] == [], "the closed question gone", 5)

    # a server with open streams stops promptly on SIGTERM (not after uvicorn's graceful timeout)
    started = time.monotonic()
    server.kill(signal.SIGTERM)
    took = time.monotonic() - started
    assert took < 5, f"the server took {took:.1f} s to stop with open streams"
    for x in (a, b, extra):
        assert x.ended.wait(5)
