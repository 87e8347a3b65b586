"""Uploads through the app in-process, on SQLite and PostgreSQL: auth, idempotency, gzip, bounds."""

from __future__ import annotations

import gzip
import json

import orjson
from fastapi.testclient import TestClient

from a2d.syncwire import MAX_BATCH_RECORDS, MAX_BODY_BYTES, records_path
from sync_server.db import Database

from .conftest import add_device, batch, bearer, stored_ids


def test_a_batch_is_stored_and_acknowledged(client: TestClient, db: Database) -> None:
    device, token = add_device(db, "edge-rathaus-1")
    body = batch("cs:up", 50)
    r = client.post(records_path(device), json=body, headers=bearer(token))
    assert r.status_code == 200, r.text
    assert r.json() == {"acked": [f"cs:up:{i}" for i in range(50)]}
    stored = list(db.records(device))
    assert [s.record_id for s in stored] == [f"cs:up:{i}" for i in range(50)]
    assert json.loads(stored[7].payload) == body["records"][7]["payload"]  # type: ignore[index]
    assert stored[0].stream == "uplink" and stored[0].ts == "2026-06-02T08:15:31.412883Z"
    assert stored[0].received_at.endswith("Z") and stored[0].device_id == device


def test_the_same_batch_twice_is_stored_once_and_acked_twice(client: TestClient, db: Database) -> None:
    device, token = add_device(db, "edge-1")
    first = client.post(records_path(device), json=batch("r", 20), headers=bearer(token))
    again = client.post(records_path(device), json=batch("r", 30), headers=bearer(token))
    assert first.json()["acked"] == [f"r:{i}" for i in range(20)]
    assert again.json()["acked"] == [f"r:{i}" for i in range(30)]
    assert sorted(stored_ids(db)) == sorted(f"r:{i}" for i in range(30))


def test_a_duplicate_inside_one_batch_is_stored_once(client: TestClient, db: Database) -> None:
    device, token = add_device(db, "edge-1")
    body = batch("d", 3)
    body["records"].append(body["records"][0])  # type: ignore[attr-defined]
    assert client.post(records_path(device), json=body, headers=bearer(token)).status_code == 200
    assert sorted(stored_ids(db)) == ["d:0", "d:1", "d:2"]


def test_the_same_record_id_on_two_devices_is_two_records(client: TestClient, db: Database) -> None:
    (a, ta), (b, tb) = add_device(db, "edge-a"), add_device(db, "edge-b")
    client.post(records_path(a), json=batch("x", 2), headers=bearer(ta))
    client.post(records_path(b), json=batch("x", 2), headers=bearer(tb))
    assert stored_ids(db, a) == ["x:0", "x:1"] and stored_ids(db, b) == ["x:0", "x:1"]


def test_an_empty_batch_is_fine(client: TestClient, db: Database) -> None:
    device, token = add_device(db, "edge-1")
    r = client.post(records_path(device), json={"records": []}, headers=bearer(token))
    assert r.status_code == 200 and r.json() == {"acked": []}


def test_gzip_bodies_are_inflated(client: TestClient, db: Database) -> None:
    device, token = add_device(db, "edge-1")
    raw = gzip.compress(orjson.dumps(batch("gz", 1000)))
    headers = {**bearer(token), "Content-Encoding": "gzip", "Content-Type": "application/json"}
    r = client.post(records_path(device), content=raw, headers=headers)
    assert r.status_code == 200, r.text
    assert len(r.json()["acked"]) == 1000 and len(stored_ids(db)) == 1000


def test_bad_gzip_is_400_and_other_encodings_415(client: TestClient, db: Database) -> None:
    device, token = add_device(db, "edge-1")
    whole = gzip.compress(orjson.dumps(batch("gz", 10)))
    for raw in (whole[: len(whole) // 2], b"not gzip at all", b""):
        r = client.post(
            records_path(device), content=raw, headers={**bearer(token), "Content-Encoding": "gzip"}
        )
        assert r.status_code == 400, (raw[:10], r.text)
    r = client.post(records_path(device), content=whole, headers={**bearer(token), "Content-Encoding": "br"})
    assert r.status_code == 415
    assert stored_ids(db) == []


def test_a_body_over_the_limit_is_413(client: TestClient, db: Database) -> None:
    device, token = add_device(db, "edge-1")
    filler = "x" * 1000
    body = {"records": [{"record_id": f"big:{i}", "stream": "uplink", "ts": "t", "payload": {"f": filler}}
                        for i in range(MAX_BODY_BYTES // 1000 + 10)]}  # fmt: skip
    raw = orjson.dumps(body)
    assert len(raw) > MAX_BODY_BYTES
    r = client.post(records_path(device), content=raw, headers=bearer(token))
    assert r.status_code == 413
    assert stored_ids(db) == []


def test_a_gzip_bomb_is_413(client: TestClient, db: Database) -> None:
    device, token = add_device(db, "edge-1")
    bomb = b'{"records": [], "pad": "' + b" " * (MAX_BODY_BYTES + 10) + b'"}'
    raw = gzip.compress(bomb)
    assert len(raw) < 100_000
    r = client.post(records_path(device), content=raw, headers={**bearer(token), "Content-Encoding": "gzip"})
    assert r.status_code == 413


def test_too_many_records_is_413(client: TestClient, db: Database) -> None:
    device, token = add_device(db, "edge-1")
    body = {"records": [{"record_id": str(i), "stream": "s", "ts": "t", "payload": {}}
                        for i in range(MAX_BATCH_RECORDS + 1)]}  # fmt: skip
    assert client.post(records_path(device), json=body, headers=bearer(token)).status_code == 413
    assert stored_ids(db) == []


def test_malformed_bodies_are_400_and_store_nothing(client: TestClient, db: Database) -> None:
    device, token = add_device(db, "edge-1")
    good = {"record_id": "a", "stream": "uplink", "ts": "2026-06-02T08:15:31Z", "payload": {}}
    bodies = [
        b"{not json",
        b"[]",
        b'{"records": {}}',
        orjson.dumps({"records": [good, {**good, "record_id": ""}]}),
        orjson.dumps({"records": [good, {**good, "payload": [1]}]}),
        orjson.dumps({"records": [good, {**good, "stream": None}]}),
        orjson.dumps({"records": [good, {**good, "ts": 5}]}),
        orjson.dumps({"records": [good, {**good, "record_id": "nul\u0000"}]}),
        orjson.dumps({"records": [good, "a record"]}),
        b'{"records": [], "x": "\\ud800"}',
    ]
    for raw in bodies:
        r = client.post(records_path(device), content=raw, headers=bearer(token))
        assert r.status_code == 400, (raw, r.text)
        assert r.json()["detail"]
    assert stored_ids(db) == []


def test_auth_no_token_wrong_token_other_device(client: TestClient, db: Database) -> None:
    (a, ta), (_, tb) = add_device(db, "edge-a"), add_device(db, "edge-b")
    body = batch("auth", 2)
    assert client.post(records_path(a), json=body).status_code == 401
    r = client.post(records_path(a), json=body, headers=bearer("not-a-token"))
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert (
        client.post(records_path(a), json=body, headers={"Authorization": f"Basic {ta}"}).status_code == 401
    )
    assert client.post(records_path(a), json=body, headers=bearer(tb)).status_code == 403
    assert client.post(records_path("no-such-device"), json=body, headers=bearer(tb)).status_code == 403
    assert client.post(records_path("no-such-device"), json=body, headers=bearer("x")).status_code == 401
    assert stored_ids(db) == []


def test_revoked_and_rotated_tokens(client: TestClient, db: Database) -> None:
    device, old = add_device(db, "edge-1")
    body = batch("rot", 1)
    assert db.revoke_device(device, "2026-06-02T09:00:00.000000Z")
    assert client.post(records_path(device), json=body, headers=bearer(old)).status_code == 401
    new = "rotated-token-" + "b" * 30
    from sync_server.registry import hash_token

    assert db.set_device_token(device, hash_token(new), "2026-06-02T10:00:00.000000Z")
    assert client.post(records_path(device), json=body, headers=bearer(old)).status_code == 401
    assert client.post(records_path(device), json=body, headers=bearer(new)).status_code == 200
    assert stored_ids(db) == ["rot:0"]
