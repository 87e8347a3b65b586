"""The console's pages and the public pages with real data: fleet, users, audit, register, open data."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from markupsafe import escape

from a2d import bundles
from sync_server.console import accounts, audit, fleet, i18n
from sync_server.db import BundleInfo, Device, StoredHeartbeat
from tests.server.conftest import add_device, bearer
from tests.signedpack import signed

from .conftest import PASSWORD, csrf_of, make_user, sign_in

PACK = Path(__file__).resolve().parents[2] / "devtools" / "data" / "content-offenburg.json"


def test_the_fleet_shows_each_device_with_its_heartbeat_and_alerts(app_client, db) -> None:
    make_user(db, "anna", "viewer")
    quiet, _ = add_device(db, "edge-still", site="rathaus")
    busy, token = add_device(db, "edge-rathaus", site="rathaus")
    c = app_client()
    beat = {"versions": {"a2d": "0.1.0"}, "uptime_s": 7300, "disk_free_bytes": 100 * 2**20,
            "outbox": {"uplink": 12}, "last_sync_at": None}  # fmt: skip
    assert c.post(f"/api/v1/devices/{busy}/heartbeat", json=beat, headers=bearer(token)).status_code == 204
    page = sign_in(c, "anna").get("/console/devices").text
    row = page.split(f">{busy}</a>")[1].split("</tr>")[0]
    assert "rathaus" in row and "a2d 0.1.0" in row and ">12<" in row and "100.0 MiB" in row
    assert (
        "Speicher fast voll" in row
        and "Synchronisation schlägt fehl" in row
        and "meldet sich nicht" not in row
    )
    quiet_row = page.split(f">{quiet}</a>")[1].split("</tr>")[0]
    assert "meldet sich nicht" in quiet_row and "nie" in quiet_row
    detail = c.get(f"/console/devices/{busy}")
    assert detail.status_code == 200 and "2 h 1 min" in detail.text
    assert c.get("/console/devices/nope").status_code == 404


def test_a_lotse_sees_only_the_devices_of_their_sites(app_client, db) -> None:
    make_user(db, "lotse1", "lotse", ("rathaus",))
    mine, _ = add_device(db, "edge-rathaus", site="rathaus")
    other, _ = add_device(db, "edge-zell", site="ov-zell")
    page = sign_in(app_client(), "lotse1").get("/console/devices").text
    assert mine in page and other not in page


def test_alerts_from_heartbeats() -> None:
    now = datetime(2026, 6, 2, 12, tzinfo=UTC)
    th = fleet.Thresholds()

    def of(last_seen, **beat):
        d = Device("e", "e", "", "", None, last_seen=last_seen)
        hb = {"uptime_s": 1, "disk_free_bytes": 2**30, **beat}
        return fleet.alerts(d, fleet.beat(StoredHeartbeat("e", last_seen, json.dumps(hb))), now, th)

    fresh = "2026-06-02T11:59:00.000000Z"
    assert of(fresh) == []
    assert of("2026-06-02T11:40:00.000000Z") == ["silent"]
    assert of(fresh, disk_free_bytes=10 * 2**20) == ["disk"]
    assert of(fresh, last_sync_at="2026-06-02T12:09:00.000000Z") == ["clock"]
    # the device's own clock in the heartbeat: behind or ahead of the arrival by more than 120 s
    assert of(fresh, now="2026-06-02T11:55:00.000000Z") == ["clock"]
    assert of(fresh, now="2026-06-02T12:03:00.000000Z") == ["clock"]
    assert of(fresh, now="2026-06-02T11:58:10.000000Z") == []
    # a device clock that is right wins over a last sync that looks ahead
    assert of(fresh, now=fresh, last_sync_at="2026-06-02T12:09:00.000000Z") == []
    assert of(fresh, outbox={"uplink": 3}, last_sync_at="2026-06-02T11:00:00.000000Z") == ["sync"]
    assert of(fresh, outbox={"uplink": 0}, last_sync_at="2026-06-02T11:00:00.000000Z") == []
    revoked = Device("e", "e", "", "", "2026-06-01T00:00:00Z")
    assert fleet.alerts(revoked, None, now, th) == []
    assert fleet.alerts(Device("e", "e", "", "", None), None, now + timedelta(days=1), th) == ["silent"]


def test_admins_manage_users_with_forms_and_every_change_is_audited(app_client, db) -> None:
    make_user(db, "chefin", "admin")
    c = sign_in(app_client(), "chefin")

    def post(**form):
        return c.post("/console/users", data={"csrf_token": csrf_of(c.get("/console/users").text), **form},
                      follow_redirects=False)  # fmt: skip

    assert (
        post(action="add", username="lotse1", role="lotse", sites="rathaus", password=PASSWORD).status_code
        == 303
    )
    assert accounts.find(db, "lotse1").sites == ("rathaus",)
    short = post(action="add", username="kurz", role="viewer", password="kurz")
    assert short.status_code == 400 and "too short" in short.text and accounts.find(db, "kurz") is None
    assert post(action="set-role", username="lotse1", role="editor", sites="").status_code == 303
    assert accounts.find(db, "lotse1").role == "editor"
    assert post(action="reset-password", username="lotse1", password="ein-neues-Passwort").status_code == 303
    sign_in(app_client(), "lotse1", "ein-neues-Passwort")
    assert post(action="remove", username="lotse1").status_code == 303 and accounts.find(db, "lotse1") is None
    assert post(action="remove", username="chefin").status_code == 400  # not oneself
    log = c.get("/console/audit").text
    for action in ("user.add", "user.set-role", "user.reset-password", "user.remove", "login"):
        assert f"<td>{action}</td>" in log, action
    entries = audit.entries(db)
    assert entries[0].action == "user.remove" and entries[0].actor == "chefin" and entries[0].address


def _publish_pack(db, target: str = "all") -> None:
    doc = signed(PACK.read_bytes(), counter=1, target=target)
    b = bundles.parse(doc)
    info = BundleInfo(
        target, "content", b.version, b.sha256, len(b.content), "2026-06-02T08:00:00.000000Z", None, 1
    )
    db.publish_bundles([(info, json.dumps(doc))])


def test_the_register_shows_every_record_of_the_published_pack_in_three_languages(app_client, db) -> None:
    device, _ = add_device(db, "kiosk-rathaus", site="rathaus")
    c = app_client()
    assert "Noch keine Inhalte" in c.get("/register").text
    _publish_pack(db)
    pack = json.loads(PACK.read_text())
    for lang in ("de", "fr", "en"):
        page = c.get(f"/register?lang={lang}").text
        assert device in page and escape(pack["sites"][0]["name"][lang]) in page
        for record in pack["transparency"]:
            assert escape(record["title"][lang]) in page
            assert escape(record["fields"]["legal_basis"][lang]) in page
        assert escape(i18n.catalog(lang).f_legal_basis) in page
    assert 'lang="fr"' in c.get("/register").text  # the cookie keeps the last choice
    doc = c.get("/register.json").json()
    assert {r["id"] for r in doc["records"]} == {r["id"] for r in pack["transparency"]}
    assert doc["devices"] == [{"device_id": device, "name": "kiosk-rathaus", "site": "rathaus", "role": None}]
    assert "token" not in json.dumps(doc)


def test_the_open_data_page_carries_dcat_ap_de_and_links_the_downloads(app_client) -> None:
    c = app_client()
    page = c.get("/opendata").text
    assert 'type="application/ld+json"' in page and "dl-de/by-2-0" in page
    for href in (
        "/api/v1/opendata/measurements.csv",
        "/api/v1/opendata/feedback.json",
        "/api/v1/opendata/usage.csv",
    ):
        assert f'href="{href}"' in page and c.get(href).status_code == 200
    doc = c.get("/opendata.jsonld").json()
    assert doc["@type"] == "dcat:Catalog" and len(doc["dcat:dataset"]) == 3  # the third: kiosk usage
    dist = doc["dcat:dataset"][0]["dcat:distribution"][1]
    assert dist["dct:license"]["@id"] == "http://dcat-ap.de/def/licenses/dl-by-de/2.0"
    assert dist["dcat:downloadURL"]["@id"].endswith("/api/v1/opendata/measurements.csv")


def test_every_language_has_every_string() -> None:
    keys = {lang: set(i18n.catalog(lang)) for lang in i18n.LANGUAGES}
    assert keys["fr"] == keys["de"] == keys["en"]
    assert i18n.catalog("de").username == "Benutzername" and i18n.catalog("de").logout == "Abmelden"


def test_the_language_switch_is_on_every_page(app_client) -> None:
    c = app_client()
    for path in ("/", "/register", "/opendata", "/console/login"):
        page = c.get(path).text
        assert page.startswith("<!doctype html>") and '<html lang="de">' in page
        assert 'href="?lang=fr"' in page and 'href="?lang=en"' in page and 'href="#main"' in page
    assert '<html lang="en">' in c.get("/?lang=en").text
