"""The admin API that `a2d provision` drives: register, revoke and re-key devices, list keys and last
seen, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from a2d import bundlekeys
from a2d.syncwire import API, heartbeat_path, records_path
from sync_server.db import Database, SigningKey

from .conftest import ADMIN_TOKEN, batch, bearer, stored_ids
from .test_heartbeat_admin import beat

ADMIN = bearer(ADMIN_TOKEN)


def register(client: TestClient, name: str, site: str = "rathaus", role: str = "edge+kiosk") -> dict:
    r = client.post(f"{API}/admin/devices", json={"name": name, "site": site, "role": role}, headers=ADMIN)
    assert r.status_code == 201, r.text
    return r.json()


def test_a_registered_device_uploads_with_its_token_until_it_is_revoked(
    client: TestClient, db: Database
) -> None:
    dev = register(client, "Edge Rathaus 1")
    assert dev["device_id"] == "edge-rathaus-1" and dev["role"] == "edge+kiosk" and len(dev["token"]) > 40
    assert register(client, "Edge Rathaus 1")["device_id"] == "edge-rathaus-1-2"  # ids never shared
    device, token = dev["device_id"], dev["token"]
    assert client.post(records_path(device), json=batch("a", 3), headers=bearer(token)).status_code == 200
    r = client.post(f"{API}/admin/devices/{device}/revoke", headers=ADMIN)
    assert r.status_code == 200 and r.json() == {"device_id": device, "revoked": True}
    assert client.post(records_path(device), json=batch("b", 3), headers=bearer(token)).status_code == 401
    assert client.post(heartbeat_path(device), json=beat(1), headers=bearer(token)).status_code == 401
    assert stored_ids(db, device) == ["a:0", "a:1", "a:2"]
    listed = {d["device_id"]: d for d in client.get(f"{API}/admin/devices", headers=ADMIN).json()["devices"]}
    assert listed[device]["active"] is False and listed[device]["site"] == "rathaus"
    assert listed[device]["role"] == "edge+kiosk"


def test_a_new_token_replaces_the_old_and_reinstates(client: TestClient, db: Database) -> None:
    dev = register(client, "edge-2")
    device = dev["device_id"]
    client.post(f"{API}/admin/devices/{device}/revoke", headers=ADMIN)
    r = client.post(f"{API}/admin/devices/{device}/token", headers=ADMIN)
    assert r.status_code == 200 and r.json()["token"] != dev["token"]
    new = r.json()["token"]
    assert client.post(records_path(device), json=batch("c", 1), headers=bearer(new)).status_code == 200
    assert (
        client.post(records_path(device), json=batch("d", 1), headers=bearer(dev["token"])).status_code == 401
    )
    assert stored_ids(db, device) == ["c:0"]


def test_last_seen_is_the_latest_heartbeat(client: TestClient) -> None:
    dev = register(client, "edge-3", role="edge")
    listed = client.get(f"{API}/admin/devices", headers=ADMIN).json()["devices"]
    assert listed[0]["last_seen"] is None
    assert (
        client.post(heartbeat_path(dev["device_id"]), json=beat(7), headers=bearer(dev["token"])).status_code
        == 204
    )
    listed = client.get(f"{API}/admin/devices", headers=ADMIN).json()["devices"]
    beats = client.get(f"{API}/admin/heartbeats", headers=ADMIN).json()["heartbeats"]
    assert listed[0]["last_seen"] == beats[0]["received_at"] and listed[0]["last_seen"].endswith("Z")


def test_bad_registrations_and_strangers_are_refused(client: TestClient, db: Database) -> None:
    url = f"{API}/admin/devices"
    for body in ({"name": ""}, {"name": "x\n"}, {"name": "x" * 201}, {"name": "ok", "site": "Rat Haus"},
                 {"name": "ok", "role": "toaster"}, {"name": 5}, []):  # fmt: skip
        assert client.post(url, json=body, headers=ADMIN).status_code == 400, body
    assert client.post(url, content=b"{nope", headers=ADMIN).status_code == 400
    assert client.post(url, json={"name": "x" * 70_000}, headers=ADMIN).status_code == 413
    assert client.post(url, json={"name": "ok"}).status_code == 401
    assert client.post(url, json={"name": "ok"}, headers=bearer("guess")).status_code == 401
    assert client.post(f"{API}/admin/devices/nobody/revoke", headers=ADMIN).status_code == 404
    assert client.post(f"{API}/admin/devices/nobody/revoke", json={}, headers=ADMIN).status_code == 404
    assert client.post(f"{API}/admin/devices/nobody/revoke", json={"x": 1}, headers=ADMIN).status_code == 400
    assert client.post(f"{API}/admin/devices/nobody/token", headers=ADMIN).status_code == 404
    dev = register(client, "edge-4")  # a device's own token is no admin token
    assert client.post(url, json={"name": "ok"}, headers=bearer(dev["token"])).status_code == 401
    assert [d.device_id for d in db.devices()] == ["edge-4"]


def test_the_keys_route_lists_the_active_signing_keys(client: TestClient, db: Database) -> None:
    key, old = (bundlekeys.public_key_text(bundlekeys.new_private_key()) for _ in range(2))
    db.add_signing_key(SigningKey(bundlekeys.key_id(key), key, "2026-06-02T08:00:00.000000Z"))
    db.add_signing_key(
        SigningKey(bundlekeys.key_id(old), old, "2020-01-01T00:00:00Z", "2020-06-01T00:00:00Z")
    )
    keys = client.get(f"{API}/admin/keys", headers=ADMIN).json()["keys"]
    assert [k["public_key"] for k in keys] == [key]
    assert client.get(f"{API}/admin/keys").status_code == 401


def test_a_token_never_starts_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    """A token on a command line (`--admin-token T`) that began with "-" would be taken for an option."""
    from sync_server import registry

    monkeypatch.setattr(registry.secrets, "token_urlsafe", lambda n: "-" + "x" * 42)
    token = registry.new_token()
    assert not token.startswith("-") and len(token) == 44 and token.endswith("-" + "x" * 42)
