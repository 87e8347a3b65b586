"""`GET /v1/forecast` on a real agent: 404 without a model, the forecast once the runner stored one."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from a2d import hourgrid
from tests.conftest import wait_for

from .edge import ForecastEdge
from .trained import model_file

pytestmark = pytest.mark.filterwarnings("ignore:Field onnx.AttributeProto.ints:DeprecationWarning")


def test_without_a_model_there_is_no_forecast(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="edge_agent.forecast")
    edge = ForecastEdge(tmp_path)
    edge.start()
    try:
        wait_for(lambda: "no forecast: no model" in caplog.text, 10, "the runner to say there is no model")
        assert edge.get("/v1/forecast") == (404, {"error": "no forecast yet"})
    finally:
        edge.stop()
    assert caplog.text.count("no forecast") == 1  # said once, not on every check


def test_the_agent_forecasts_from_its_model_file_and_serves_it(tmp_path: Path) -> None:
    edge = ForecastEdge(tmp_path, model=model_file(tmp_path))
    doc = edge.first_forecast(20)
    assert doc["series"] == "testplatz" and doc["tz"] == "Europe/Berlin"
    assert doc["model"] == {
        "version": "test-1",
        "kind": "gradient_boosting",
        "trained_at": "2026-01-01T00:00:00Z",
    }
    t = doc["transparency"]
    assert t["record"] == "besucherprognose" and t["personal_data"] == "none"
    assert t["inputs"] == ["counts", "calendar"] and "gradient" in t["model_type"].lower()
    assert t["purpose"] and t["accountable"]
    hours = doc["hours"]
    assert len(hours) == 336  # from today's local midnight: today and 13 more days
    first = datetime.fromisoformat(hours[0]["local"])
    assert (first.hour, first.date()) == (
        0,
        datetime.now(UTC).astimezone(hourgrid.zone("Europe/Berlin")).date(),
    )
    assert hours[0]["ts"].endswith("Z") and datetime.fromisoformat(hours[0]["ts"]) == first
    assert all(h["p10"] <= h["p50"] <= h["p90"] for h in hours)
    today = doc["today"]
    assert today["date"] == first.date().isoformat() and today["chart_hours"] == [8, 20]
    assert doc["busy_threshold"] > 0
    assert "busy_from_local_hour" in today and "factor" in doc["nowcast"]
    with sqlite3.connect(edge.data_dir / "edge.db") as db:
        assert db.execute("SELECT COUNT(*) FROM forecast_hours").fetchone()[0] == 336
        assert db.execute("SELECT name FROM migrations WHERE name = 'm006_forecasts'").fetchone()


def test_a_model_that_goes_away_takes_the_forecast_with_it(tmp_path: Path) -> None:
    path = model_file(tmp_path)
    edge = ForecastEdge(tmp_path, model=path, extra="refresh_s = 0.2\n")
    edge.start()
    try:
        edge.wait_for_forecast(20)
        path.unlink()
        wait_for(
            lambda: edge.get("/v1/forecast")[0] == 404, 20, "the forecast to be withdrawn", interval=0.25
        )
    finally:
        edge.stop()
