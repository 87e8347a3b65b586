"""The forecast runner: the model bundle in onnxruntime, 14 days hourly, corrected by today's counts.

Every ``[forecast] refresh_s`` (and as soon as the model changes) the runner on its thread
``a2d-forecast``:

1. takes the model in use: the ``[forecast] model`` file, else the applied ``model`` bundle
   (checked again with the device's trusted keys on reading, see :mod:`edge_agent.bundles`);
2. builds the hourly series: the counts shipped in the bundle, overlaid with this device's own
   stored ``people_in`` measurements (one counter's, or all counters' summed);
3. forecasts from today's local midnight (the origin the model was trained for) 336 hours ahead:
   P50 from the ONNX model, P10/P90 from the bundle's band offsets per day ahead;
4. corrects today's remaining hours by the **nowcast**: the ratio of what was counted today so far
   to what the forecast expected for those hours, damped by how much of the day has been seen
   (:func:`nowcast_factor`);
5. stores the forecast through the agent's writer thread (:mod:`edge_agent.forecaststore`).

onnxruntime is imported here only, lazily. A missing model, a model that cannot be read, too few
counts or no onnxruntime give no forecast and one log line, never a crash.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from a2d import bundles as a2d_bundles
from a2d import forecastwire, hourgrid, timeutil
from a2d.errors import KnownError
from a2d.forecastwire import Manifest, ModelBundleError
from a2d.logs import Once
from forecasting import features as ff

from . import bundles as edge_bundles
from . import forecaststore
from .store import StoreError, open_reader
from .worker import Worker

log = logging.getLogger(__name__)

#: hours of counts within the four weeks before the origin a forecast needs (one week's worth)
MIN_OBSERVED_HOURS = ff.WEEK
#: how often the runner looks whether the model changed (seconds, at most)
MODEL_CHECK_S = 2.0
#: the nowcast: the ratio observed/expected is held within these bounds, and trusted at most this much
NOWCAST_BOUNDS = (0.25, 4.0)
NOWCAST_MAX_WEIGHT = 0.8
#: fewer people expected so far today than this: no correction yet
NOWCAST_MIN_EXPECTED = 5.0

WriteFn = Callable[[Callable[[sqlite3.Connection], Any]], "Future[Any]"]


class ForecastConfigError(KnownError):
    """The ``[forecast]`` settings cannot work; the message says which and why."""


class NoForecast(Exception):
    """Why there is no forecast now (logged once)."""


class NoModel(NoForecast):
    """No model configured or received yet: a normal state, logged once at info level."""


@dataclass(frozen=True)
class ForecastSettings:
    model: str
    counter: str
    refresh_s: float
    record: str

    @classmethod
    def from_config(cls, raw: Mapping[str, Any]) -> ForecastSettings | None:
        f = raw["forecast"]
        if not f["enabled"]:
            return None
        if f["refresh_s"] <= 0:
            raise ForecastConfigError(f"forecast.refresh_s must be more than 0, not {f['refresh_s']}")
        counter = f["counter"].strip().lower().replace(":", "").replace("-", "")
        if counter and (len(counter) != 16 or any(c not in "0123456789abcdef" for c in counter)):
            raise ForecastConfigError(f"forecast.counter {f['counter']!r} is not a DevEUI of 16 hex digits")
        return cls(f["model"], counter, float(f["refresh_s"]), f["record"])


# --- the model --------------------------------------------------------------------------------------


@dataclass
class Model:
    manifest: Manifest
    onnx: bytes
    origin: str  # "file" or "bundle"
    _session: Any = None

    def session(self) -> Any:
        if self._session is None:
            try:
                import onnxruntime as ort
            except ImportError:
                raise NoForecast("onnxruntime is not installed (the edge extra)") from None
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
        """The model's output (log ratio to the base) for feature rows in :data:`forecasting.features.FEATURES` order."""
        try:
            cols = [ff.FEATURES.index(name) for name in self.manifest.features]
        except ValueError as exc:
            raise NoForecast(f"the model needs a feature this device does not know ({exc})") from None
        matrix = np.ascontiguousarray(x[:, cols], dtype=np.float32)
        out = self.session().run(None, {"features": matrix})[0]
        return np.asarray(out, dtype=np.float64).reshape(-1)


class ModelSource:
    """The model in use: the ``[forecast] model`` file, or else the applied ``model`` bundle.

    Read again only when the file changes (size, modification time, inode).
    """

    def __init__(self, model_file: str, data_dir: Path, trust: edge_bundles.DeviceTrust) -> None:
        self.model_file = Path(model_file) if model_file else None
        self.bundle_file = edge_bundles.bundle_dir(data_dir) / "model.json"
        self.data_dir = data_dir
        self.trust = trust
        self._stamp: tuple[int, int, int] | None = None
        self._model: Model | None = None

    def current(self) -> Model:
        """The model, or :class:`NoForecast` saying why there is none."""
        path = self.model_file or (self.bundle_file if self.trust.enabled else None)
        if path is None:
            raise NoModel("no model: set [forecast] model, or sync.trusted_keys to receive model bundles")
        try:
            st = os.stat(path)
        except FileNotFoundError:
            self._stamp, self._model = None, None
            raise NoModel(f"no model yet ({path} does not exist)") from None
        stamp = (st.st_size, st.st_mtime_ns, st.st_ino)
        if stamp != self._stamp or self._model is None:
            self._stamp, self._model = stamp, None
            self._model = self._load(path)
        return self._model

    def _load(self, path: Path) -> Model:
        try:
            if self.model_file is not None:
                content, origin = path.read_bytes(), "file"
            else:
                bundle = edge_bundles.current(self.data_dir, "model", self.trust)
                if bundle is None:
                    raise NoModel("no model bundle applied yet")
                content, origin = bundle.content, "bundle"
            manifest, onnx = forecastwire.unpack(content)
        except (OSError, ModelBundleError, a2d_bundles.BundleError) as exc:
            raise NoForecast(f"cannot use the model {path}: {exc}") from exc
        log.info("forecast model %s version %s (series %s) from the %s %s",
                 manifest.model_type or "?", manifest.version, manifest.series, origin, path)  # fmt: skip
        return Model(manifest, onnx, origin)


# --- one forecast -----------------------------------------------------------------------------------


def local_midnight(now: datetime, tz: str) -> int:
    """Epoch hour of the start of the local day ``now`` falls in."""
    local = now.astimezone(hourgrid.zone(tz))
    day = local.date()
    return hourgrid.epoch_hour(datetime(day.year, day.month, day.day, tzinfo=hourgrid.zone(tz)))


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


def nowcast_factor(expected: float, observed: float, day_expected: float) -> float:
    """How much to scale today's remaining hours, from the hours of today that are over.

    ``expected``: the forecast's P50 summed over those hours; ``observed``: what was counted in
    them; ``day_expected``: the P50 of the whole day. The ratio ``observed / expected`` (held within
    :data:`NOWCAST_BOUNDS`) is applied with the weight ``expected / (expected + day_expected / 4)``
    (at most :data:`NOWCAST_MAX_WEIGHT`), as a power: after a quarter of the day's expected people
    half of the deviation is believed, never all of it. Early in the day (less than
    :data:`NOWCAST_MIN_EXPECTED` people expected) there is no correction.
    """
    if expected < NOWCAST_MIN_EXPECTED or day_expected <= 0:
        return 1.0
    lo, hi = NOWCAST_BOUNDS
    ratio = min(hi, max(lo, (observed + 1.0) / (expected + 1.0)))
    weight = min(NOWCAST_MAX_WEIGHT, expected / (expected + day_expected / 4.0))
    return float(ratio**weight)


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
        raise NoForecast(f"cannot build the model's features: {exc}") from None
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


# --- the runner -------------------------------------------------------------------------------------


class ForecastRunner(Worker):
    """``start()`` runs a forecast at once and then every ``refresh_s``; ``stop()`` ends the thread."""

    thread_name = "a2d-forecast"

    def __init__(
        self, settings: ForecastSettings, *, db_path: Path, trust: edge_bundles.DeviceTrust, write: WriteFn,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:  # fmt: skip
        super().__init__()
        self.settings = settings
        self.db_path = db_path
        self.source = ModelSource(settings.model, db_path.parent, trust)
        self.write = write
        self.clock = clock
        self._once = Once(log)
        self._cleared = False
        self._said_no_model = False
        self.runs = 0  #: forecasts stored since start (tests and status)

    def _run(self) -> None:
        next_run = 0.0
        last_model: Model | None = None
        while not self._stop.is_set():
            model = None
            try:
                model = self.source.current()
            except NoModel as exc:
                if not self._said_no_model:
                    log.info("no forecast: %s", exc)
                    self._said_no_model = True
                self._none("", str(exc))
            except NoForecast as exc:
                self._none("model", str(exc))
            if model is not None and (model is not last_model or time.monotonic() >= next_run):
                last_model = model
                next_run = time.monotonic() + self.settings.refresh_s
                self.run_once(model)
            elif model is None:
                last_model = None
            self._stop.wait(min(self.settings.refresh_s, MODEL_CHECK_S))

    def run_once(self, model: Model | None = None) -> bool:
        """One forecast now, stored; ``False`` (and one log line) when there cannot be one."""
        try:
            model = model or self.source.current()
            now = self.clock()
            counts = self._counts(model, now)
            result = forecast(model, counts, now)
            stored = to_stored(model, result, timeutil.iso(now), self.settings.record)
        except NoForecast as exc:
            self._none("forecast", str(exc))
            return False
        except Exception:  # a bug must not take the agent down: logged with its traceback, once
            if not self._once.is_down("crash"):
                log.exception("the forecast failed")
            self._once.failed("crash", "the forecast failed again")
            return False
        try:
            self.write(lambda db: forecaststore.save(db, stored)).result(timeout=30)
        except Exception as exc:  # noqa: BLE001 - the agent is stopping or the disk is full; try next time
            self._once.failed("store", "cannot store the forecast (%s); trying again later", exc)
            return False
        self._cleared = self._said_no_model = False
        self.runs += 1
        for what in ("model", "forecast", "crash", "store"):
            self._once.recovered(what, "forecasts again (%s)", model.manifest.series)
        f = result.nowcast["factor"]
        log.info("forecast for %s stored: 336 hours from %s, nowcast factor %.2f", model.manifest.series,
                 stored.origin, f)  # fmt: skip
        return True

    def _counts(self, model: Model, now: datetime) -> dict[int, float]:
        first = local_midnight(now, model.manifest.tz) - ff.HISTORY_HOURS
        try:
            db = open_reader(self.db_path)
        except StoreError as exc:
            raise NoForecast(str(exc)) from exc
        try:
            return forecaststore.hourly_counts(db, first, hourgrid.epoch_hour(now) + 1, self.settings.counter)
        except sqlite3.Error as exc:
            raise NoForecast(f"cannot read the counts: {exc}") from exc
        finally:
            db.close()

    def _none(self, what: str, why: str) -> None:
        if what:
            self._once.failed(what, "no forecast: %s", why)
        if not self._cleared:
            try:
                self.write(forecaststore.clear).result(timeout=30)
                self._cleared = True
            except Exception:  # noqa: BLE001, S110 - the agent is stopping; nothing to clear then
                pass
