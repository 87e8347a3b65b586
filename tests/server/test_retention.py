"""Retention on the server: single records go after their stream's days, the tallies stay."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from a2d.timeutil import iso
from sync_server import cli, config, retention
from sync_server.app import create_app
from sync_server.config import RETENTION_DEFAULTS, ServerSettings
from sync_server.db import Database, Reading, Window
from sync_server.db import _base as db_base

from ..conftest import wait_for

START = datetime(2025, 1, 1, 9, tzinfo=UTC)
NOW = "2026-08-01T00:00:00.000000Z"
STREAMS = ("feedback", "uplink", "network", "health")
WHOLE = Window("2024-01-01T00:00:00Z", "2027-01-01T00:00:00Z")


def _fill(db: Database, days: int = 570) -> list[tuple[str, str, str]]:
    """One record a day, received in arrival order, the streams taking turns; each feedback record
    carries a press. Returns (record_id, stream, received_at) of each."""
    out = []
    for day in range(days):
        at = iso(START + timedelta(days=day))
        rid, stream = f"r{day}", STREAMS[day % len(STREAMS)]
        press = Reading(
            "edge-1", rid, "24e1", "Smiley", "button_press", "count", "gut", at[:13] + ":00:00Z", 1.0
        )
        db.store_records([("edge-1", rid, stream, at, "{}", at)], [press] if stream == "feedback" else [])
        out.append((rid, stream, at))
    return out


def _held(db: Database) -> set[str]:
    return {r.record_id for r in db.records()}


def test_each_stream_loses_exactly_its_old_records_and_the_tallies_stay(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_base, "PRUNE_CHUNK", 7)  # many small deletes, as on a large database
    made = _fill(db)
    presses = sum(t.presses for t in db.feedback_tallies(WHOLE, 100))
    days = {**RETENTION_DEFAULTS, "health": 0}  # health kept forever
    cut = retention.cutoffs(days, NOW)
    removed = retention.prune(db, days, NOW)
    gone = {rid for rid, stream, at in made if stream in cut and at < cut[stream]}
    assert _held(db) == {rid for rid, _, _ in made} - gone
    assert removed == {s: sum(1 for _, st, at in made if st == s and at < cut[s]) for s in removed}
    assert removed["network"] > removed["uplink"] > 0 and "health" not in removed
    assert sum(t.presses for t in db.feedback_tallies(WHOLE, 100)) == presses  # totals indefinitely
    assert retention.prune(db, days, NOW) == {}  # nothing left to do


def test_gaps_in_the_arrival_order_do_not_hide_old_records(db: Database) -> None:
    made = _fill(db, 120)
    # the network records (every fourth) are gone already: the arrival numbers have gaps
    retention.prune(db, {"network": 1}, NOW)
    later = iso(START + timedelta(days=100))
    removed = db.prune_records({"feedback": later, "uplink": later})
    old = [(rid, s) for rid, s, at in made if at < later and s in ("feedback", "uplink")]
    assert removed == {
        "feedback": sum(s == "feedback" for _, s in old),
        "uplink": sum(s == "uplink" for _, s in old),
    }
    assert not _held(db) & {rid for rid, _ in old}


def test_the_server_prunes_when_it_starts(db: Database, db_url: str) -> None:
    _fill(db, 40)  # all of it more than a year old
    kept = ServerSettings(db=db_url, retention_days={"uplink": 0, "feedback": 0, "network": 0, "health": 0})
    with TestClient(create_app(kept, db)) as c:
        assert c.get("/api/v1/healthz").status_code == 200
    assert len(_held(db)) == 40
    health_forever = ServerSettings(db=db_url, retention_days={**RETENTION_DEFAULTS, "health": 0})
    with TestClient(create_app(health_forever, db)):
        wait_for(
            lambda: _held(db) == {f"r{d}" for d in range(40) if STREAMS[d % 4] == "health"}, what="pruned"
        )


def test_prune_command_reports_per_stream(
    db: Database, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _fill(db, 8)
    assert cli.main(["prune", "--db", db_url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"feedback": 2, "health": 2, "network": 2, "uplink": 2}
    assert cli.main(["prune", "--db", db_url]) == 0
    assert capsys.readouterr().out.startswith(
        "removed nothing (retention: button 400 days, feedback 400 days"
    )


def test_retention_days_come_from_the_file_and_the_environment(tmp_path: Path) -> None:
    toml = tmp_path / "server.toml"
    toml.write_text("[retention]\nfeedback_days = 30\nnetwork_days = 0\n")
    settings = config.load(toml, env={"A2D_RETENTION_UPLINK_DAYS": "10"})
    assert settings.retention_days == {**RETENTION_DEFAULTS, "feedback": 30, "network": 0, "uplink": 10}
    assert "network" not in retention.cutoffs(settings.retention_days, NOW)  # 0: kept forever


def test_records_after_everything_was_pruned_are_pruned_in_their_turn(db: Database) -> None:
    _fill(db, 12)
    assert (
        sum(retention.prune(db, {"uplink": 1, "feedback": 1, "network": 1, "health": 1}, NOW).values()) == 12
    )
    # the table is empty: SQLite may number the next records as it did the pruned ones
    made = _fill(db, 8)
    later = iso(START + timedelta(days=5))
    removed = db.prune_records({"feedback": later})
    assert removed == {"feedback": sum(1 for _, s, at in made if s == "feedback" and at < later)}


def test_an_old_event_goes_even_if_it_arrived_yesterday(db: Database) -> None:
    """Retention counts from the event's time: a device that caught up after an outage uploads
    records whose events are older than their stream's days; they go at the next prune."""
    yesterday = "2026-07-31T00:00:00.000000Z"
    rows = [
        ("edge-1", "old-event", "uplink", "2025-01-01T09:00:00.000000Z", "{}", yesterday),
        ("edge-1", "recent-event", "uplink", "2026-07-30T09:00:00.000000Z", "{}", yesterday),
        ("edge-1", "old-health", "health", "2026-04-01T09:00:00.000000Z", "{}", yesterday),
    ]
    db.store_records(rows)
    removed = retention.prune(db, RETENTION_DEFAULTS, NOW)
    assert removed == {"uplink": 1, "health": 1}
    assert _held(db) == {"recent-event"}


def test_an_event_time_after_the_arrival_counts_from_the_arrival(db: Database) -> None:
    """A device whose clock ran ahead: its record still goes its stream's days after it arrived."""
    db.store_records(
        [("edge-1", "ahead", "network", "2027-05-01T00:00:00.000000Z", "{}", "2026-05-01T00:00:00.000000Z")]
    )
    assert retention.prune(db, RETENTION_DEFAULTS, NOW) == {"network": 1}
    assert _held(db) == set()


def test_a_record_uploaded_with_an_old_time_is_pruned(db: Database, db_url: str) -> None:
    from a2d.syncwire import records_path

    from .conftest import add_device, bearer

    device, token = add_device(db, "edge-late")
    kept = ServerSettings(db=db_url, retention_days={s: 0 for s in RETENTION_DEFAULTS})
    with TestClient(create_app(kept, db)) as c:
        records = [{"record_id": f"late-{i}", "stream": "feedback", "ts": ts, "payload": {}}
                   for i, ts in enumerate(["2025-03-01T10:00:00+01:00", iso(datetime.now(UTC))])]  # fmt: skip
        assert (
            c.post(records_path(device), json={"records": records}, headers=bearer(token)).status_code == 200
        )
    assert retention.prune(db, RETENTION_DEFAULTS) == {"feedback": 1}
    assert _held(db) == {"late-1"}


def test_replaced_bundles_go_after_400_days_and_the_current_one_stays(db: Database) -> None:
    from sync_server.db import BundleInfo

    def publish(version: str, at: str) -> None:
        counter = db.assign_bundle_counter("content")
        info = BundleInfo("all", "content", version, "00" * 32, 10, at, counter=counter)
        db.publish_bundles([(info, f'{{"v": "{version}"}}')])

    publish("v1", "2025-01-01T00:00:00.000000Z")
    publish("v2", "2025-03-01T00:00:00.000000Z")  # v1 replaced 2025-03-01: more than 400 days before NOW
    publish("v3", "2025-12-01T00:00:00.000000Z")  # v2 replaced 2025-12-01: less
    assert [b.version for b in db.bundles(history=True)] == ["v1", "v2", "v3"]
    removed = retention.prune(db, RETENTION_DEFAULTS, NOW)
    assert removed == {"bundle_history": 1}
    assert [b.version for b in db.bundles(history=True)] == ["v2", "v3"]
    assert retention.prune(db, RETENTION_DEFAULTS, NOW, bundle_history_days=0) == {}  # 0: kept forever
    assert config.load(env={"A2D_RETENTION_BUNDLE_HISTORY_DAYS": "30"}).bundle_history_days == 30


def _spans(db_url: str) -> list[tuple[str, str, str]]:
    """The spans of late records, read straight from the database."""
    import psycopg

    from sync_server.db import sqlite_path

    query = "SELECT stream, min_ts, max_ts FROM record_spans ORDER BY id"
    path = sqlite_path(db_url)
    if path is not None:
        conn = sqlite3.connect(path)
        rows = conn.execute(query).fetchall()
        conn.close()
    else:
        with psycopg.connect(db_url) as pg:
            rows = pg.execute(query).fetchall()
    return [(str(a), str(b), str(c)) for a, b, c in rows]


def test_only_late_uploads_note_a_span_and_a_pruned_span_goes(db: Database, db_url: str) -> None:
    """Records on time cost retention nothing at upload; a catch-up notes one span per stream."""
    now = "2026-07-31T12:00:00.000000Z"
    on_time = [
        ("edge-1", f"t{i}", "uplink", f"2026-07-31T11:{i:02d}:00.000000Z", "{}", now) for i in range(30)
    ]
    db.store_records(on_time)
    assert _spans(db_url) == []
    late = [("edge-1", f"l{i}", s, f"2025-0{1 + i % 3}-01T00:00:00.000000Z", "{}", now)
            for i, s in enumerate(["uplink", "health"] * 3)]  # fmt: skip
    db.store_records(late)
    assert sorted(_spans(db_url)) == [
        ("health", "2025-01-01T00:00:00.000000Z", "2025-03-01T00:00:00.000000Z"),
        ("uplink", "2025-01-01T00:00:00.000000Z", "2025-03-01T00:00:00.000000Z"),
    ]
    db.store_records(late)  # uploaded again: nothing new, no span
    assert len(_spans(db_url)) == 2
    assert retention.prune(db, {"health": 90}, NOW) == {"health": 3}
    assert [s for s, _, _ in _spans(db_url)] == ["uplink"]  # every health record of the span is gone
    assert retention.prune(db, {"uplink": 532}, NOW) == {"uplink": 2}  # 2025-03-01 is not 532 days old
    assert _spans(db_url) == [("uplink", "2025-01-01T00:00:00.000000Z", "2025-03-01T00:00:00.000000Z")]
    assert _held(db) == {f"t{i}" for i in range(30)} | {"l2"}
