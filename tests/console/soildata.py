"""Real tree-pit-like soil moisture (tests/data/soil_moisture: 5TM sensors, July 2018) as records an
agent uploads: each of the four sensors is a tree, its daily values moved so that the last day is
today, uploaded through the real records API."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from a2d.syncwire import records_path
from a2d.timeutil import iso
from tests.server.conftest import bearer

DATA = (
    Path(__file__).resolve().parents[1]
    / "data"
    / "soil_moisture"
    / "drummondville_5tm_soil_vwc_daily_2018-07.csv"
)
#: plot and sensor of the corpus -> (the tree's name, the sensor's DevEUI)
TREES = {
    ("E1", "First Sensor"): ("Linde Marktplatz", "a84041000181c001"),
    ("E1", "Second Sensor"): ("Ahorn Rathaus", "a84041000181c002"),
    ("E2", "First Sensor"): ("Platane Zwinger", "a84041000181c003"),
    ("E3", "First Sensor"): ("Eiche Kinzig", "a84041000181c004"),
}


def series() -> dict[str, list[tuple[date, float]]]:
    """DevEUI -> its (day, volumetric water content %) in order, days without a value left out."""
    out: dict[str, list[tuple[date, float]]] = defaultdict(list)
    with DATA.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["Value"]:
                out[TREES[(row["Experimental Plot"], row["Sensor"])][1]].append(
                    (date.fromisoformat(row["date"]), float(row["Value"]))
                )
    return dict(out)


def name_of(dev_eui: str) -> str:
    return next(name for name, eui in TREES.values() if eui == dev_eui)


def records(now: datetime) -> list[dict[str, Any]]:
    """One record a day per sensor, the corpus's last day two hours before ``now``."""
    out = []
    for eui, days in series().items():
        last = days[-1][0]
        for day, value in days:
            ts = now - timedelta(hours=2) - timedelta(days=(last - day).days)
            out.append({"record_id": f"soil:{eui}:{day}", "stream": "uplink", "ts": iso(ts),
                        "payload": {"dev_eui": eui, "device_name": name_of(eui), "measurements": [
                            {"quantity": "soil_moisture", "value": value, "unit": "%"}]}})  # fmt: skip
    return out


def upload(client: TestClient, device: str, token: str, recs: list[dict[str, Any]]) -> None:
    r = client.post(records_path(device), json={"records": recs}, headers=bearer(token))
    assert r.status_code == 200, r.text
