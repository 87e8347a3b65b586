"""CSV import: local times with and without offsets, duplicates, gaps, DST, finer rows, meters."""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from a2d import hourgrid
from sync_server.forecast import series

BERLIN = "Europe/Berlin"


def _write(tmp_path: Path, text: str, name: str = "counts.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _at(s: series.Series, stamp: str) -> float:
    when = datetime.fromisoformat(stamp)
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(BERLIN))
    return float(s.values[s.index(when)])


def test_with_and_without_offset_give_the_same_hours(tmp_path: Path) -> None:
    naive = _write(tmp_path, "timestamp,count\n2024-06-01T10:00,5\n2024-06-01T11:00,7\n", "a.csv")
    offset = _write(
        tmp_path, "timestamp,count\n2024-06-01T08:00:00Z,5\n2024-06-01T11:00:00+02:00,7\n", "b.csv"
    )
    a, b = series.read_csv(naive, BERLIN), series.read_csv(offset, BERLIN)
    assert a.start == b.start == hourgrid.epoch_hour(datetime.fromisoformat("2024-06-01T08:00:00+00:00"))
    assert list(a.values) == list(b.values) == [5.0, 7.0]


def test_duplicates_conflicts_and_gaps_are_reported(tmp_path: Path) -> None:
    text = (
        "timestamp,count,location\n"
        "2024-06-01T10:00,5,P\n2024-06-01T10:00,5,P\n"  # exact duplicate
        "2024-06-01T11:00,7,P\n2024-06-01T11:00,9,P\n"  # conflict: the last wins
        "2024-06-01T15:00,3,P\n"  # 12, 13, 14 missing
        "2024-06-01T16:00,,P\n"  # no count
        "2024-06-01T17:00,lots,P\n"  # unreadable
    )
    s = series.read_csv(_write(tmp_path, text), BERLIN)
    r = s.report
    assert r.duplicates == 1 and r.conflicting == ["2024-06-01T11:00"]
    assert r.missing_count == 1 and len(r.bad) == 1
    assert _at(s, "2024-06-01T11:00") == 9.0
    assert r.missing_hours == 4 and len(r.gaps) == 2  # 12-14 and 16
    assert math.isnan(_at(s, "2024-06-01T13:00"))
    assert any("duplicate" in line for line in r.lines()) and any("missing" in line for line in r.lines())


def test_dst_start_hour_that_does_not_exist_is_dropped(tmp_path: Path) -> None:
    text = "timestamp,count\n" + "".join(f"2024-03-31T{h:02d}:00,{h + 1}\n" for h in range(5))
    s = series.read_csv(_write(tmp_path, text), BERLIN)
    assert s.report.nonexistent == ["2024-03-31T02:00"]
    assert len(s.values) == 4  # 00, 01, 03, 04 local are four consecutive UTC hours
    assert list(s.values) == [1.0, 2.0, 4.0, 5.0]


def test_dst_end_hour_given_twice_fills_both_hours(tmp_path: Path) -> None:
    text = "timestamp,count\n2024-10-27T01:00,1\n2024-10-27T02:00,2\n2024-10-27T02:00,3\n2024-10-27T03:00,4\n"
    s = series.read_csv(_write(tmp_path, text), BERLIN)
    assert s.report.ambiguous == 1 and s.report.duplicates == 0 and not s.report.conflicting
    assert list(s.values) == [1.0, 2.0, 3.0, 4.0]
    assert s.report.missing_hours == 0


def test_finer_rows_are_summed_into_their_hour(tmp_path: Path) -> None:
    text = "timestamp,count\n" + "".join(f"2024-06-01T10:{m:02d},{m // 15 + 1}\n" for m in (0, 15, 30, 45))
    s = series.read_csv(_write(tmp_path, text), BERLIN)
    assert list(s.values) == [10.0] and s.report.subhourly == 3


def test_several_locations_need_a_choice(tmp_path: Path) -> None:
    text = "timestamp,count,location\n2024-06-01T10:00,5,A\n2024-06-01T10:00,8,B\n"
    p = _write(tmp_path, text)
    with pytest.raises(series.SeriesError, match="--location"):
        series.read_csv(p, BERLIN)
    s = series.read_csv(p, BERLIN, location="B")
    assert list(s.values) == [8.0] and s.report.other_locations == 1


def test_meter_readings_become_use_per_hour(tmp_path: Path) -> None:
    text = "timestamp,reading\n2024-06-01T10:00Z,100\n2024-06-01T11:00Z,103\n2024-06-01T12:00Z,108\n2024-06-01T13:00Z,2\n"
    s = series.read_csv(_write(tmp_path, text), BERLIN, value_column="reading", cumulative=True)
    assert list(s.values[:2]) == [3.0, 5.0]
    assert s.report.negative_steps == 1


def test_missing_column_is_a_known_error(tmp_path: Path) -> None:
    with pytest.raises(series.SeriesError, match="count"):
        series.read_csv(_write(tmp_path, "time,visitors\n2024-06-01T10:00,5\n"), BERLIN)
    with pytest.raises(series.SeriesError, match="cannot read"):
        series.read_csv(tmp_path / "nope.csv", BERLIN)


def test_the_real_moers_file_reads() -> None:
    data = Path(__file__).resolve().parents[1] / "data" / "pedestrian_counts"
    s = series.read_csv(data / "moers_steinstrasse_hourly_2022-05_2022-07.csv", BERLIN)
    assert s.report.used > 2000 and np.nanmax(s.values) > 100
    assert s.location == "Steinstraße, Moers"


def test_series_from_the_servers_hourly_aggregates(tmp_path: Path) -> None:
    from a2d.syncwire import read_upload
    from sync_server.db import open_database
    from sync_server.readings import readings

    url = f"sqlite:///{tmp_path / 'server.db'}"
    db = open_database(url)
    db.migrate()
    rows, found = [], []
    for i, (ts, sensor, n) in enumerate(
        [("2024-06-01T08:10:00Z", "A", 5), ("2024-06-01T08:40:00Z", "B", 3), ("2024-06-01T10:05:00Z", "A", 4)]
    ):
        payload = {
            "dev_eui": sensor,
            "measurements": [{"quantity": "people_in", "value": n, "unit": "count"}],
        }
        (rec,) = read_upload(json.dumps({"records": [{"record_id": f"r{i}", "stream": "uplink", "ts": ts,
                                                      "payload": payload}]}).encode())  # fmt: skip
        rows.append(("edge-1", rec.record_id, rec.stream, rec.ts, rec.text, "2024-06-01T12:00:00.000000Z"))
        found += readings("edge-1", rec)
    db.store_records(rows, found)
    db.close()
    s = series.read_db(url, BERLIN, name="counter", since=datetime(2024, 6, 1, tzinfo=ZoneInfo("UTC")),
                       until=datetime(2024, 6, 2, tzinfo=ZoneInfo("UTC")))  # fmt: skip
    assert s.start == hourgrid.epoch_hour(datetime.fromisoformat("2024-06-01T08:00:00+00:00"))
    assert list(np.nan_to_num(s.values, nan=-1)) == [8.0, -1.0, 4.0]  # both sensors summed, 09:00 missing
    assert s.report.missing_hours == 1
