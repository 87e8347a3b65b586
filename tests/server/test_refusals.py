"""A record or heartbeat the server cannot store is a 4xx that names it, never a 500, on SQLite and
PostgreSQL: checked before the insert where it can be, and a data error the database itself raises
is mapped too. JSON nested 1,000 levels deep is a 400 on every route that takes a body."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from a2d.syncwire import MAX_PAYLOAD_DEPTH, heartbeat_path, records_path
from sync_server.db import Database, sqlite_path

from .conftest import ADMIN_TOKEN, add_device, bearer, stored_ids

TS = "2026-06-02T08:15:31.412883Z"


def rec(
    rid: str, payload: dict[str, Any] | None = None, stream: str = "uplink", ts: str = TS
) -> dict[str, Any]:
    return {"record_id": rid, "stream": stream, "ts": ts, "payload": payload or {"n": rid}}


def post(client: TestClient, device: str, token: str, *records: dict[str, Any]) -> Any:
    return client.post(records_path(device), json={"records": list(records)}, headers=bearer(token))


def poisoned_status(rid: str) -> dict[str, Any]:
    """A ChirpStack status event as an edge agent without the parser's cleaning uploaded it: its
    device name holds NUL and ESC, and it carries a battery reading for the hourly aggregates."""
    return rec(rid, {"kind": "status", "stream": "health", "dev_eui": "0707070707070707",
                     "device_name": "evil\u0000name\u001b[31m", "decoded": {"margin": 10},
                     "measurements": [{"quantity": "battery", "value": 88.3, "unit": "%"}]},
               stream="health")  # fmt: skip


def test_a_nul_in_a_payload_is_a_422_naming_the_record_and_nothing_is_stored(
    client: TestClient, db: Database
) -> None:
    device, token = add_device(db, "edge-1")
    r = post(client, device, token, rec("a"), rec("b"), poisoned_status("cs:status:42"), rec("c"))
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("records[2] (record_id 'cs:status:42'): ") and "NUL" in r.text
    assert stored_ids(db) == []
    # the other records of the device go through; the refused one alone is the device's to set aside
    assert post(client, device, token, rec("a"), rec("b"), rec("c")).status_code == 200
    assert sorted(stored_ids(db)) == ["a", "b", "c"]


@pytest.mark.parametrize(
    "payload",
    [{"x\u0000": 1}, {"a": [{"b": ["ok", "\u0000"]}]}, {"t": "nul at the end\u0000"}],
)
def test_a_nul_anywhere_in_the_payload_is_found(client: TestClient, db: Database, payload: dict) -> None:
    device, token = add_device(db, "edge-1")
    r = post(client, device, token, rec("p", payload))
    assert r.status_code == 422 and r.json()["detail"].startswith("records[0] (record_id 'p')"), r.text


def test_an_escaped_backslash_before_u0000_is_text_not_a_nul(client: TestClient, db: Database) -> None:
    device, token = add_device(db, "edge-1")
    r = post(client, device, token, rec("bs", {"path": "C:\\u0000\\x"}))
    assert r.status_code == 200, r.text
    assert '"C:\\\\u0000\\\\x"' in next(db.records(device)).payload


@pytest.mark.parametrize(
    ("record", "words"),
    [
        (rec("u", stream="gossip"), "unknown stream 'gossip'"),  # usage is a stream now (kiosk usage)
        (rec("u", stream="x" * 40), "unknown stream"),
        (rec("t", ts="yesterday"), "ts 'yesterday' is not an ISO 8601 time"),
        (rec("t", ts="2026-02-30T08:00:00Z"), "is not an ISO 8601 time"),
        (rec("t", ts="2026-06-02T24:00:00.000000Z"), "is not an ISO 8601 time"),
    ],
)
def test_an_unknown_stream_or_a_bad_time_is_a_422(
    client: TestClient, db: Database, record: dict[str, Any], words: str
) -> None:
    device, token = add_device(db, "edge-1")
    r = post(client, device, token, rec("ok"), record)
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith(f"records[1] (record_id '{record['record_id']}'): ")
    assert words in r.json()["detail"]
    assert stored_ids(db) == []


def test_every_stream_with_a_retention_promise_is_taken(client: TestClient, db: Database) -> None:
    device, token = add_device(db, "edge-1")
    streams = ("uplink", "health", "network", "button", "feedback")
    assert post(client, device, token, *(rec(s, stream=s) for s in streams)).status_code == 200
    assert {r.stream for r in db.records(device)} == set(streams)


def test_a_time_with_an_offset_is_stored_in_utc(client: TestClient, db: Database) -> None:
    device, token = add_device(db, "edge-1")
    assert post(client, device, token, rec("o", ts="2026-06-02T10:15:31+02:00")).status_code == 200
    assert next(db.records(device)).ts == "2026-06-02T08:15:31.000000Z"


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth - 1):
        value = {"a": value}
    return {"a": value} if depth else value


def test_a_payload_nested_to_the_limit_is_stored_on_either_path(client: TestClient, db: Database) -> None:
    import json

    device, token = add_device(db, "edge-1")
    assert post(client, device, token, rec("deep", nested(MAX_PAYLOAD_DEPTH))).status_code == 200
    # a body over several lines goes the general way (orjson), which stops one level further
    spread = json.dumps({"records": [rec("deep-2", nested(MAX_PAYLOAD_DEPTH))]}, indent=1)
    assert client.post(records_path(device), content=spread, headers=bearer(token)).status_code == 200
    deeper = json.dumps({"records": [rec("deeper", nested(MAX_PAYLOAD_DEPTH + 1))]}, indent=1)
    r = client.post(records_path(device), content=deeper, headers=bearer(token))
    assert r.status_code == 400 and "records[0] (record_id 'deeper')" in r.text and "nests deeper" in r.text
    assert sorted(stored_ids(db)) == ["deep", "deep-2"]


def _json_routes(client: TestClient) -> list[tuple[str, str]]:
    """Every route that takes a body, as the server's own OpenAPI document lists them."""
    paths = client.get("/openapi.json").json()["paths"]
    return sorted(
        (method.upper(), path)
        for path, ops in paths.items()
        for method in ops
        if method in ("post", "put", "patch")
    )


def test_json_nested_1000_levels_deep_is_400_on_every_route_that_takes_json(
    client: TestClient, db: Database
) -> None:
    device, token = add_device(db, "edge-1")
    bodies = {
        "a body 1000 levels deep": "[" * 1000 + "]" * 1000,
        "a record 1000 levels deep": '{"records":[{"record_id":"r","stream":"uplink","ts":"'
        + TS
        + '","payload":'
        + '{"a":' * 1000
        + "1"
        + "}" * 1000
        + "}]}",
        "a heartbeat 1000 levels deep": '{"uptime_s":1,"disk_free_bytes":1,"versions":'
        + '{"a":' * 1000
        + '"1"'
        + "}" * 1001,
        "a body 5000 levels deep": '{"a":' * 5000 + "1" + "}" * 5000,
    }
    routes = _json_routes(client)
    assert ("POST", records_path("{device_id}")) in routes and (
        "POST",
        heartbeat_path("{device_id}"),
    ) in routes
    for method, path in routes:
        url = re.sub(r"\{device_id\}", device, path)
        url = re.sub(r"\{[^}]+\}", "x", url)
        who = bearer(token) if "/devices/" in path and "/admin/" not in path else bearer(ADMIN_TOKEN)
        for what, text in bodies.items():
            r = client.request(
                method, url, content=text.encode(), headers={**who, "Content-Type": "application/json"}
            )
            assert r.status_code == 400, (method, path, what, r.status_code, r.text[:200])
    assert stored_ids(db) == [] and db.latest_heartbeats() == []


def test_a_nul_in_a_heartbeat_is_422_and_a_nested_version_400(client: TestClient, db: Database) -> None:
    device, token = add_device(db, "edge-1")
    beat = {"versions": {"a2d": "0.1\u0000"}, "uptime_s": 5.0, "disk_free_bytes": 10}
    r = client.post(heartbeat_path(device), json=beat, headers=bearer(token))
    assert r.status_code == 422 and "NUL" in r.text
    beat = {"versions": {"a2d": {"nested": "x"}}, "uptime_s": 5.0, "disk_free_bytes": 10}
    assert client.post(heartbeat_path(device), json=beat, headers=bearer(token)).status_code == 400
    assert db.latest_heartbeats() == []


# --- a data error the database itself raises -----------------------------------------------------


def refuse_in_database(db_url: str, table: str, column: str, value: str) -> None:
    """Make the real database refuse rows of ``table`` whose ``column`` is ``value``, with its own
    data error (PostgreSQL: SQLSTATE 22003; SQLite: a constraint), as a value it cannot hold would."""
    path = sqlite_path(db_url)
    if path is not None:
        conn = sqlite3.connect(path)
        conn.execute(
            f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} WHEN NEW.{column} = '{value}'"
            " BEGIN SELECT RAISE(ABORT, 'value out of range for this column'); END"
        )
        conn.commit()
        conn.close()
        return
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            f"CREATE FUNCTION refuse_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" IF NEW.{column} = '{value}' THEN RAISE EXCEPTION 'value out of range for this column'"
            " USING ERRCODE = '22003'; END IF; RETURN NEW; END $$"
        )
        conn.execute(
            f"CREATE TRIGGER refuse BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION refuse_{table}()"
        )


def test_a_record_the_database_refuses_is_a_422_naming_it(
    client: TestClient, db: Database, db_url: str
) -> None:
    device, token = add_device(db, "edge-1")
    refuse_in_database(db_url, "records", "record_id", "r:5")
    batch = [rec(f"r:{i}") for i in range(12)]
    r = post(client, device, token, *batch)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert (
        detail.startswith("records[5] (record_id 'r:5'): the database refused it: ")
        and "out of range" in detail
    )
    # the batch without it goes through; what the search stored on the way is acknowledged again
    r = post(client, device, token, *batch[:5], *batch[6:])
    assert r.status_code == 200 and len(r.json()["acked"]) == 11
    assert sorted(stored_ids(db)) == sorted(f"r:{i}" for i in range(12) if i != 5)


def test_a_heartbeat_the_database_refuses_is_a_422(client: TestClient, db: Database, db_url: str) -> None:
    device, token = add_device(db, "edge-1")
    refuse_in_database(db_url, "heartbeats_latest", "device_id", device)
    beat = {"versions": {"a2d": "0.1"}, "uptime_s": 5.0, "disk_free_bytes": 10}
    r = client.post(heartbeat_path(device), json=beat, headers=bearer(token))
    assert r.status_code == 422 and "the database refused the heartbeat" in r.text, r.text
