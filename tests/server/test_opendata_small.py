"""Open data never shows a single person's answer: counts of people or presses below
``opendata.min_count`` (5) are not published, on SQLite and PostgreSQL. A feedback tally adds up
hours of at least 5 presses, and the rest of a UTC day that lies wholly in the window when that
rest holds at least 5."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi.testclient import TestClient

from a2d.syncwire import API, records_path
from sync_server.config import load
from sync_server.db import Database, Reading

from .conftest import add_device, bearer

OD = f"{API}/opendata"
DAY = {"from": "2026-11-02T00:00:00Z", "to": "2026-11-03T00:00:00Z"}


def vote(rid: str, ts: str, channel: str = "poll-7:3") -> dict[str, Any]:
    """A kiosk vote as the edge uploads it: one press whose channel is poll and choice."""
    return {"record_id": rid, "stream": "feedback", "ts": ts,
            "payload": {"kind": "vote", "stream": "feedback", "device_name": "kiosk-1", "dev_eui": None,
                        "measurements": [{"quantity": "button_press", "value": 1, "unit": "count",
                                          "channel": channel}]}}  # fmt: skip


def presses(client: TestClient, **params: str) -> list[tuple[str, int, str, str]]:
    rows = client.get(f"{OD}/feedback.json", params=params).json()["rows"]
    return [(r["channel"], r["presses"], r["first_hour"], r["last_hour"]) for r in rows]


def store(
    db: Database, device: str, quantity: str, unit: str, counts: dict[str, float], channel: str = ""
) -> None:
    """Hourly readings straight into the aggregates: ``{hour: value}``, one reading each."""
    n = len(list(db.records()))
    rows, found = [], []
    for i, (hour, value) in enumerate(counts.items()):
        rid = f"{quantity}-{n + i}"
        rows.append((device, rid, "uplink", hour, "{}", hour))
        found.append(Reading(device, rid, "24e1", "sensor", quantity, unit, channel, hour, value))
    db.store_records(rows, found)


def test_one_vote_is_not_published_seven_in_one_hour_are(client: TestClient, db: Database) -> None:
    device, token = add_device(db, "edge-kiosk")
    first = client.post(records_path(device), json={"records": [vote("v0", "2026-11-02T09:01:00Z")]},
                        headers=bearer(token))  # fmt: skip
    assert first.status_code == 200
    text = client.get(f"{OD}/feedback.csv", params=DAY).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows == []  # not a row with 1 press
    hourly = client.get(f"{OD}/measurements.json", params={**DAY, "quantity": "button_press"}).json()["rows"]
    assert hourly == []
    more = [vote(f"v{i}", f"2026-11-02T09:{10 + i:02d}:00Z") for i in range(1, 7)]
    assert client.post(records_path(device), json={"records": more}, headers=bearer(token)).status_code == 200
    rows = list(csv.DictReader(io.StringIO(client.get(f"{OD}/feedback.csv", params=DAY).text)))
    assert [(r["channel"], r["presses"]) for r in rows] == [("poll-7:3", "7")]
    hourly = client.get(f"{OD}/measurements.json", params={**DAY, "quantity": "button_press"}).json()["rows"]
    assert [(h["channel"], h["count"]) for h in hourly] == [("poll-7:3", 7)]


def test_small_hours_are_folded_into_their_day_when_the_day_is_whole(
    client: TestClient, db: Database
) -> None:
    # 2 presses in each of four hours: no hour may be shown, their day of 8 may
    store(
        db,
        "edge-1",
        "button_press",
        "count",
        {f"2026-11-02T{h:02d}:00:00Z": 2 for h in (8, 10, 13, 17)},
        "gut",
    )
    assert presses(client, **DAY) == [("gut", 8, "2026-11-02T00:00:00Z", "2026-11-02T23:00:00Z")]
    # a window that holds only part of the day shows nothing of it: a difference of two windows
    # never comes down to fewer than five presses
    assert presses(client, **{"from": "2026-11-02T00:00:00Z", "to": "2026-11-02T16:00:00Z"}) == []
    assert presses(client, **{"from": "2026-11-02T09:00:00Z", "to": "2026-11-04T00:00:00Z"}) == []
    assert presses(client, **{"from": "2026-11-01T05:00:00Z", "to": "2026-11-03T00:00:00Z"}) == [
        ("gut", 8, "2026-11-02T00:00:00Z", "2026-11-02T23:00:00Z")
    ]


def test_an_hour_with_enough_presses_is_shown_and_a_small_rest_is_not(
    client: TestClient, db: Database
) -> None:
    store(db, "edge-1", "button_press", "count",
          {"2026-11-02T09:00:00Z": 6, "2026-11-02T11:00:00Z": 1, "2026-11-02T15:00:00Z": 2}, "schlecht")  # fmt: skip
    assert presses(client, **DAY) == [("schlecht", 6, "2026-11-02T09:00:00Z", "2026-11-02T09:00:00Z")]
    store(db, "edge-1", "button_press", "count", {"2026-11-02T20:00:00Z": 2}, "schlecht")  # the rest: 5
    assert presses(client, **DAY) == [("schlecht", 11, "2026-11-02T00:00:00Z", "2026-11-02T23:00:00Z")]


def test_hourly_counts_of_people_below_five_are_left_out(client: TestClient, db: Database) -> None:
    hours = {f"2026-11-02T{h:02d}:00:00Z": v for h, v in ((8, 0), (9, 1), (10, 4), (11, 5), (12, 30))}
    store(db, "edge-1", "people_in", "count", hours)
    store(db, "edge-1", "occupancy", "count", {"2026-11-02T09:00:00Z": 2, "2026-11-02T10:00:00Z": 9})
    store(db, "edge-1", "soil_moisture", "%", {"2026-11-02T09:00:00Z": 1.5})
    rows = client.get(f"{OD}/measurements.json", params=DAY).json()["rows"]
    shown = [(r["quantity"], r["hour"][11:13], r["sum"]) for r in rows]
    assert shown == [
        ("people_in", "08", 0),  # nobody passed: that is no one's answer
        ("soil_moisture", "09", 1.5),  # not a count of people: every value is shown
        ("occupancy", "10", 9),
        ("people_in", "11", 5),
        ("people_in", "12", 30),
    ]


def test_the_threshold_is_a_setting_and_the_catalogue_says_what_it_does(client: TestClient) -> None:
    assert load(env={}).opendata_min_count == 5
    assert load(env={"A2D_OPENDATA_MIN_COUNT": "10"}).opendata_min_count == 10
    doc = client.get(OD).json()
    assert doc["min_count"] == 5 and "from 1 to 4" in doc["small_counts"]
