"""Sites in the device registry, on SQLite and PostgreSQL: add, list, the admin API, and the
migration of a registry and bundles made before sites and counters existed."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from a2d.syncwire import API
from sync_server.db import Database, open_database
from sync_server.db.schema import MIGRATIONS

from .conftest import ADMIN_TOKEN, bearer
from .test_bundles import run, sql


def test_a_device_is_added_at_a_site_and_listed_with_it(
    capsys: pytest.CaptureFixture[str], db: Database, db_url: str, client: TestClient
) -> None:
    code, out, _ = run(
        capsys, "device", "add", "Edge Zell", "--site", "ov-zell-weierbach", "--db", db_url, "--json"
    )
    assert code == 0 and json.loads(out)["site"] == "ov-zell-weierbach"
    code, out, _ = run(capsys, "device", "add", "edge-rathaus-1", "--db", db_url)
    assert code == 0 and out.startswith("added device edge-rathaus-1\n")  # no site: the default
    listed = [
        json.loads(line) for line in run(capsys, "device", "list", "--db", db_url, "--json")[1].splitlines()
    ]
    assert [(d["device_id"], d["site"]) for d in listed] == [
        ("edge-rathaus-1", ""),
        ("edge-zell", "ov-zell-weierbach"),
    ]
    text = run(capsys, "device", "list", "--db", db_url)[1].splitlines()
    assert "site ov-zell-weierbach" in text[1] and "no site" in text[0]
    admin = client.get(f"{API}/admin/devices", headers=bearer(ADMIN_TOKEN)).json()["devices"]
    assert {d["device_id"]: d["site"] for d in admin} == {
        "edge-rathaus-1": "",
        "edge-zell": "ov-zell-weierbach",
    }

    code, out, err = run(capsys, "device", "add", "edge-x", "--site", "Zell Weierbach", "--db", db_url)
    assert code == 1 and out == "" and err.count("\n") == 1 and "--site" in err
    assert len(db.devices()) == 2


def test_the_migration_keeps_devices_and_bundles_of_an_older_server(db_url: str) -> None:
    """A database as the previous release left it: no sites, targets ``*`` or a device id, no counters."""
    backend = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    sql(
        db_url,
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
    )
    for m in MIGRATIONS[:3]:
        for statement in m.statements(backend):
            sql(db_url, statement)
        sql(
            db_url,
            "INSERT INTO schema_migrations VALUES (?, ?, ?)",
            (m.version, m.name, "2026-01-01T00:00:00Z"),
        )
    sql(db_url, "INSERT INTO devices VALUES ('edge-1', 'Edge 1', 'h1', '2026-01-01', '2026-01-01', NULL)")
    for target in ("*", "edge-1"):
        sql(db_url, "INSERT INTO bundles VALUES (?, 'content', 'v1', ?, 1, '{\"format\": \"a2d-bundle/1\"}', '2026-01-01')",
            (target, "0" * 64))  # fmt: skip

    db = open_database(db_url)
    try:
        assert db.migrate() == [f"{m.version}: {m.name}" for m in MIGRATIONS[3:]]
        (device,) = db.devices()
        assert (device.device_id, device.site, device.active) == ("edge-1", "", True)
        assert sorted((b.target, b.counter) for b in db.bundles()) == [("all", 0), ("device:edge-1", 0)]
        assert (
            db.bundle_for("edge-1", "content") is not None
            and db.bundle_for("edge-1", "content").target == "device:edge-1"
        )
        assert db.assign_bundle_counter("content") == 1  # the old bundles have none; the first new one is 1
    finally:
        db.close()
