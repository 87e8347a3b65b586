"""The sync client against a server that misbehaves on purpose: refusals, server errors, a hung
upload. A real server never refuses ours or fails on one record, so an in-process HTTP handler plays
that server; every other sync test uses the real one."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from a2d import bundles as a2d_bundles
from a2d import timeutil
from a2d.bundlekeys import TrustedKeys
from a2d.bundles import Identity
from edge_agent import outbox
from edge_agent.bundles import DeviceTrust
from edge_agent.store import Store, open_reader
from edge_agent.sync import SyncClient, SyncSettings
from tests.conftest import wait_for
from tests.test_sync import queue_events

Fault = Callable[[list[dict[str, Any]]], httpx.Response | None]


class FakeServer:
    """Plays the sync server: holds what it acknowledges, counts heartbeats and bundle requests.
    ``fault(records)`` may answer a records upload instead (``None``: take the batch)."""

    def __init__(self, fault: Fault | None = None) -> None:
        self.fault = fault
        self.held: list[str] = []  # every acknowledged record, in order, repeats included
        self.posts = 0
        self.beats = 0
        self.last_beat: dict[str, Any] = {}
        self.bundle_gets = 0
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/heartbeat"):
            with self.lock:
                self.beats += 1
                self.last_beat = json.loads(request.content)
            return httpx.Response(204)
        if "/bundles/" in path:
            with self.lock:
                self.bundle_gets += 1
            return httpx.Response(404)
        body = request.content
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        records = json.loads(body)["records"]
        with self.lock:
            self.posts += 1
        answer = self.fault(records) if self.fault else None
        if answer is not None:
            return answer
        with self.lock:
            self.held.extend(r["record_id"] for r in records)
        return httpx.Response(200, json={"acked": [r["record_id"] for r in records]})


def status(db_path: Path) -> dict[str, dict[str, Any]]:
    db = open_reader(db_path)
    try:
        return {s["stream"]: s for s in outbox.status(db)}
    finally:
        db.close()


def refused_keys(db_path: Path) -> list[str]:
    db = open_reader(db_path)
    try:
        rows = db.execute("SELECT e.key FROM sync_refused r JOIN events e ON e.id = r.event_id ORDER BY e.id")
        return [r[0] for r in rows]
    finally:
        db.close()


@contextmanager
def running(db_path: Path, server: FakeServer, **overrides: Any) -> Iterator[SyncClient]:
    """A sync client on ``db_path`` talking to ``server``; the test's lock plays the writer thread."""
    store = Store(db_path)
    lock = threading.Lock()

    def write(fn: Callable[[Any], Any]) -> Future[Any]:
        f: Future[Any] = Future()
        with lock, store.atomic() as db:
            f.set_result(fn(db))
        return f

    settings = SyncSettings(**{"url": "http://sync.test", "token": "t", "interval_s": 0.05, "batch_records": 10,
                               "max_records_per_s": 0, "heartbeat_s": 3600, **overrides})  # fmt: skip
    client = SyncClient(settings, "edge-1", db_path, write, transport=httpx.MockTransport(server))
    client.start()
    try:
        yield client
    finally:
        client.stop()
        store.close()


def failing_for(poisoned: set[str], status: int = 500, detail: str = "boom", **headers: str) -> Fault:
    def fault(records: list[dict[str, Any]]) -> httpx.Response | None:
        if any(r["record_id"] in poisoned for r in records):
            return httpx.Response(status, json={"detail": detail}, headers=headers)
        return None

    return fault


def test_a_refused_record_is_set_aside_and_the_stream_goes_on(tmp_path: Path) -> None:
    db_path = tmp_path / "edge.db"
    ids = queue_events(db_path, 30)
    server = FakeServer(failing_for({ids[12]}, 422, "records[0] (record_id 'x'): the payload holds a NUL"))
    with running(db_path, server):
        wait_for(lambda: len(set(server.held)) == 29 and status(db_path)["uplink"]["pending"] == 0,
                 what="every record but the refused one")  # fmt: skip
    assert set(server.held) == set(ids) - {ids[12]}
    st = status(db_path)["uplink"]
    assert st["pending"] == 0 and st["refused"] == 1
    assert st["refused_reason"] == "HTTP 422: records[0] (record_id 'x'): the payload holds a NUL"
    assert refused_keys(db_path) == [ids[12]]  # kept here, not lost


def test_a_record_that_keeps_failing_alone_with_500_is_set_aside_and_the_rest_goes_through(
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "edge.db"
    ids = queue_events(db_path, 30)
    poison = ids[13]
    server = FakeServer(failing_for({poison}, 500, "the database refused \x1b[31mit"))
    with running(db_path, server):
        wait_for(lambda: status(db_path)["uplink"]["pending"] == 0, what="the stream to get past the poison")
    assert set(server.held) == set(ids) - {poison}
    st = status(db_path)["uplink"]
    assert st["refused"] == 1 and st["refused_reason"] == "HTTP 500: the database refused [31mit"
    assert refused_keys(db_path) == [poison]


def test_the_last_pending_record_failing_alone_waits_for_another_to_go_through(tmp_path: Path) -> None:
    db_path = tmp_path / "edge.db"
    ids = queue_events(db_path, 5)
    poison = ids[-1]
    server = FakeServer(failing_for({poison}))
    with running(db_path, server):
        wait_for(lambda: set(server.held) == set(ids[:4]), what="the four before it")
        n = server.posts
        wait_for(lambda: server.posts >= n + 4, what="more tries of the last one")
        assert status(db_path)["uplink"]["refused"] == 0  # nothing proves the server works yet
        later = queue_events(db_path, 3, start=100)
        wait_for(lambda: status(db_path)["uplink"]["pending"] == 0, what="the next records to go through")
    assert set(server.held) == set(ids[:4]) | set(later)
    assert refused_keys(db_path) == [poison]


@pytest.mark.parametrize("answer", ["500 for all", "503 with Retry-After", "502"])
def test_a_server_failing_as_a_whole_sets_nothing_aside(tmp_path: Path, answer: str) -> None:
    db_path = tmp_path / "edge.db"
    ids = queue_events(db_path, 30)
    status_code = int(answer[:3])
    headers = {"Retry-After": "1"} if "Retry-After" in answer else {}
    server = FakeServer(failing_for(set(ids), status_code, "down", **headers))
    with running(db_path, server):
        wait_for(lambda: server.posts >= 8, timeout=60, what="failed uploads")
        assert status(db_path)["uplink"]["refused"] == 0 and server.held == []
        server.fault = None  # the server heals
        wait_for(lambda: status(db_path)["uplink"]["pending"] == 0, timeout=60, what="the outbox to drain")
    assert sorted(set(server.held)) == sorted(ids) and refused_keys(db_path) == []


def test_one_stream_failing_does_not_hold_back_another(tmp_path: Path) -> None:
    """health sorts before uplink: a health batch that keeps failing must not stop the uplinks."""
    db_path = tmp_path / "edge.db"
    uplinks = queue_events(db_path, 20)
    store = Store(db_path)
    with store.atomic() as db:
        db.executemany(
            "INSERT INTO events (key, source, kind, stream, received_at, stored_at) VALUES (?, 'cs', 'status',"
            " 'health', '2026-06-02T08:00:00.000000Z', '2026-06-02T08:00:00.000000Z')",
            [(f"cs:status:{i}",) for i in range(3)],
        )
    store.close()
    server = FakeServer(lambda records: httpx.Response(500) if records[0]["stream"] == "health" else None)
    with running(db_path, server, interval_s=1.0):
        wait_for(lambda: set(server.held) == set(uplinks), what="the uplinks to go through")
        assert status(db_path)["health"]["pending"] == 3


def test_heartbeats_and_bundle_checks_never_wait_on_a_hung_upload(tmp_path: Path) -> None:
    db_path = tmp_path / "edge.db"
    queue_events(db_path, 10)
    release = threading.Event()

    def hang(records: list[dict[str, Any]]) -> httpx.Response | None:
        release.wait(30)  # an upload that takes its time (a slow server, a long catch-up)
        return None

    server = FakeServer(hang)
    key = a2d_bundles.public_key_text(a2d_bundles.new_private_key())
    trust = DeviceTrust(TrustedKeys.configured([key]), Identity("edge-1"))
    with running(db_path, server, heartbeat_s=0.1, bundle_interval_s=0.1, trust=trust, timeout_s=60):
        try:
            wait_for(lambda: server.posts >= 1, what="the upload to start")
            beats, gets = server.beats, server.bundle_gets
            wait_for(lambda: server.beats >= beats + 5 and server.bundle_gets >= gets + 5, timeout=10,
                     what="heartbeats and bundle checks while the upload hangs")  # fmt: skip
            assert server.held == []  # the upload still hangs
        finally:
            release.set()


def test_a_heartbeat_carries_the_devices_own_clock(tmp_path: Path) -> None:
    """The server compares ``now`` with its own clock on arrival (the console's clock alert)."""
    server = FakeServer()
    with running(tmp_path / "edge.db", server, heartbeat_s=0.1):
        wait_for(lambda: server.beats >= 1, what="a heartbeat")
    sent = timeutil.parse(server.last_beat["now"])
    assert abs((datetime.now(UTC) - sent).total_seconds()) < 60


def test_status_shows_the_count_and_the_last_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from edge_agent import cli

    db_path = tmp_path / "data" / "edge.db"
    db_path.parent.mkdir()
    ids = queue_events(db_path, 12)
    server = FakeServer(failing_for({ids[3]}, 500, "cannot store it"))
    with running(db_path, server):
        wait_for(lambda: status(db_path)["uplink"]["pending"] == 0, what="the stream to get past the poison")
    cfg = tmp_path / "edge.toml"
    cfg.write_text(
        f'[device]\nid = "edge-1"\ndata_dir = "{db_path.parent}"\n[sync]\nurl = "http://127.0.0.1:9"\n'
    )
    assert cli.main(["status", "--config", str(cfg), "--json"]) == 0
    (st,) = json.loads(capsys.readouterr().out)["sync"]
    assert (st["stream"], st["refused"], st["refused_reason"]) == ("uplink", 1, "HTTP 500: cannot store it")
    assert cli.main(["status", "--config", str(cfg)]) == 0
    assert "1 record(s) refused by the server are kept here; the last at" in capsys.readouterr().out


def test_a_back_off_that_ended_does_not_make_the_client_spin(tmp_path: Path) -> None:
    import time

    settings = SyncSettings(url="http://sync.test", token="t", interval_s=10.0)
    client = SyncClient(settings, "edge-1", tmp_path / "edge.db", lambda fn: Future())  # type: ignore[arg-type,return-value]
    client._stream_retry_at = {"health": time.monotonic() - 5}  # its stream went meanwhile
    assert client._idle_wait() == 10.0
    client._stream_retry_at["uplink"] = time.monotonic() + 2
    assert 1.5 < client._idle_wait() <= 2.0
    client.stop()


@pytest.mark.parametrize("answer", ["all, in another order", "all but one", "a list, not an object"])
def test_only_a_batch_acknowledged_whole_moves_the_cursor(tmp_path: Path, answer: str) -> None:
    """The usual answer lists the records in the order sent; any other must still be read right."""
    db_path = tmp_path / "edge.db"
    queue_events(db_path, 10)

    def reply(records: list[dict[str, Any]]) -> httpx.Response:
        acked = [r["record_id"] for r in reversed(records)]
        if answer == "all but one":
            acked = acked[1:]
        return httpx.Response(200, json=acked if answer.startswith("a list") else {"acked": acked})

    server = FakeServer(reply)
    with running(db_path, server):
        if answer == "all, in another order":
            wait_for(lambda: status(db_path)["uplink"]["pending"] == 0, what="the outbox to drain")
            return
        wait_for(lambda: server.posts >= 3, timeout=60, what="uploads tried again")
        s = status(db_path)["uplink"]
        assert s["pending"] == 10 and s["refused"] == 0
        if answer.startswith("a list"):
            assert "no list of acknowledged records" in s["last_error"]
