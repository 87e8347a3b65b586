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

The runner itself loads neither numpy nor onnxruntime: the model and the arithmetic of step 3 and
4 live in :mod:`edge_agent.forecastmodel`, imported when a model is first found, so an agent
without a model stays small. A missing model, a model that cannot be read, too few counts or no
onnxruntime give no forecast and one log line, never a crash.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from a2d import bundles as a2d_bundles
from a2d import forecastwire, hourgrid, timeutil
from a2d.errors import KnownError
from a2d.forecastwire import ModelBundleError
from a2d.logs import Once

from . import bundles as edge_bundles
from . import forecaststore
from .store import StoreError, open_reader
from .worker import Worker

if TYPE_CHECKING:
    from .forecastmodel import Model

log = logging.getLogger(__name__)

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
        from .forecastmodel import Model  # numpy: only once there is a model to run

        log.info("forecast model %s version %s (series %s) from the %s %s",
                 manifest.model_type or "?", manifest.version, manifest.series, origin, path)  # fmt: skip
        return Model(manifest, onnx, origin)


# --- today and the nowcast (plain Python: the local API uses them too) ------------------------------


def local_midnight(now: datetime, tz: str) -> int:
    """Epoch hour of the start of the local day ``now`` falls in."""
    local = now.astimezone(hourgrid.zone(tz))
    day = local.date()
    return hourgrid.epoch_hour(datetime(day.year, day.month, day.day, tzinfo=hourgrid.zone(tz)))


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
            from . import forecastmodel as fm  # numpy: loaded with the model already (ModelSource._load)

            now = self.clock()
            counts = self._counts(model, now)
            result = fm.forecast(model, counts, now)
            stored = fm.to_stored(model, result, timeutil.iso(now), self.settings.record)
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
        first = model.first_hour(now)
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
