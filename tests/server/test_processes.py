"""Real `a2d server run` processes: a SIGKILL mid-upload loses nothing acknowledged; two processes
share one PostgreSQL."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from a2d.syncwire import records_path
from sync_server.db import Database, open_database

from .conftest import Postgres, ServerProcess, add_device, batch, bearer

BATCH = 2000


class Uploader(threading.Thread):
    """Upload numbered batches until told to stop or the server goes away; remembers what was acked."""

    def __init__(self, base: str, device: str, token: str, prefix: str) -> None:
        super().__init__(name=f"uploader-{prefix}")
        self.client = httpx.Client(base_url=base, headers=bearer(token), timeout=30)
        self.path = records_path(device)
        self.prefix = prefix
        self.acked: set[str] = set()
        self.sent = 0
        self.error: Exception | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                body = batch(f"{self.prefix}:{self.sent}", BATCH)
                self.sent += 1
                r = self.client.post(self.path, json=body)
                r.raise_for_status()
                self.acked.update(r.json()["acked"])
        except httpx.HTTPError as exc:
            self.error = exc
        finally:
            self.client.close()


def wait_for(condition: object, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.01)
    pytest.fail(f"timed out waiting for {what}")


def held(db_url: str) -> list[str]:
    db = open_database(db_url)
    try:
        return [r.record_id for r in db.records()]
    finally:
        db.close()


def test_sigkill_mid_upload_loses_nothing_acked(
    db: Database, db_url: str, tmp_path: Path, servers: list[ServerProcess]
) -> None:
    device, token = add_device(db, "edge-kill")
    server = ServerProcess(db_url, tmp_path / "server.log")
    servers.append(server)
    up = Uploader(server.base, device, token, "k")
    up.start()
    wait_for(lambda: len(up.acked) >= 3 * BATCH, "three acknowledged batches")
    server.kill(signal.SIGKILL)  # the uploader has a batch in flight or about to go
    up.join(30)
    assert not up.is_alive() and isinstance(up.error, httpx.TransportError)
    acked = set(up.acked)
    assert acked <= set(held(db_url)), "an acknowledged record is missing after SIGKILL"

    server.start()  # same port, same database: upload everything again, as an outbox would
    with httpx.Client(base_url=server.base, headers=bearer(token), timeout=30) as c:
        for n in range(up.sent):
            r = c.post(records_path(device), json=batch(f"k:{n}", BATCH))
            assert r.status_code == 200
    after = held(db_url)
    assert len(after) == len(set(after)) == up.sent * BATCH


def test_two_server_processes_share_one_postgresql(
    postgres: Postgres, tmp_path: Path, servers: list[ServerProcess]
) -> None:
    url = postgres.new_database()
    one = ServerProcess(url, tmp_path / "one.log")
    servers.append(one)
    two = ServerProcess(url, tmp_path / "two.log")  # migrates the same database again: nothing to do
    servers.append(two)
    db = open_database(url)
    try:
        (a, ta), (b, tb) = add_device(db, "edge-a"), add_device(db, "edge-b")
    finally:
        db.close()
    # edge-a's batches go through both servers at once (a retry racing its original), edge-b's through one
    uploaders = [
        Uploader(one.base, a, ta, "a"),
        Uploader(two.base, b, tb, "b"),
        Uploader(two.base, a, ta, "a"),
    ]
    for u in uploaders:
        u.start()
    wait_for(lambda: all(len(u.acked) >= 2 * BATCH for u in uploaders), "uploads through both servers")
    for u in uploaders:
        u.stop.set()
    for u in uploaders:
        u.join(30)
        assert u.error is None
    db = open_database(url)
    try:
        got_a = [r.record_id for r in db.records(a)]
        got_b = [r.record_id for r in db.records(b)]
    finally:
        db.close()
    assert len(got_a) == len(set(got_a)) and set(got_a) == uploaders[0].acked | uploaders[2].acked
    assert len(got_b) == len(set(got_b)) and set(got_b) == uploaders[1].acked
