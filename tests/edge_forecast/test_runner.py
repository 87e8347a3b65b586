"""The forecast runner on the device: ONNX as trained, counts from stored events, the nowcast."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from a2d import forecastwire, hourgrid, timeutil
from edge_agent import forecaststore
from edge_agent.bundles import DeviceTrust
from edge_agent.eventrow import EventRow
from edge_agent.forecast import ModelSource, NoForecast, NoModel, local_midnight, nowcast_factor
from edge_agent.forecastmodel import Model, Result, forecast, series_before
from edge_agent.localapi.forecast import today_summary
from edge_agent.store import Store
from forecasting import features as ff

from .trained import trained

TZ = "Europe/Berlin"
pytestmark = pytest.mark.filterwarnings("ignore:Field onnx.AttributeProto.ints:DeprecationWarning")


def _model() -> Model:
    manifest, onnx = forecastwire.unpack(trained().content)
    return Model(manifest, onnx, "file")


def _at(hour_local: int) -> datetime:
    """Today (local) at ``hour_local``:30, as UTC."""
    now = datetime.now(UTC).astimezone(hourgrid.zone(TZ))
    return now.replace(hour=hour_local, minute=30, second=0, microsecond=0).astimezone(UTC)


def _features_today(model: Model, now: datetime) -> tuple[ff.FloatArray, ff.FloatArray]:
    """(features, base) of a forecast from today's midnight with the bundle's own counts only."""
    origin = local_midnight(now, TZ)
    first = origin - ff.HISTORY_HOURS
    history = series_before(model.manifest, {}, first, origin)
    lh = ff.local_hours(first, ff.HISTORY_HOURS + ff.HORIZON_HOURS, TZ)
    return ff.design(history, lh, model.manifest.calendar, ff.HISTORY_HOURS)


def test_onnx_on_the_device_equals_the_trained_model() -> None:
    model = _model()
    x, _base = _features_today(model, _at(9))
    device = model.raw(x)
    server = trained().forecaster.raw(x)
    assert device.shape == (ff.HORIZON_HOURS,)
    assert float(np.max(np.abs(device - server))) <= 1e-4


def test_a_forecast_covers_today_and_13_more_days_with_an_ordered_band() -> None:
    r = forecast(_model(), {}, _at(9))
    assert r.origin == local_midnight(_at(9), TZ)
    local = hourgrid.hour_start(r.origin).astimezone(hourgrid.zone(TZ))
    assert (local.hour, local.minute) == (0, 0)
    assert len(r.p50) == 336
    assert np.all(r.p10 <= r.p50 + 1e-9) and np.all(r.p50 <= r.p90 + 1e-9)
    # the synthetic place is quiet at night and busy around noon, as the counts it learnt from
    night, noon = r.p50[3], r.p50[12]
    assert noon > 5 * night


def test_a_restless_last_week_widens_the_band_on_the_device() -> None:
    model = _model()
    m = model.manifest
    assert m.spread_reference is not None
    now = _at(9)
    calm = forecast(model, {}, now)
    # the week before today strays from the model's history by random factors
    rng = np.random.default_rng(4)
    week = range(calm.origin - ff.WEEK, calm.origin)
    known = [h for h in week if m.history[h - m.history_start] is not None]
    counts = {
        h: float(m.history[h - m.history_start] or 0.0) * float(np.exp(rng.normal(0, 0.5))) for h in known
    }
    restless = forecast(model, counts, now)
    day = slice(10, 16)  # busy hours, where P10 is far from zero

    def width(r: Result) -> ff.FloatArray:
        return np.log1p(r.p90[day]) - np.log1p(r.p10[day])

    ratio = width(restless) / width(calm)
    assert np.all(ratio > 1.5), ratio
    # the band of the same hours, scaled by the spread the device measured
    assert np.allclose(ratio, ratio[0])


def test_a_bundle_from_before_the_scaled_band_keeps_its_offsets() -> None:
    model = _model()
    d = model.manifest.as_dict()
    del d["band"]["spread_reference"]
    del d["shrink"]
    old = forecastwire.Manifest.from_dict(d)
    assert old.spread_reference is None and old.shrink == 1.0
    r = forecast(Model(old, model.onnx, "file"), {}, _at(9))
    day = slice(10, 16)
    np.testing.assert_allclose(np.log1p(r.p90[day]) - np.log1p(r.p50[day]), old.high[0], rtol=1e-5)
    np.testing.assert_allclose(np.log1p(r.p10[day]) - np.log1p(r.p50[day]), old.low[0], rtol=1e-5)


def test_the_device_takes_the_share_of_the_correction_the_bundle_says() -> None:
    model = _model()
    now = _at(9)
    x, base = _features_today(model, now)
    for shrink in (0.0, 0.5, 1.0):
        m = Model(dataclasses.replace(model.manifest, shrink=shrink), model.onnx, "file")
        r = forecast(m, {}, now)
        np.testing.assert_allclose(r.p50, ff.counts(shrink * model.raw(x), base), rtol=1e-5)


def test_nowcast_factor() -> None:
    assert nowcast_factor(expected=2.0, observed=10.0, day_expected=1000.0) == 1.0  # too early to tell
    assert nowcast_factor(expected=300.0, observed=300.0, day_expected=1000.0) == pytest.approx(1.0)
    up = nowcast_factor(expected=250.0, observed=500.0, day_expected=1000.0)
    down = nowcast_factor(expected=250.0, observed=125.0, day_expected=1000.0)
    assert 1.0 < up < 2.0 and 0.5 < down < 1.0  # damped: half the deviation after a quarter of the day
    assert up == pytest.approx(2**0.5, rel=0.01) and down == pytest.approx(0.5**0.5, rel=0.01)
    late = nowcast_factor(expected=900.0, observed=1800.0, day_expected=1000.0)
    assert up < late <= 2**0.8 + 1e-9  # later in the day more of it, never all
    assert nowcast_factor(expected=100.0, observed=100_000.0, day_expected=100.0) <= 4.0**0.8 + 1e-9


def test_todays_counts_correct_the_rest_of_today_only() -> None:
    model = _model()
    now = _at(14)
    plain = forecast(model, {}, now)
    origin = plain.origin
    # the place is twice as busy today as forecast, from midnight to 14:00
    counts = {origin + i: 2 * float(plain.p50[i]) for i in range(14)}
    r = forecast(model, counts, now)
    factor = r.nowcast["factor"]
    assert r.nowcast["hours_counted"] == 14 and factor > 1.3
    assert r.observed == counts
    now_i = hourgrid.epoch_hour(now) - origin
    np.testing.assert_allclose(r.p50[now_i:24], plain.p50[now_i:24] * factor, rtol=1e-5)
    np.testing.assert_allclose(r.p90[now_i:24], plain.p90[now_i:24] * factor, rtol=1e-5)
    np.testing.assert_allclose(r.p50[:now_i], plain.p50[:now_i])  # hours that are over: as forecast
    np.testing.assert_allclose(r.p50[24:], plain.p50[24:])  # other days: the counts are after their origin


def test_counts_come_from_stored_people_in_measurements(tmp_path: Path) -> None:
    store = Store(tmp_path / "edge.db")
    h0 = hourgrid.epoch_hour(datetime(2026, 6, 2, 8, tzinfo=UTC))

    def row(key: str, eui: str, minute: int, hour: int, values: list[dict[str, object]]) -> EventRow:
        at = timeutil.iso(hourgrid.hour_start(hour) + timedelta(minutes=minute))
        return EventRow(None, key, "chirpstack", "up", "uplink", eui, "zaehler", "app", at, at, 1, 85,
                        "milesight-iot/vs133", "{}", "[]", json.dumps(values), None, "{}")  # fmt: skip

    a, b = "a2d00200000000aa", "a2d00200000000bb"
    pin = {"quantity": "people_in", "unit": "count"}
    rows = [
        row("1", a, 5, h0, [{**pin, "value": 10, "channel": "1"}, {**pin, "value": 4, "channel": "2"}]),
        row("2", a, 45, h0, [{**pin, "value": 6}, {"quantity": "people_out", "value": 99, "unit": "count"}]),
        row("3", b, 10, h0, [{**pin, "value": 100}]),
        row("4", a, 10, h0 + 1, [{**pin, "value": 7}]),
        row("5", a, 10, h0 + 5, [{"quantity": "battery", "value": 90, "unit": "%"}]),
    ]
    with store.atomic() as db:
        store.insert_events(db, rows)
    assert forecaststore.hourly_counts(store.db, h0, h0 + 24) == {h0: 120.0, h0 + 1: 7.0}
    assert forecaststore.hourly_counts(store.db, h0, h0 + 24, counter=a) == {h0: 20.0, h0 + 1: 7.0}
    assert forecaststore.hourly_counts(store.db, h0 + 1, h0 + 2) == {h0 + 1: 7.0}
    store.close()


def test_too_few_counts_is_no_forecast() -> None:
    # eight weeks after the model's counts end, and nothing counted on the device since
    with pytest.raises(NoForecast, match="too few counts"):
        forecast(_model(), {}, datetime.now(UTC) + timedelta(weeks=8))


def test_no_model_or_a_broken_one_is_no_forecast(tmp_path: Path) -> None:
    with pytest.raises(NoModel):
        ModelSource("", tmp_path, DeviceTrust()).current()
    with pytest.raises(NoModel):
        ModelSource(str(tmp_path / "missing.model"), tmp_path, DeviceTrust()).current()
    bad = tmp_path / "bad.model"
    bad.write_bytes(b"not a zip")
    with pytest.raises(NoForecast, match="cannot use the model"):
        ModelSource(str(bad), tmp_path, DeviceTrust()).current()


def _hours(day_p50: dict[int, float]) -> list[forecastwire.HourForecast]:
    z = hourgrid.zone(TZ)
    midnight = hourgrid.epoch_hour(datetime(2026, 6, 2, tzinfo=z))
    out = []
    for i in range(24):
        ts, local = forecastwire.hour_stamps(midnight + i, TZ)
        v = day_p50.get(i, 1.0)
        out.append(forecastwire.HourForecast(ts, local, v * 0.8, v, v * 1.2))
    return out


def test_today_says_from_when_it_is_busy() -> None:
    hours = _hours({9: 500, 10: 100, 15: 420, 16: 450, 17: 200, 21: 900})
    z = hourgrid.zone(TZ)
    at_noon = datetime(2026, 6, 2, 12, 10, tzinfo=z)
    t = today_summary(hours, 400.0, at_noon, TZ)
    assert t["date"] == "2026-06-02" and t["now_local_hour"] == 12
    assert (t["busy_from_local_hour"], t["busy_until_local_hour"], t["busy_earlier"]) == (15, 17, True)
    assert (t["peak_local_hour"], t["peak_p50"]) == (16, 450)  # 21 h lies outside the chart's hours
    evening = today_summary(hours, 400.0, datetime(2026, 6, 2, 18, 0, tzinfo=z), TZ)
    assert evening["busy_from_local_hour"] is None and evening["busy_earlier"] is True
    unknown = today_summary(hours, None, at_noon, TZ)
    assert unknown["busy_from_local_hour"] is None and unknown["busy_earlier"] is False


def test_forecast_settings_are_checked() -> None:
    from a2d.config import ConfigError
    from a2d.errors import KnownError
    from edge_agent import config as edge_config
    from edge_agent.forecast import ForecastSettings

    base = {"device": {"id": "edge-1"}}
    raw = edge_config.parse(base, env={}).raw
    s = ForecastSettings.from_config(raw)
    assert s is not None and (s.model, s.counter, s.refresh_s, s.record) == (
        "",
        "",
        3600.0,
        "besucherprognose",
    )
    off = edge_config.parse({**base, "forecast": {"enabled": False}}, env={}).raw
    assert ForecastSettings.from_config(off) is None
    eui = edge_config.parse({**base, "forecast": {"counter": "24:E1:24:13:6B:31:6D:6A"}}, env={}).raw
    assert ForecastSettings.from_config(eui).counter == "24e124136b316d6a"  # type: ignore[union-attr]
    for bad in ({"counter": "zaehler-1"}, {"refresh_s": 0}):
        with pytest.raises(KnownError, match="forecast"):
            ForecastSettings.from_config(edge_config.parse({**base, "forecast": bad}, env={}).raw)
    with pytest.raises(ConfigError):
        edge_config.parse({**base, "forecast": {"refresh_s": "hourly"}}, env={})
