"""The sensors page and the watering list (real soil data through the records API), the thresholds
form and its rules, and the batteries of LoRaWAN sensors on the fleet page; on both backends."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from a2d.timeutil import iso
from sync_server.console import audit, battery, latest, watering
from tests.server.conftest import add_device

from . import soildata
from .conftest import csrf_of, make_user, sign_in

M = {"quantity": "battery", "value": 15, "unit": "%"}


def tree_order(page: str) -> list[str]:
    table = page.split('id="watering-caption"')[1].split("</table>")[0]
    return re.findall(r'<th scope="row">([^<]+)', table)


def expected_order(own: dict[str, float], default: float = 20.0) -> list[str]:
    newest = {eui: days[-1][1] for eui, days in soildata.series().items()}
    return [soildata.name_of(e) for e in sorted(newest, key=lambda e: newest[e] - own.get(e, default))]


def test_the_watering_list_puts_the_driest_against_its_threshold_first(app_client, db) -> None:
    make_user(db, "gaertner", "editor")
    device, token = add_device(db, "edge-park", site="rathaus")
    c = app_client()
    soildata.upload(c, device, token, soildata.records(datetime.now(UTC)))
    sign_in(c, "gaertner")
    page = c.get("/console/sensors").text
    assert tree_order(page) == expected_order({})
    assert page.count("gießen") >= 1 and "Bodenfeuchte" in page
    # the wettest tree gets a high threshold of its own: it needs water most now
    wettest = soildata.TREES[("E1", "Second Sensor")][1]
    r = c.post("/console/sensors/threshold", data={"csrf_token": csrf_of(page), "sensor": wettest,
               "dry_percent": "25,5"}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    page = c.get("/console/sensors").text
    assert tree_order(page) == expected_order({wettest: 25.5})
    assert tree_order(page)[0] == soildata.name_of(wettest)
    assert db.query("SELECT actor, action, target, detail FROM console_audit WHERE action = ?",
                    ("sensor.threshold",)) == [("gaertner", "sensor.threshold", wettest, "25.5 %")]  # fmt: skip
    # empty: back to the default
    c.post(
        "/console/sensors/threshold", data={"csrf_token": csrf_of(page), "sensor": wettest, "dry_percent": ""}
    )
    assert tree_order(c.get("/console/sensors").text) == expected_order({})
    assert db.query("SELECT sensor FROM soil_thresholds") == []


def test_the_newest_readings_with_units_and_age(app_client, db) -> None:
    make_user(db, "anna", "viewer")
    device, token = add_device(db, "edge-park", site="rathaus")
    c = app_client()
    soildata.upload(c, device, token, soildata.records(datetime.now(UTC)))
    page = sign_in(c, "anna").get("/console/sensors").text
    readings = page.split('id="readings-caption"')[1]
    for eui, days in soildata.series().items():
        row = readings.split(soildata.name_of(eui))[1].split("</tr>")[0]
        assert f"{round(days[-1][1], 2):g} %" in row and "2 h" in row, row
    assert 'action="/console/sensors/threshold"' not in page  # a viewer sets no threshold


def test_threshold_rules(app_client, db) -> None:
    make_user(db, "gaertner", "editor")
    make_user(db, "anna", "viewer")
    make_user(db, "zell", "lotse", ("ov-zell",))
    device, token = add_device(db, "edge-park", site="rathaus")
    c = app_client()
    soildata.upload(c, device, token, soildata.records(datetime.now(UTC)))
    eui = soildata.TREES[("E3", "First Sensor")][1]
    sign_in(c, "gaertner")
    csrf = csrf_of(c.get("/console/sensors").text)
    for bad in ("abc", "-1", "101", "nan", "inf"):
        r = c.post("/console/sensors/threshold", data={"csrf_token": csrf, "sensor": eui, "dry_percent": bad})
        assert r.status_code == 400 and "0 bis 100" in r.text, bad
    r = c.post("/console/sensors/threshold", data={"csrf_token": csrf, "sensor": "nope", "dry_percent": "5"})
    assert r.status_code == 400
    assert c.post("/console/sensors/threshold", data={"sensor": eui, "dry_percent": "5"}).status_code == 403
    assert db.query("SELECT sensor FROM soil_thresholds") == []
    viewer = sign_in(app_client(), "anna")
    r = viewer.post("/console/sensors/threshold", data={"csrf_token": csrf_of(viewer.get("/console/sensors").text),
                    "sensor": eui, "dry_percent": "5"})  # fmt: skip
    assert r.status_code == 403 and db.query("SELECT sensor FROM soil_thresholds") == []
    other = sign_in(app_client(), "zell")  # a Lotse of another site sees no tree of the park
    assert soildata.name_of(eui) not in other.get("/console/sensors").text
    assert [e for e in audit.entries(db) if e.action == "sensor.threshold"] == []


def test_the_fleet_shows_sensor_batteries_and_alerts_a_low_one(app_client, db) -> None:
    make_user(db, "anna", "viewer")
    low, token = add_device(db, "edge-low", site="rathaus")
    fine, token2 = add_device(db, "edge-fine", site="rathaus")
    c = app_client()
    now = datetime.now(UTC)
    ts = iso(now)

    def rec(rid: str, eui: str, name: str, *ms: dict) -> dict:
        return {"record_id": rid, "stream": "uplink", "ts": ts,
                "payload": {"dev_eui": eui, "device_name": name, "measurements": list(ms)}}  # fmt: skip

    soildata.upload(c, low, token, [
        rec("b1", "a84041000181c001", "Linde Marktplatz", M, {"quantity": "battery_voltage", "value": 3.6, "unit": "V"}),
        rec("b2", "a84041000181c009", "Zähler Foyer", {"quantity": "battery_voltage", "value": 2.4, "unit": "V"}),
    ])  # fmt: skip
    # the LSE01 vector's battery (tests/data/lorawan_payloads/dragino__lse01.jsonl): 3.625 V
    soildata.upload(c, fine, token2, [
        rec("b3", "a84041000181c00a", "Eiche Kinzig", {"quantity": "battery_voltage", "value": 3.625, "unit": "V"}),
    ])  # fmt: skip
    page = sign_in(c, "anna").get("/console/devices").text
    low_row = page.split(f">{low}</a>")[1].split("</tr>")[0]
    fine_row = page.split(f">{fine}</a>")[1].split("</tr>")[0]
    assert "Linde Marktplatz: 15 %" in low_row and "Zähler Foyer: 2.40 V" in low_row
    assert "Sensor-Batterie schwach" in low_row
    assert "Eiche Kinzig: 3.62 V" in fine_row or "Eiche Kinzig: 3.63 V" in fine_row
    assert "Sensor-Batterie schwach" not in fine_row


def L(sensor: str, quantity: str, value: float, unit: str, hour: str = "2026-06-02T08:00:00Z",
      channel: str = "", device: str = "e") -> latest.Latest:  # fmt: skip
    return latest.Latest(
        device, sensor, f"name-{sensor}", quantity, unit, channel, hour, 1, value, value, value
    )


def test_battery_level_wins_over_voltage_and_thresholds_apply() -> None:
    cells = battery.batteries([L("a", "battery", 50, "%"), L("a", "battery_voltage", 2.0, "V"),
                               L("b", "battery_voltage", 2.49, "V"), L("c", "battery", 19, "%")], 20, 2.5)  # fmt: skip
    assert [(b.sensor, b.text, b.low) for b in cells["e"]] == [("a", "50 %", False), ("b", "2.49 V", True),
                                                              ("c", "19 %", True)]  # fmt: skip


def test_a_probe_with_depths_counts_with_their_mean() -> None:
    trees = watering.watering_list([L("p", "soil_moisture", 10, "%", channel="10cm"),
                                    L("p", "soil_moisture", 30, "%", channel="30cm"),
                                    L("q", "soil_moisture", 18, "%"), L("q", "soil_temperature", 9, "°C")],
                                   {"q": 15.0}, 25.0)  # fmt: skip
    assert [(t.sensor, t.moisture, t.threshold, t.dry) for t in trees] == [
        ("p", 20, 25, True),
        ("q", 18, 15, False),
    ]
