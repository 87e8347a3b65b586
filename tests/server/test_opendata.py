"""Open data on SQLite and PostgreSQL: hourly aggregates kept at upload, feedback tallies, CSV and
JSON with the licence, no secrets in any answer, bounded answers."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from a2d.syncwire import API, records_path
from a2d.timeutil import utc_now
from sync_server.app import create_app
from sync_server.config import ServerSettings
from sync_server.db import Database, Reading, Window
from sync_server.opendata import FEEDBACK_FIELDS, MEASUREMENT_FIELDS
from sync_server.registry import hash_token

from .conftest import ADMIN_TOKEN, add_device, bearer

OD = f"{API}/opendata"
ATTRIBUTION = "Stadt Offenburg, Offenburg.digital"
JUNE = {"from": "2025-06-01T00:00:00Z", "to": "2025-06-03T00:00:00Z"}
RAW = "c2VjcmV0LXJhdy1ieXRlcw=="  # base64 of the uplink bytes: never published


def open_data_client(db: Database, db_url: str, max_rows: int) -> TestClient:
    """A server that publishes every count (these tests are about the tables; test_opendata_small
    is about the smallest counts) and keeps the June 2025 records (retention counts from their time)."""
    settings = ServerSettings(
        db=db_url, admin_token=ADMIN_TOKEN, opendata_attribution=ATTRIBUTION, opendata_max_rows=max_rows,
        opendata_min_count=1, retention_days={"uplink": 0},
    )  # fmt: skip
    return TestClient(create_app(settings, db))


@pytest.fixture
def od(db: Database, db_url: str) -> Iterator[TestClient]:
    with open_data_client(db, db_url, max_rows=1000) as c:
        yield c


@pytest.fixture
def od6(db: Database, db_url: str) -> Iterator[TestClient]:
    """A server that allows at most 6 rows per answer."""
    with open_data_client(db, db_url, max_rows=6) as c:
        yield c


def m(quantity: str, value: Any, unit: str, channel: str | None = None) -> dict[str, Any]:
    out = {"quantity": quantity, "value": value, "unit": unit}
    return out if channel is None else {**out, "channel": channel}


def record(rid: str, ts: str, *measurements: dict[str, Any], dev_eui: str = "24e124538b223344",
           name: str = "feedback-rathaus-eg-1") -> dict[str, Any]:  # fmt: skip
    """A record as the edge agent uploads it: the stored event with its measurements."""
    return {
        "record_id": rid, "stream": "uplink", "ts": ts,
        "payload": {"id": 1, "source": "chirpstack", "kind": "up", "stream": "uplink", "dev_eui": dev_eui,
                    "device_name": name, "received_at": ts, "raw": RAW, "codec": "milesight-iot/ws101",
                    "decoded": {"button": "short", "secret_note": "vendor-field-7"},
                    "measurements": list(measurements), "meta": {"gateway_id": "0016c001f153a14c"}},
    }  # fmt: skip


def upload(client: TestClient, device: str, token: str, *records: dict[str, Any]) -> None:
    r = client.post(records_path(device), json={"records": list(records)}, headers=bearer(token))
    assert r.status_code == 200, r.text


SOIL = "a84041000181c2d1"
KNOWN = (
    record("s1", "2025-06-02T08:05:00.000000Z", m("soil_moisture", 20, "%"), m("soil_temperature", 14.5, "°C"),
           dev_eui=SOIL, name="baumscheibe-3"),
    record("s2", "2025-06-02T08:35:00.000000Z", m("soil_moisture", 22.5, "%"), m("soil_temperature", 15.0, "°C"),
           dev_eui=SOIL, name="baumscheibe-3"),
    record("s3", "2025-06-02T08:59:59.999999Z", m("soil_moisture", 30, "%"), dev_eui=SOIL, name="baumscheibe-3"),
    record("s4", "2025-06-02T09:00:00.000000Z", m("soil_moisture", 18, "%"), dev_eui=SOIL, name="baumscheibe-3"),
    # outside the canonical vocabulary or not a number: skipped, the record is still stored
    record("s5", "2025-06-02T08:10:00+02:00", m("soil_moisture", 99, "permille"), m("wind", 3, "m/s"),
           m("soil_moisture", "24", "%"), m("soil_moisture", True, "%"), m("soil_moisture", 25, "%"),
           dev_eui=SOIL, name="baumscheibe-3"),
)  # fmt: skip


def test_the_aggregates_of_a_known_upload(od: TestClient, db: Database) -> None:
    device, token = add_device(db, "edge-park")
    upload(od, device, token, *KNOWN)
    r = od.get(f"{OD}/measurements.json", params=JUNE)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["licence"] == {"id": "dl-de/by-2-0", "name": "Datenlizenz Deutschland – Namensnennung – Version 2.0",
                              "url": "https://www.govdata.de/dl-de/by-2-0"}  # fmt: skip
    assert doc["attribution"] == ATTRIBUTION and doc["dataset"] == "measurements"
    assert (doc["from"], doc["to"], doc["count"]) == ("2025-06-01T00:00:00Z", "2025-06-03T00:00:00Z", 4)
    who = {"device_id": device, "sensor": SOIL, "sensor_name": "baumscheibe-3", "channel": None}
    moisture, temperature = (
        {"quantity": "soil_moisture", "unit": "%"},
        {"quantity": "soil_temperature", "unit": "°C"},
    )
    assert doc["rows"] == [
        # s5 was taken at 06:10 UTC; of its readings only 25 % is canonical
        {"hour": "2025-06-02T06:00:00Z", **who, **moisture, "count": 1, "sum": 25, "mean": 25, "min": 25, "max": 25},
        {"hour": "2025-06-02T08:00:00Z", **who, **moisture, "count": 3, "sum": 72.5, "mean": 24.166667,
         "min": 20, "max": 30},
        {"hour": "2025-06-02T08:00:00Z", **who, **temperature, "count": 2, "sum": 29.5, "mean": 14.75,
         "min": 14.5, "max": 15},
        {"hour": "2025-06-02T09:00:00Z", **who, **moisture, "count": 1, "sum": 18, "mean": 18, "min": 18, "max": 18},
    ]  # fmt: skip
    assert [rec.record_id for rec in db.records(device)] == ["s1", "s2", "s3", "s4", "s5"]


def test_the_window_holds_the_hours_starting_in_from_to(od: TestClient, db: Database) -> None:
    device, token = add_device(db, "edge-park")
    upload(od, device, token, *KNOWN)

    def hours(**params: str) -> list[tuple[str, str]]:
        r = od.get(f"{OD}/measurements.json", params=params)
        assert r.status_code == 200, r.text
        return [(row["hour"][11:13], row["quantity"]) for row in r.json()["rows"]]

    # from rounds up to a full hour, to is exclusive
    assert hours(**{"from": "2025-06-02T07:30:00Z", "to": "2025-06-02T09:00:00Z"}) == [
        ("08", "soil_moisture"), ("08", "soil_temperature")]  # fmt: skip
    assert hours(**{"from": "2025-06-02T10:00:00+02:00", "to": "2025-06-02T09:00:01Z"}) == [
        ("08", "soil_moisture"), ("08", "soil_temperature"), ("09", "soil_moisture")]  # fmt: skip
    assert hours(**JUNE, quantity="soil_temperature") == [("08", "soil_temperature")]
    assert hours(**JUNE, sensor="0000000000000000") == []
    assert hours(**JUNE, device_id="edge-other") == []
    assert hours() == []  # the default window is the last 7 days, and June 2025 is not among them
    upload(od, device, token, record("now", utc_now(), m("soil_moisture", 31, "%"), dev_eui=SOIL))
    assert [quantity for _, quantity in hours()] == ["soil_moisture"]


def test_a_record_uploaded_again_counts_once(od: TestClient, db: Database) -> None:
    device, token = add_device(db, "edge-rathaus")
    press = [
        record(f"p{i}", f"2025-06-02T10:{i:02d}:00Z", m("button_press", 1, "count", "short"))
        for i in range(6)
    ]
    upload(od, device, token, *press[:4])
    upload(od, device, token, *press[:4])  # the answer was lost: the same batch again
    upload(od, device, token, *press[2:], press[5])  # overlapping, and one record twice in one batch
    changed = record("p0", "2025-06-02T10:00:00Z", m("button_press", 5, "count", "short"))
    upload(od, device, token, changed)  # a held record keeps its first payload, and its first count
    rows = od.get(f"{OD}/measurements.json", params=JUNE).json()["rows"]
    assert [(row["channel"], row["count"], row["sum"]) for row in rows] == [("short", 6, 6)]
    tally = od.get(f"{OD}/feedback.json", params=JUNE).json()["rows"]
    assert [(row["channel"], row["presses"]) for row in tally] == [("short", 6)]
    # another device uploading the same record ids counts on its own
    other, other_token = add_device(db, "edge-bahnhof")
    upload(od, other, other_token, *press[:2])
    tallies = od.get(f"{OD}/feedback.json", params=JUNE).json()["rows"]
    assert sorted((row["device_id"], row["presses"]) for row in tallies) == [(other, 2), (device, 6)]


def test_the_database_adds_only_the_readings_of_new_records(db: Database) -> None:
    """The backend's own contract, without the app: readings of held records are ignored."""
    row = (
        "edge-1", "r1", "uplink", "2025-06-02T10:00:00Z", "{}", "2025-06-02T10:00:01Z",
    )  # fmt: skip
    reading = Reading("edge-1", "r1", SOIL, "", "soil_moisture", "%", "", "2025-06-02T10:00:00Z", 40.0)
    db.store_records([row], [reading])
    db.store_records([row], [reading._replace(value=99.0)])
    db.store_records([row], [])
    hourly = db.hourly(Window("2025-06-02T00:00:00Z", "2025-06-03T00:00:00Z"), 10)
    assert [(h.readings, h.total, h.low, h.high) for h in hourly] == [(1, 40.0, 40.0, 40.0)]


def test_racing_uploads_of_the_same_records_count_once(db: Database) -> None:
    """A retry racing its original (or two server processes): the records and their readings once."""
    rows = [
        ("edge-1", f"r{i}", "uplink", "2025-06-02T10:00:00Z", "{}", "2025-06-02T10:00:01Z")
        for i in range(200)
    ]
    readings = [Reading("edge-1", f"r{i}", SOIL, "", "soil_moisture", "%", "", "2025-06-02T10:00:00Z", float(i))
                for i in range(200)]  # fmt: skip
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: db.store_records(rows[k * 10 :], readings[k * 10 :]), range(8)))
    (hourly,) = db.hourly(Window("2025-06-02T00:00:00Z", "2025-06-03T00:00:00Z"), 10)
    assert (hourly.readings, hourly.total, hourly.low, hourly.high) == (200, sum(range(200)), 0.0, 199.0)


SMILEY = "24e124000000aa01"
FEEDBACK = (
    record("f1", "2025-06-02T08:01:00Z", m("button_press", 1, "count", "short"), m("battery", 98, "%")),
    record("f2", "2025-06-02T08:02:00Z", m("button_press", 1, "count", "double")),
    record("f3", "2025-06-02T11:40:00Z", m("button_press", 1, "count", "short")),
    record("f4", "2025-06-02T09:00:00Z", m("button_press", 1, "count", "1"), dev_eui=SMILEY, name="smileys-eg"),
    record("f5", "2025-06-02T09:05:00Z", m("button_press", 2, "count", "3"), dev_eui=SMILEY, name="smileys-eg"),
    record("f6", "2025-06-03T09:05:00Z", m("button_press", 1, "count", "3"), dev_eui=SMILEY, name="smileys-eg"),
)  # fmt: skip


def test_feedback_tallies_per_device_sensor_and_answer(od: TestClient, db: Database) -> None:
    device, token = add_device(db, "edge-rathaus")
    upload(od, device, token, *FEEDBACK, *KNOWN)
    doc = od.get(f"{OD}/feedback.json", params=JUNE).json()
    assert doc["dataset"] == "feedback" and doc["licence"]["id"] == "dl-de/by-2-0"
    assert doc["attribution"] == ATTRIBUTION
    assert [(r["sensor"], r["sensor_name"], r["channel"], r["presses"], r["first_hour"][11:13], r["last_hour"][11:13])
            for r in doc["rows"]] == [
        ("24e124000000aa01", "smileys-eg", "1", 1, "09", "09"),
        ("24e124000000aa01", "smileys-eg", "3", 2, "09", "09"),  # f6 lies on June 3, outside the window
        ("24e124538b223344", "feedback-rathaus-eg-1", "double", 1, "08", "08"),
        ("24e124538b223344", "feedback-rathaus-eg-1", "short", 2, "08", "11"),
    ]  # fmt: skip
    assert {r["device_id"] for r in doc["rows"]} == {device}
    one = od.get(f"{OD}/feedback.json", params={**JUNE, "sensor": SMILEY, "to": "2025-06-04"}).json()["rows"]
    assert [(r["channel"], r["presses"]) for r in one] == [("1", 1), ("3", 3)]
    assert od.get(f"{OD}/feedback.json", params={**JUNE, "device_id": "edge-other"}).json()["rows"] == []


def _csv(client: TestClient, path: str, **params: str) -> list[dict[str, str]]:
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["link"] == '<https://www.govdata.de/dl-de/by-2-0>; rel="license"'
    reader = csv.DictReader(io.StringIO(r.content.decode("utf-8"), newline=""))
    rows = list(reader)
    return [{"__header__": ",".join(reader.fieldnames or [])}, *rows]


def test_csv_has_a_header_and_every_row_names_the_licence(od: TestClient, db: Database) -> None:
    device, token = add_device(db, "edge-rathaus")
    upload(od, device, token, *FEEDBACK, *KNOWN)
    head, *rows = _csv(od, f"{OD}/measurements.csv", **JUNE)
    assert head["__header__"] == ("hour,device_id,sensor,sensor_name,quantity,unit,channel,count,sum,mean,min,max,"
                                  "licence,attribution")  # fmt: skip
    assert head["__header__"].split(",")[:-2] == [f.name for f in MEASUREMENT_FIELDS]
    assert len(rows) == len(od.get(f"{OD}/measurements.json", params=JUNE).json()["rows"]) == 10
    assert {(r["licence"], r["attribution"]) for r in rows} == {("dl-de/by-2-0", ATTRIBUTION)}
    moisture = next(
        r for r in rows if r["quantity"] == "soil_moisture" and r["hour"] == "2025-06-02T08:00:00Z"
    )
    assert (moisture["unit"], moisture["count"], moisture["sum"], moisture["mean"], moisture["channel"]) == (
        "%", "3", "72.5", "24.166667", "")  # fmt: skip
    assert any(r["unit"] == "°C" for r in rows)  # UTF-8
    head, *tally = _csv(od, f"{OD}/feedback.csv", **JUNE)
    assert head["__header__"].split(",") == [*(f.name for f in FEEDBACK_FIELDS), "licence", "attribution"]
    assert [(r["channel"], r["presses"]) for r in tally] == [
        ("1", "1"),
        ("3", "2"),
        ("double", "1"),
        ("short", "2"),
    ]
    assert tally[0]["attribution"] == ATTRIBUTION


def test_no_answer_holds_a_payload_a_token_or_a_secret(od: TestClient, db: Database) -> None:
    device, token = add_device(db, "edge-rathaus")
    upload(od, device, token, *FEEDBACK, *KNOWN)
    od.post(
        f"{API}/devices/{device}/heartbeat", json={"uptime_s": 1, "disk_free_bytes": 1}, headers=bearer(token)
    )
    answers = [od.get(OD).text]
    for name in ("measurements", "feedback"):
        for fmt in ("json", "csv"):
            r = od.get(f"{OD}/{name}.{fmt}", params=JUNE)
            assert r.status_code == 200 and len(r.text) > 300
            answers.append(r.text)
    for text in answers:
        for secret in (
            token,
            hash_token(token),
            ADMIN_TOKEN,
            hash_token(ADMIN_TOKEN),
            RAW,
            '"raw"',
            "vendor-field-7",
            "0016c001f153a14c",
            "secret_note",
            "decoded",
            "gateway",
            "payload",
            "chirpstack",
        ):
            assert secret not in text, (secret, text[:200])  # fmt: skip


def test_open_data_needs_no_token_and_ignores_one(od: TestClient, db: Database) -> None:
    device, token = add_device(db, "edge-rathaus")
    upload(od, device, token, *FEEDBACK)
    anonymous = od.get(f"{OD}/feedback.json", params=JUNE)
    with_token = od.get(f"{OD}/feedback.json", params=JUNE, headers=bearer("not-a-token"))
    assert anonymous.status_code == with_token.status_code == 200
    assert anonymous.json()["rows"] == with_token.json()["rows"]
    assert anonymous.headers["access-control-allow-origin"] == "*"


def test_answers_are_bounded_with_a_clear_error(od6: TestClient, db: Database) -> None:
    od = od6
    device, token = add_device(db, "edge-park")
    hours = [record(f"h{i}", f"2025-06-02T{i:02d}:30:00Z", m("air_temperature", i, "°C")) for i in range(8)]
    upload(od, device, token, *hours)
    for fmt in ("json", "csv"):
        r = od.get(f"{OD}/measurements.{fmt}", params=JUNE)  # 8 rows match, the server allows 6
        assert r.status_code == 400
        assert r.json()["detail"].startswith("more than 6 rows match: narrow from/to or filter")
    r = od.get(f"{OD}/measurements.json", params={**JUNE, "limit": "3"})
    assert r.status_code == 400 and "ask for up to 6 with ?limit=" in r.json()["detail"]
    for bad in ("0", "7", "-1"):
        r = od.get(f"{OD}/measurements.json", params={**JUNE, "limit": bad})
        assert r.status_code == 400 and r.json()["detail"] == "limit must lie between 1 and 6"
    narrow = od.get(
        f"{OD}/measurements.json", params={"from": "2025-06-02T02:00:00Z", "to": "2025-06-02T08:00Z"}
    )
    assert narrow.status_code == 200 and narrow.json()["count"] == 6
    exact = od.get(
        f"{OD}/measurements.json", params={"from": "2025-06-02T05:00:00Z", "to": "2025-06-03", "limit": 3}
    )
    assert exact.status_code == 200 and [r["sum"] for r in exact.json()["rows"]] == [5, 6, 7]


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"from": "yesterday"}, "from: 'yesterday' is not an ISO 8601 time"),
        ({"to": "2025-13-01"}, "to: '2025-13-01' is not an ISO 8601 time"),
        ({"from": "2025-06-02T10:00Z", "to": "2025-06-02T09:30Z"}, "from must lie before to"),
        (
            {"from": "2025-06-02T09:10Z", "to": "2025-06-02T09:50Z"},
            "from must lie before to",
        ),  # the same hour
        ({"quantity": "wind_speed"}, "unknown quantity 'wind_speed'; known: button_press, soil_moisture"),
    ],
)
def test_bad_queries_are_400_with_the_reason(od: TestClient, params: dict[str, str], detail: str) -> None:
    for path in ("measurements.json", "measurements.csv", "feedback.json"):
        if "quantity" in params and path.startswith("feedback"):
            continue
        r = od.get(f"{OD}/{path}", params=params)
        assert r.status_code == 400 and r.json()["detail"].startswith(detail), r.text


def test_the_catalogue_names_licence_provider_fields_and_units(od: TestClient) -> None:
    r = od.get(OD)
    assert r.status_code == 200
    doc = r.json()
    assert (
        doc["licence"]["id"] == "dl-de/by-2-0"
        and doc["licence"]["url"] == "https://www.govdata.de/dl-de/by-2-0"
    )
    assert doc["attribution"] == ATTRIBUTION and ATTRIBUTION in doc["how_to_cite"]
    assert doc["limits"] == {"default_rows": 1000, "max_rows": 1000}
    sets = {d["name"]: d for d in doc["datasets"]}
    assert [f["name"] for f in sets["measurements"]["fields"]] == [f.name for f in MEASUREMENT_FIELDS]
    assert [f["name"] for f in sets["feedback"]["fields"]] == [f.name for f in FEEDBACK_FIELDS]
    for d in sets.values():
        for dist in d["distributions"]:
            assert od.get(dist["url"], params=JUNE).status_code == 200, dist
    units = {q["quantity"]: q["unit"] for q in doc["quantities"]}
    assert (
        units["soil_moisture"] == "%"
        and units["conductivity"] == "µS/cm"
        and units["button_press"] == "count"
    )


def test_without_an_attribution_setting_the_answer_says_so(client: TestClient) -> None:
    doc = client.get(f"{OD}/feedback.json").json()
    assert doc["attribution"] is None and doc["rows"] == [] and doc["licence"]["id"] == "dl-de/by-2-0"


def test_the_attribution_and_the_row_bound_are_settings() -> None:
    from sync_server.config import load

    env = {"A2D_SERVER_OPENDATA_ATTRIBUTION": ATTRIBUTION, "A2D_SERVER_OPENDATA_MAX_ROWS": "500"}
    settings = load(env=env)
    assert (settings.opendata_attribution, settings.opendata_max_rows) == (ATTRIBUTION, 500)
    assert (load(env={}).opendata_attribution, load(env={}).opendata_max_rows) == ("", 100000)


def test_csv_text_never_starts_a_spreadsheet_formula(od: TestClient, db: Database) -> None:
    device, token = add_device(db, "edge-rathaus")
    evil = record(
        "e1", "2025-06-02T08:00:00Z", m("button_press", 1, "count", "@SUM(A1)"), name='=HYPERLINK("x")'
    )
    upload(od, device, token, evil)
    _, row = _csv(od, f"{OD}/feedback.csv", **JUNE)
    assert (row["sensor_name"], row["channel"], row["presses"]) == ('\'=HYPERLINK("x")', "'@SUM(A1)", "1")
    assert od.get(f"{OD}/feedback.json", params=JUNE).json()["rows"][0]["sensor_name"] == '=HYPERLINK("x")'
