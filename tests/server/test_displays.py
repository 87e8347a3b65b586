"""Proof of display on the server, on SQLite and PostgreSQL: the heartbeat's ``displays`` are
checked and kept per kiosk on the server's clock, and the screen alerts follow the site's
opening hours from the newest content pack published for the device (time moved through ``now``)."""

from __future__ import annotations

import json

import orjson
from fastapi.testclient import TestClient

from a2d import timeutil
from a2d.syncwire import API, Display, Heartbeat, heartbeat_path
from sync_server import displays, publishing
from sync_server.db import Database
from tests.localapi.conftest import pack_doc, text
from tests.signedpack import KEY

from .conftest import ADMIN_TOKEN, add_device, bearer

LIMITS = displays.Limits(stale_s=900, gone_s=360)


def display(**kw: object) -> Display:
    fields: dict[str, object] = {"kiosk_id": "kiosk-halle", "page": "home", "frames": 10, "hash": "9f1c00aa55e0b7d2",
                                 "changed_at": "2026-06-02T07:00:00Z", "reported_at": "2026-06-02T07:30:00Z"}  # fmt: skip
    return Display(**{**fields, **kw})  # type: ignore[arg-type]


def beat(*shown: Display) -> Heartbeat:
    return Heartbeat(versions={"a2d": "0.1.0"}, uptime_s=1.0, disk_free_bytes=1, displays=list(shown))


def store(db: Database, device: str, at: str, *shown: Display) -> None:
    """A heartbeat as the route stores it, received at ``at`` (the server's clock)."""
    b = beat(*shown)
    db.store_heartbeat(device, orjson.dumps(b.as_dict()).decode(), at, 3, displays.rows(device, b, at))


def publish_hours(db: Database, hours: str) -> None:
    doc = pack_doc()
    doc["sites"] = [{"id": "buergerbuero", "name": text("Bürgerbüro"), "address": "Hauptstraße 90",
                     "region": "DE-BW", "opening_hours": hours}]  # fmt: skip
    publishing.publish(db, KEY, "content", json.dumps(doc).encode(), "1", [], "2026-06-01T00:00:00Z")


def alerts_at(db: Database, now: str) -> list[tuple[str, str]]:
    _, raised = displays.screens(db, db.devices(), LIMITS, timeutil.parse(now))
    return [(a["kiosk_id"], a["alert"]) for a in raised]


def test_screen_frozen_only_while_the_site_should_be_open(db: Database) -> None:
    device, _ = add_device(db, "edge-bb", site="buergerbuero")
    publish_hours(db, "Mo-Fr 08:00-12:00; PH off")
    # Tuesday 2 June 2026: reports keep coming (the kiosk lives), the picture stays for 29 minutes
    store(db, device, "2026-06-02T07:30:00.000000Z", display())
    store(db, device, "2026-06-02T07:59:00.000000Z", display(reported_at="2026-06-02T07:58:00Z"))
    assert alerts_at(db, "2026-06-02T08:00:00Z") == [("kiosk-halle", "screen_frozen")]  # 10:00 in Offenburg
    assert alerts_at(db, "2026-06-02T07:40:00Z") == []  # 10 minutes: not yet
    shown, _ = displays.screens(db, db.devices(), LIMITS, timeutil.parse("2026-06-02T08:00:00Z"))
    entry = shown[device][0]
    assert entry["screen_changed_at"] == "2026-06-02T07:30:00.000000Z"
    assert entry["last_report_at"] == "2026-06-02T07:59:00.000000Z" and entry["alerts"] == ["screen_frozen"]
    # Corpus Christi (Thu 4 June, a holiday in Baden-Württemberg) and a Sunday: the office is closed
    for day in ("04", "07"):
        store(db, device, f"2026-06-{day}T07:30:00.000000Z", display(reported_at=f"2026-06-{day}T07:30:00Z"))
        store(db, device, f"2026-06-{day}T07:59:00.000000Z", display(reported_at=f"2026-06-{day}T07:58:00Z"))
        assert alerts_at(db, f"2026-06-{day}T08:00:00Z") == [], day
    # a screen dark at night on purpose is no frozen screen
    store(
        db, device, "2026-06-08T07:59:00.000000Z", display(reported_at="2026-06-08T07:58:00Z", mode="night")
    )
    assert alerts_at(db, "2026-06-08T08:00:00Z") == []


def test_a_new_picture_or_new_frames_clear_frozen_and_a_silent_kiosk_is_gone(db: Database) -> None:
    device, _ = add_device(db, "edge-x")  # no site, no pack: always expected on
    store(db, device, "2026-06-07T07:00:00.000000Z", display(), display(kiosk_id="wand", wall=True))
    store(db, device, "2026-06-07T07:20:00.000000Z", display(reported_at="2026-06-07T07:19:00Z"),
          display(kiosk_id="wand", wall=True, reported_at="2026-06-07T07:19:00Z", frames=11))  # fmt: skip
    # kiosk-halle: same hash and frames for 20 min; the wall drew a frame at 07:20
    assert alerts_at(db, "2026-06-07T07:21:00Z") == [("kiosk-halle", "screen_frozen")]
    store(db, device, "2026-06-07T07:22:00.000000Z", display(reported_at="2026-06-07T07:21:00Z", hash="00ff"),
          display(kiosk_id="wand", wall=True, reported_at="2026-06-07T07:19:00Z", frames=11))  # fmt: skip
    assert alerts_at(db, "2026-06-07T07:23:00Z") == []
    # the agent's heartbeats go on, the wall's reports stopped at 07:20 (on the server's clock)
    store(db, device, "2026-06-07T07:27:00.000000Z", display(reported_at="2026-06-07T07:26:00Z", hash="00ff"),
          display(kiosk_id="wand", wall=True, reported_at="2026-06-07T07:19:00Z", frames=11))  # fmt: skip
    assert alerts_at(db, "2026-06-07T07:27:00Z") == [("wand", "kiosk_gone")]
    # its agent forgot the wall (taken away for good): no longer asked after
    store(db, device, "2026-06-07T07:28:00.000000Z", display(reported_at="2026-06-07T07:27:30Z", hash="00ff"))
    assert alerts_at(db, "2026-06-07T07:28:00Z") == []
    # the agent itself is silent: nothing is said about its kiosks
    assert alerts_at(db, "2026-06-07T09:00:00Z") == []


def test_the_route_takes_bounded_displays_and_the_admin_list_shows_them(
    client: TestClient, db: Database
) -> None:
    device, token = add_device(db, "edge-1")
    ok = beat(display()).as_dict()
    assert client.post(heartbeat_path(device), json=ok, headers=bearer(token)).status_code == 204
    listed = client.get(f"{API}/admin/devices", headers=bearer(ADMIN_TOKEN)).json()
    (shown,) = listed["devices"][0]["displays"]
    assert (shown["kiosk_id"], shown["hash"], shown["frames"], shown["alerts"]) == (
        "kiosk-halle",
        "9f1c00aa55e0b7d2",
        10,
        [],
    )
    assert shown["changed_at"] == "2026-06-02T07:00:00.000000Z" and listed["alerts"] == []
    good = ok["displays"][0]
    for bad in (
        [good] * 2,  # the same kiosk twice
        [{**good, "kiosk_id": f"k{i}"} for i in range(17)],  # more than 16
        [{**good, "page": "x" * 41}], [{**good, "hash": "NOT HEX"}], [{**good, "frames": -1}],
        [{**good, "reported_at": "yesterday"}], [{**good, "mode": "dark"}], [{**good, "kiosk_id": "a\u0000b"}],
        "not a list",
    ):  # fmt: skip
        r = client.post(heartbeat_path(device), json={**ok, "displays": bad}, headers=bearer(token))
        assert r.status_code == 400, bad
    assert len(db.displays()) == 1
    # a heartbeat of an agent without kiosks (or of an older agent) keeps what is known
    assert (
        client.post(heartbeat_path(device), json=beat().as_dict(), headers=bearer(token)).status_code == 204
    )
    assert [d.kiosk_id for d in db.displays()] == ["kiosk-halle"]


def test_the_agent_sends_a_kiosk_for_a_week_after_its_last_report() -> None:
    import sqlite3

    from a2d.localapi import DisplayReport
    from edge_agent.localapi import displays as agent_displays
    from edge_agent.store import migrate

    db = sqlite3.connect(":memory:", isolation_level=None)
    migrate(db)
    report = DisplayReport("home", 3, "9f1c", "2026-06-01T08:00:00Z", "2026-06-01T08:00:00Z")
    agent_displays.store(db, "kiosk-alt", report, "2026-06-01T08:00:00.000000Z")
    agent_displays.store(db, "kiosk-neu", report, "2026-06-08T07:00:00.000000Z")
    sent = agent_displays.for_heartbeat(db, "2026-06-08T08:00:01.000000Z")
    assert [d["kiosk_id"] for d in sent] == ["kiosk-neu"] and "at" not in sent[0]
    assert [d["kiosk_id"] for d in agent_displays.for_heartbeat(db, "2026-06-08T07:59:00.000000Z")] == [
        "kiosk-neu", "kiosk-alt"]  # fmt: skip
