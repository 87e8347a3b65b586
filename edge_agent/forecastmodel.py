"""One forecast from a model: the ONNX model in onnxruntime, the features and the band in numpy.

The runner (:mod:`edge_agent.forecast`) imports this module only once a model file or bundle is
there, so an agent without a model never loads numpy or onnxruntime (they are most of what the
agent would otherwise hold in memory). onnxruntime is imported later still, on the model's first
forecast, and only here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from a2d import forecastwire, hourgrid
from a2d.forecastwire import Manifest
from forecasting import features as ff

from . import forecaststore
from .forecast import NoForecast, local_midnight, nowcast_factor

log = logging.getLogger(__name__)

#: hours of counts within the four weeks before the origin a forecast needs (one week's worth)
MIN_OBSERVED_HOURS = ff.WEEK


@dataclass
class Model:
    manifest: Manifest
    onnx: bytes
    origin: str  # "file" or "bundle"
    _session: Any = None

    def session(self) -> Any:
        if self._session is None:
            try:
                import onnxruntime as ort  # heavier than numpy: loaded on the first forecast, not with the model
            except ImportError as exc:  # the cause tells a missing package from a broken shared library
                raise NoForecast("onnxruntime is not installed (the edge extra)") from exc
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            opts.inter_op_num_threads = 1
            try:
                self._session = ort.InferenceSession(
                    self.onnx, sess_options=opts, providers=["CPUExecutionProvider"]
                )
            except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types for a bad model
                raise NoForecast(f"onnxruntime cannot load the model: {exc}") from exc
        return self._session

    def raw(self, x: ff.FloatArray) -> ff.FloatArray:
        """The model's output (log ratio to the base) for feature rows in :data:`FEATURES` order."""
        try:
            cols = [ff.FEATURES.index(name) for name in self.manifest.features]
        except ValueError as exc:
            raise NoForecast(f"the model needs a feature this device does not know ({exc})") from None
        matrix = np.ascontiguousarray(x[:, cols], dtype=np.float32)
        out = self.session().run(None, {"features": matrix})[0]
        return np.asarray(out, dtype=np.float64).reshape(-1)

    def first_hour(self, now: datetime) -> int:
        """The first epoch hour of counts a forecast at ``now`` reads (its history's start)."""
        return local_midnight(now, self.manifest.tz) - ff.HISTORY_HOURS


def series_before(manifest: Manifest, counts: Mapping[int, float], first: int, end: int) -> ff.FloatArray:
    """Counts of the epoch hours ``[first, end)``: this device's where it has them, else the bundle's,
    NaN where neither has a count."""
    y = np.full(end - first, np.nan)
    hist_start = manifest.history_start
    for i, v in enumerate(manifest.history):
        h = hist_start + i
        if v is not None and first <= h < end:
            y[h - first] = v
    for h, v in counts.items():
        if first <= h < end:
            y[h - first] = v
    return y


@dataclass(frozen=True)
class Result:
    origin: int  # epoch hour of today's local midnight
    p10: ff.FloatArray
    p50: ff.FloatArray
    p90: ff.FloatArray
    observed: dict[int, float]  # today's counted hours that are over
    nowcast: dict[str, Any]


def forecast(model: Model, counts: Mapping[int, float], now: datetime) -> Result:
    """Forecast 336 hours from today's local midnight; :class:`NoForecast` when the inputs are missing."""
    m = model.manifest
    origin = local_midnight(now, m.tz)
    first = origin - ff.HISTORY_HOURS
    history = series_before(m, counts, first, origin)
    recent = history[-ff.LAG_WEEKS * ff.WEEK :]
    if int(np.sum(~np.isnan(recent))) < MIN_OBSERVED_HOURS:
        raise NoForecast(
            f"too few counts: {int(np.sum(~np.isnan(recent)))} counted hours in the four weeks before today"
            f" (at least {MIN_OBSERVED_HOURS}; the model's own history ends {hourgrid.hour_start(m.history_start + len(m.history)).date()})"
        )
    if not m.calendar.covers(hourgrid.hour_start(origin).date()):
        log.debug("today lies outside the model's calendar (%s … %s)", m.calendar.first, m.calendar.last)
    lh = ff.local_hours(first, ff.HISTORY_HOURS + ff.HORIZON_HOURS, m.tz)
    try:
        x, base = ff.design(history, lh, m.calendar, ff.HISTORY_HOURS, ff.HORIZON_HOURS)
    except ff.FeatureError as exc:
        raise NoForecast(f"cannot build the model's features: {exc}") from exc
    if len(m.low) == 0 or len(m.high) != len(m.low):
        raise NoForecast("the model bundle has no band offsets")
    widen = ff.spread_factor(ff.recent_spread(history, lh, ff.HISTORY_HOURS), m.spread_reference)
    horizon = np.arange(1, ff.HORIZON_HOURS + 1)
    p10, p50, p90 = ff.band(m.shrink * model.raw(x), base, horizon, m.low, m.high, widen)
    now_hour = hourgrid.epoch_hour(now)
    # the hours of today: local midnight .. the next one
    z = hourgrid.zone(m.tz)
    tomorrow = hourgrid.hour_start(origin).astimezone(z).date() + timedelta(days=1)
    end_today = hourgrid.epoch_hour(datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=z))
    past = range(origin, min(now_hour, end_today))
    observed = {h: counts[h] for h in past if h in counts}
    expected = float(sum(p50[h - origin] for h in observed))
    seen = float(sum(observed.values()))
    day_expected = float(p50[: end_today - origin].sum())
    factor = nowcast_factor(expected, seen, day_expected)
    rest = slice(max(0, now_hour - origin), end_today - origin)
    p10[rest] *= factor
    p50[rest] *= factor
    p90[rest] *= factor
    info = {"factor": round(factor, 6), "hours_counted": len(observed), "counted": round(seen, 2),
            "expected": round(expected, 2)}  # fmt: skip
    return Result(origin, p10, p50, p90, observed, info)


def to_stored(model: Model, result: Result, generated_at: str, record: str) -> forecaststore.StoredForecast:
    m = model.manifest
    hours = [
        forecaststore.StoredHour(
            result.origin + i,
            float(result.p10[i]),
            float(result.p50[i]),
            float(result.p90[i]),
            result.observed.get(result.origin + i),
        )
        for i in range(len(result.p50))
    ]
    return forecaststore.StoredForecast(
        series=m.series, location=m.location, tz=m.tz, generated_at=generated_at,
        origin=forecastwire.hour_stamps(result.origin, m.tz)[0], model_version=m.version,
        model_type=m.model_type, trained_at=m.trained_at, busy_threshold=m.busy_threshold,
        nowcast=result.nowcast, transparency=forecastwire.transparency_subset(m, record), hours=hours,
    )  # fmt: skip
