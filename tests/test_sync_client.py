"""The sync client's handling of a record the server refuses (a real server never refuses ours,
so an in-process HTTP handler plays that server; every other sync test uses the real one)."""

from __future__ import annotations

import gzip
import json
from concurrent.futures import Future
from pathlib import Path

import httpx

from edge_agent import outbox
from edge_agent.store import Store
from edge_agent.sync import SyncClient, SyncSettings
from tests.conftest import wait_for
from tests.test_sync import queue_events


def test_a_refused_record_is_set_aside_and_the_stream_goes_on(tmp_path: Path) -> None:
    db_path = tmp_path / "edge.db"
    ids = queue_events(db_path, 30)
    poisoned = ids[12]
    held: list[str] = []

    def server(request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/records"):
            return httpx.Response(204)
        body = request.content
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        records = json.loads(body)["records"]
        if any(r["record_id"] == poisoned for r in records):
            return httpx.Response(400, json={"detail": "no"})
        held.extend(r["record_id"] for r in records if r["record_id"] not in held)
        return httpx.Response(200, json={"acked": [r["record_id"] for r in records]})

    store = Store(db_path)

    def write(fn) -> Future[None]:  # the test thread stands in for the writer thread
        f: Future[None] = Future()
        with store.atomic() as db:
            fn(db)
        f.set_result(None)
        return f

    settings = SyncSettings(url="http://sync.test", token="t", interval_s=0.05, batch_records=10,
                            max_records_per_s=0, heartbeat_s=3600)  # fmt: skip
    client = SyncClient(settings, "edge-1", db_path, write, transport=httpx.MockTransport(server))
    client.start()
    try:
        # the server has them all, and the client has recorded the last acknowledgement
        wait_for(lambda: len(held) == 29 and outbox.status(store.db)[0]["pending"] == 0,
                 what="every record but the refused one")  # fmt: skip
    finally:
        client.stop()
    assert sorted(held) == sorted(i for i in ids if i != poisoned)
    (st,) = outbox.status(store.db)
    assert st["pending"] == 0 and st["refused"] == 1 and "HTTP 400" in st["last_error"]
    refused = store.db.execute(
        "SELECT e.key FROM sync_refused r JOIN events e ON e.id = r.event_id"
    ).fetchall()
    assert [r[0] for r in refused] == [poisoned]  # kept here, not lost
    store.close()
