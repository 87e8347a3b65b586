"""Heartbeats, the admin endpoints and the health check, on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip

import orjson
from fastapi.testclient import TestClient

from a2d.syncwire import API, Heartbeat, heartbeat_path
from a2d.timeutil import utc_now
from sync_server.db import Database
from sync_server.registry import hash_token

from .conftest import ADMIN_TOKEN, add_device, bearer


def beat(uptime: float) -> dict[str, object]:
    return Heartbeat(
        versions={"a2d": "0.1.0"}, uptime_s=uptime, disk_free_bytes=12_000_000_000,
        outbox={"uplink": 3, "feedback": 0}, last_sync_at="2026-06-02T08:15:31.000000Z",
    ).as_dict()  # fmt: skip


def test_a_heartbeat_is_kept_as_the_latest_with_a_bounded_history(client: TestClient, db: Database) -> None:
    device, token = add_device(db, "edge-1")
    for uptime in range(1, 6):
        r = client.post(heartbeat_path(device), json=beat(uptime), headers=bearer(token))
        assert r.status_code == 204 and r.content == b""
    latest = client.get(f"{API}/admin/heartbeats", headers=bearer(ADMIN_TOKEN)).json()["heartbeats"]
    assert len(latest) == 1
    assert latest[0]["device_id"] == device and latest[0]["uptime_s"] == 5
    assert latest[0]["outbox"] == {"uplink": 3, "feedback": 0} and latest[0]["received_at"].endswith("Z")
    history = client.get(f"{API}/admin/devices/{device}/heartbeats", headers=bearer(ADMIN_TOKEN)).json()
    assert [h["uptime_s"] for h in history["heartbeats"]] == [5, 4, 3]  # the fixture keeps 3
    missing = client.get(f"{API}/admin/devices/nobody/heartbeats", headers=bearer(ADMIN_TOKEN))
    assert missing.status_code == 404


def test_a_gzip_heartbeat_is_accepted(client: TestClient, db: Database) -> None:
    device, token = add_device(db, "edge-1")
    raw = gzip.compress(orjson.dumps(beat(9.5)))
    r = client.post(
        heartbeat_path(device), content=raw, headers={**bearer(token), "Content-Encoding": "gzip"}
    )
    assert r.status_code == 204
    assert db.latest_heartbeats()[0].device_id == device


def test_bad_heartbeats_and_auth(client: TestClient, db: Database) -> None:
    (a, ta), (_, tb) = add_device(db, "edge-a"), add_device(db, "edge-b")
    late = b'{"uptime_s": 1, "disk_free_bytes": 1, "now": "' + b"9" * 41 + b'"}'
    for bad in (b"[]", b"{}", b'{"uptime_s": "long", "disk_free_bytes": 1}', b"{nope",
                b'{"uptime_s": 1, "disk_free_bytes": 1, "now": 5}', late):  # fmt: skip
        assert client.post(heartbeat_path(a), content=bad, headers=bearer(ta)).status_code == 400, bad
    assert client.post(heartbeat_path(a), json=beat(1)).status_code == 401
    assert client.post(heartbeat_path(a), json=beat(1), headers=bearer(tb)).status_code == 403
    big = {**beat(1), "outbox": {f"stream-{i}": i for i in range(10_000)}}
    assert client.post(heartbeat_path(a), json=big, headers=bearer(ta)).status_code == 413
    assert db.latest_heartbeats() == []


def test_admin_endpoints_need_the_admin_token(client: TestClient, db: Database) -> None:
    device, token = add_device(db, "Bürgerbüro Süd")
    assert device == "buergerbuero-sued"
    for path in (f"{API}/admin/devices", f"{API}/admin/heartbeats"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers=bearer(token)).status_code == 401
        assert client.get(path, headers=bearer(ADMIN_TOKEN)).status_code == 200
    stored = "stored-admin-token-" + "c" * 30
    db.set_admin_token_hash(hash_token(stored), utc_now())
    devices = client.get(f"{API}/admin/devices", headers=bearer(stored)).json()["devices"]
    assert [(d["device_id"], d["name"], d["active"]) for d in devices] == [(device, "Bürgerbüro Süd", True)]
    assert "token_hash" not in devices[0] and token not in str(devices)


def test_healthz(client: TestClient) -> None:
    r = client.get(f"{API}/healthz")
    assert r.status_code == 200 and r.json() == {"ok": True}


def test_healthz_is_503_when_the_database_is_gone(db: Database, db_url: str) -> None:
    from sync_server.app import create_app
    from sync_server.config import ServerSettings

    with TestClient(create_app(ServerSettings(db=db_url), db)) as c:
        db.close()
        r = c.get(f"{API}/healthz")
        assert r.status_code == 503 and r.json()["ok"] is False
