"""An answered vote is committed: ``kill -9`` of ``a2d edge run`` right after the 201 loses nothing."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import free_port, wait_port
from tests.edgeharness import pair_kiosk
from tests.localapi.conftest import edge_config_file

ROOT = Path(__file__).resolve().parents[2]


def test_votes_answered_201_survive_kill_9(tmp_path: Path) -> None:
    port = free_port()
    cfg = edge_config_file(tmp_path, device_id="edge-kill")
    kiosk = pair_kiosk(tmp_path / "data")
    env = {**os.environ, "A2D_API_PORT": str(port)}
    log = tmp_path / "agent.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "a2d.cli", "edge", "run", "--config", str(cfg)],
        cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    answered: list[str] = []
    try:
        wait_port(port, 30)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/v1", timeout=10, headers=kiosk.headers) as http:
            for i in range(25):
                vote_id = f"kill-{i}"
                r = http.post("/feedback", json={"id": vote_id, "kiosk_id": "k", "poll_id": "p", "choice": "3",
                                                 "at": "2026-06-02T08:00:00Z"})  # fmt: skip
                assert r.status_code == 201, r.text
                answered.append(vote_id)
            proc.send_signal(signal.SIGKILL)  # right after the last 201
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    with sqlite3.connect(tmp_path / "data" / "edge.db") as db:
        keys = [r[0] for r in db.execute("SELECT key FROM events WHERE stream = 'feedback' ORDER BY id")]
    assert keys == [f"vote:{v}" for v in answered]
