"""Help calls on the server, on both backends: the agents' ``help`` records make calls, a Lotse sees
those of their sites, closes one (CSRF, audit), the device's live snapshot names it until its agent
reported the close, and the calls go with the stream's retention."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from a2d import syncwire, timeutil
from a2d.localapi import HelpRequest
from sync_server import helpcalls, retention
from sync_server.console import audit
from sync_server.db import Database
from sync_server.livehub import LiveHub
from tests.server.conftest import add_device, bearer

from .conftest import csrf_of, make_user, sign_in


def help_record(request_id: str, kind: str, kiosk: str = "kiosk-eg-1", closed_by: str = "kiosk",
                at: str = "") -> dict[str, Any]:  # fmt: skip
    """A ``help`` record as the agent uploads it (edge_agent/localapi/helpdesk.py); asked ``at``
    (five minutes ago unless told: the server's retention runs when the app starts)."""
    at = at or timeutil.iso(datetime.now(UTC) - timedelta(minutes=5))
    req = HelpRequest(request_id, kiosk, at, "personalausweis")
    decoded: dict[str, Any] = {**req.as_json(), "state": "open", "closed_at": None}
    if kind == "close":
        decoded.update(state="closed", closed_at=timeutil.utc_now(), closed_by=closed_by)
    payload = {"source": "kiosk", "kind": f"help.{kind}", "stream": "help", "decoded": decoded,
               "measurements": [], "counted": True}  # fmt: skip
    return {"record_id": f"help:{request_id}:{kind}", "stream": "help", "ts": at,
            "payload": payload}  # fmt: skip


def upload(c, device: str, token: str, *records: dict[str, Any]) -> None:
    r = c.post(syncwire.records_path(device), json={"records": list(records)}, headers=bearer(token))
    assert r.status_code == 200, r.text


def test_calls_of_their_sites_closed_with_csrf_and_audit_then_named_to_the_agent(
    db: Database, app_client
) -> None:
    rathaus, token = add_device(db, "edge-rathaus", site="rathaus")
    zell, token_zell = add_device(db, "edge-zell", site="ov-zell")
    make_user(db, "lotse-rathaus", "lotse", ("rathaus",))
    make_user(db, "viewer", "viewer")
    c = app_client()
    upload(c, rathaus, token, help_record("h-1", "open"))
    upload(c, rathaus, token, help_record("h-1", "open"))  # sent again: one call
    upload(c, zell, token_zell, help_record("h-2", "open", "kiosk-zell"))
    calls = helpcalls.open_calls(db)
    assert [(x.device_id, x.request_id, x.site, x.kiosk_id, x.topic) for x in calls] == [
        (rathaus, "h-1", "rathaus", "kiosk-eg-1", "personalausweis"),
        (zell, "h-2", "ov-zell", "kiosk-zell", "personalausweis"),
    ]

    lotse = sign_in(app_client(), "lotse-rathaus")
    page = lotse.get("/console/help")
    assert page.status_code == 200
    assert "kiosk-eg-1" in page.text and "kiosk-zell" not in page.text  # only the Lotse's own site
    assert sign_in(app_client(), "viewer").get("/console/help").status_code == 403

    # a post without the CSRF token changes nothing
    r = lotse.post(
        "/console/help/close", data={"device_id": rathaus, "request_id": "h-1"}, follow_redirects=False
    )
    assert r.status_code == 403 and len(helpcalls.open_calls(db)) == 2
    # another site's call cannot be closed by this Lotse
    form = {"csrf_token": csrf_of(page.text), "device_id": zell, "request_id": "h-2"}
    assert lotse.post("/console/help/close", data=form, follow_redirects=False).status_code == 404
    form["device_id"], form["request_id"] = rathaus, "h-1"
    r = lotse.post("/console/help/close", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/help?closed=1"
    assert [x.request_id for x in helpcalls.open_calls(db)] == ["h-2"]
    closed = helpcalls.find(db, rathaus, "h-1")
    assert closed is not None and closed.state == "closed" and closed.closed_by == "lotse-rathaus"
    [entry] = [e for e in audit.entries(db) if e.action == "help.close"]
    assert entry.actor == "lotse-rathaus" and entry.target == f"{rathaus}/h-1"
    assert "kiosk-eg-1" not in lotse.get("/console/help").text

    # the device's live stream names the call until its agent's own close arrives
    assert helpcalls.closed_on_server(db) == {rathaus: ("h-1",)}
    hub = LiveHub(db)
    asyncio.run(hub.refresh())
    assert hub.state.snapshot("rathaus", [], rathaus).help_closed == ("h-1",)
    assert hub.state.snapshot("ov-zell", [], zell).help_closed == ()
    upload(c, rathaus, token, help_record("h-1", "close", closed_by="server"))
    assert helpcalls.closed_on_server(db) == {}
    after = helpcalls.find(db, rathaus, "h-1")
    assert after is not None and after.closed_by == "lotse-rathaus"  # the first closer stays


def test_a_call_closed_at_the_kiosk_is_closed_on_the_server(db: Database, app_client) -> None:
    device, token = add_device(db, "edge-rathaus", site="rathaus")
    c = app_client()
    upload(c, device, token, help_record("h-9", "open"), help_record("h-9", "close"))
    call = helpcalls.find(db, device, "h-9")
    assert call is not None and call.state == "closed" and call.closed_by == "kiosk"
    assert helpcalls.open_calls(db) == [] and helpcalls.closed_on_server(db) == {}


def test_calls_go_with_the_help_retention(db: Database) -> None:
    device, _token = add_device(db, "edge-rathaus", site="rathaus")  # no app: it would prune at its start
    asked = "2026-06-02T08:15:00.000000Z"
    helpcalls.apply(db, [helpcalls.HelpEvent(device, "h-old", False, "k", "", asked, "", "")], asked)
    removed = retention.prune(db, {"help": 30}, now="2026-06-20T00:00:00.000000Z")
    assert "help_calls" not in removed and len(helpcalls.open_calls(db)) == 1  # 18 days: kept
    removed = retention.prune(db, {"help": 30}, now="2026-07-10T00:00:00.000000Z")
    assert removed.get("help_calls") == 1 and helpcalls.open_calls(db) == []


@pytest.mark.parametrize("bad", [{"kind": "help.open", "decoded": "x"}, {"kind": "vote", "decoded": {}},
                                 {"kind": "help.open", "decoded": {"id": "a\nb", "kiosk_id": "k", "at": "t"}}])  # fmt: skip
def test_a_help_record_that_holds_no_call_is_stored_and_changes_nothing(
    db: Database, app_client, bad
) -> None:
    device, token = add_device(db, "edge-rathaus", site="rathaus")
    record = {
        "record_id": "help:x:open",
        "stream": "help",
        "ts": "2026-06-02T08:15:00.000000Z",
        "payload": bad,
    }
    upload(app_client(), device, token, record)
    assert helpcalls.open_calls(db) == []
