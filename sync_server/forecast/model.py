"""The forecast model: gradient boosting on level-relative features, with a calibrated P10–P90 band.

For every local midnight of the training period (the origin) and every hour 1–336 ahead, one row:
the features of :func:`forecasting.features.design` (built from the counts before the origin only)
and the target ``log1p(count) - base``. scikit-learn's ``HistGradientBoostingRegressor`` with the
absolute-error loss learns the median of that ratio, so the P50 is a median forecast (what MASE
rewards). A first model fitted without the last part of the training period predicts that part
(the holdout). On it the model's correction of the base is **shrunk** by the weight ``w`` in 0…1
that forecasts the holdout best (``expm1(base + w · output)``): a series the model cannot learn
much from (a short one, or one whose past does not carry over) falls back towards the mean of the
last four same hours of the week instead of being made worse.

The band comes from split conformal calibration on the same holdout: the empirical quantiles of its
log errors, per day ahead, become the offsets of P10 and P90 around the final model (fitted on all
of the training period). The offsets are measured in units of the recent spread
(:func:`forecasting.features.recent_spread`) and scaled by the spread before each forecast, so a
restless week widens the band that calmer calibration weeks would have set too narrow.

Exceptional periods — a collapse of the counts with a recovery after it, such as the COVID-19
lockdowns — are found in the training counts and left out of training (:func:`exceptional_days`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from a2d import forecastwire
from a2d.errors import KnownError
from forecasting import features as ff
from forecasting.features import FloatArray, IntArray

from .series import Series

log = logging.getLogger(__name__)

Progress = Callable[[str], None]

#: a day is exceptional when the mean count of the week around it falls below this share of the
#: typical (median) weekly mean both in the half year before and in the half year after it
EXCEPTIONAL_SHARE = 0.5
#: days each side of a day whose weekly means make its "typical" level
EXCEPTIONAL_WINDOW = 182
#: days each side that must have counts for a day to be judged at all
EXCEPTIONAL_MIN_DAYS = 28
#: never leave out more than this share of the training rows (the exceptional would be the rule)
EXCEPTIONAL_MAX_SHARE = 0.5
#: the weights tried for the model's correction of the base (see :func:`fit`)
SHRINK_STEPS = np.linspace(0.0, 1.0, 21)


class ModelError(KnownError):
    """Too little data to train or test on, or a window outside the series."""


@dataclass(frozen=True)
class ModelSettings:
    iterations: int = 600
    learning_rate: float = 0.05
    max_leaf_nodes: int = 31
    min_samples_leaf: int = 0  # 0: from the number of rows
    l2_regularization: float = 1.0
    max_features: float = 0.5
    coverage: float = 0.8
    holdout_days: int = 112
    seed: int = 0
    threads: int = 0  # 0: every core
    skip_exceptional: bool = True


@dataclass
class Prepared:
    """A series with its local-time grid (reaching one horizon past its end) and calendar."""

    series: Series
    lh: ff.LocalHours
    calendar: forecastwire.Calendar
    weather: ff.Weather | None = None

    @classmethod
    def make(
        cls, series: Series, calendar: forecastwire.Calendar, weather: ff.Weather | None = None
    ) -> Prepared:
        lh = ff.local_hours(series.start, len(series.values) + ff.HORIZON_HOURS, series.tz)
        return cls(series, lh, calendar, weather)

    def origins(self, lo: int, hi: int) -> IntArray:
        """Local midnights with index in ``[lo, hi)`` that have enough history before them."""
        m = ff.midnights(self.lh)
        return m[(m >= max(lo, ff.HISTORY_HOURS)) & (m < hi)]


@dataclass
class Rows:
    x: FloatArray
    base: FloatArray
    y: FloatArray
    origin: IntArray
    horizon: IntArray
    spread: FloatArray  # the recent spread before each row's origin


def rows(prep: Prepared, origins: Sequence[int] | IntArray, limit: int, need_target: bool = True) -> Rows:
    """Rows for ``origins`` whose target hour lies before index ``limit`` (and was counted)."""
    y = prep.series.values
    xs, bs, ys, os_, hs, ss = [], [], [], [], [], []
    hz = ff.HORIZON_HOURS
    for o in origins:
        o = int(o)
        x, b = ff.design(y[:o], prep.lh, prep.calendar, o, hz, prep.weather)
        t = np.arange(o, o + hz)
        target = np.full(hz, np.nan)
        inside = t < min(limit, len(y))
        target[inside] = y[t[inside]]
        keep = inside & ~np.isnan(target) if need_target else inside
        xs.append(x[keep])
        bs.append(b[keep])
        ys.append(target[keep])
        os_.append(np.full(int(keep.sum()), o))
        hs.append(np.arange(1, hz + 1)[keep])
        ss.append(np.full(int(keep.sum()), ff.recent_spread(y[:o], prep.lh, o)))
    if not xs:
        empty = np.empty((0, len(ff.FEATURES)))
        nothing = np.empty(0)
        return Rows(empty, nothing, nothing, np.empty(0, np.int64), np.empty(0, np.int64), nothing)
    return Rows(
        np.vstack(xs),
        np.concatenate(bs),
        np.concatenate(ys),
        np.concatenate(os_),
        np.concatenate(hs),
        np.concatenate(ss),
    )


@dataclass
class Forecaster:
    """A fitted model: the estimator, the feature columns it uses, and the band's log offsets."""

    estimator: Any
    columns: list[int]
    low: list[float] = field(default_factory=list)  # per day ahead (0..13), log offset of P10
    high: list[float] = field(default_factory=list)  # of P90
    coverage: float = 0.8
    #: the recent spread at which ``low`` and ``high`` hold (the calibration's median)
    spread_reference: float | None = None
    #: how much of the estimator's correction of the base the forecast takes (fitted on the holdout)
    shrink: float = 1.0

    @property
    def feature_names(self) -> list[str]:
        return [ff.FEATURES[i] for i in self.columns]

    def matrix(self, x: FloatArray) -> Any:
        return np.ascontiguousarray(x[:, self.columns], dtype=np.float32)

    def raw(self, x: FloatArray) -> FloatArray:
        return np.asarray(self.estimator.predict(self.matrix(x)), dtype=np.float64)

    def quantiles(self, r: Rows) -> tuple[FloatArray, FloatArray, FloatArray]:
        """P10, P50, P90 counts of the rows."""
        factor = ff.spread_factor(r.spread, self.spread_reference)
        return ff.band(self.shrink * self.raw(r.x), r.base, r.horizon, self.low, self.high, factor)


def _used_columns(x: FloatArray) -> list[int]:
    """Every feature with at least two distinct values (weather columns are NaN without a file)."""
    out = []
    for i in range(x.shape[1]):
        col = x[:, i]
        col = col[~np.isnan(col)]
        if col.size and np.unique(col[:200_000]).size > 1:
            out.append(i)
    return out


def exceptional_days(prep: Prepared, end: int) -> IntArray:
    """Local dates (ordinals) of the counts before ``end`` that belong to an exceptional period.

    A day is exceptional when the mean count of the seven days around it is below
    :data:`EXCEPTIONAL_SHARE` of the median of those weekly means in the half year before it *and*
    in the half year after it: a collapse the series recovered from (a lockdown, a street closed for
    weeks). A lasting level shift (a counter moved) has no recovery and stays in; so does a dip at
    the end of the counts, whose "after" is not known yet. Only the counts before ``end`` are read.
    """
    y = prep.series.values[:end]
    day = prep.lh.ordinal[: len(y)]
    if len(y) == 0:
        return np.empty(0, np.int64)
    first = int(day[0])
    idx = day - first
    seen = ~np.isnan(y)
    total = np.bincount(idx[seen], weights=y[seen], minlength=int(idx[-1]) + 1)
    hours = np.bincount(idx[seen], minlength=int(idx[-1]) + 1)
    with np.errstate(all="ignore"):
        daily = np.where(hours >= 12, total / np.maximum(hours, 1), np.nan)
    n = len(daily)
    week = np.full(n, np.nan)
    for i in range(n):
        part = daily[max(0, i - 3) : i + 4]
        part = part[~np.isnan(part)]
        if part.size >= 4:
            week[i] = part.mean()
    out = []
    w = EXCEPTIONAL_WINDOW
    for i in range(n):
        if np.isnan(week[i]):
            continue
        before = week[max(0, i - w) : i]
        after = week[i + 1 : i + 1 + w]
        before, after = before[~np.isnan(before)], after[~np.isnan(after)]
        if before.size < EXCEPTIONAL_MIN_DAYS or after.size < EXCEPTIONAL_MIN_DAYS:
            continue
        if week[i] < EXCEPTIONAL_SHARE * min(float(np.median(before)), float(np.median(after))):
            out.append(first + i)
    return np.asarray(out, dtype=np.int64)


def _ordinary(prep: Prepared, r: Rows, days: IntArray) -> npt.NDArray[np.bool_]:
    """Rows whose target day and whose history (everything the features read) avoid ``days``."""
    hit = np.isin(prep.lh.ordinal, days)
    before = np.concatenate([[0], np.cumsum(hit)])
    lo = np.maximum(r.origin - ff.HISTORY_HOURS, 0)
    touched = (before[r.origin] - before[lo]) > 0
    return ~touched & ~hit[r.origin + r.horizon - 1]


def _select(r: Rows, keep: npt.NDArray[np.bool_]) -> Rows:
    return Rows(r.x[keep], r.base[keep], r.y[keep], r.origin[keep], r.horizon[keep], r.spread[keep])


def _estimator(settings: ModelSettings, n_rows: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingRegressor

    # small series overfit quickly: at least 200 rows per leaf (Moers: MASE 1.10 with 20, 0.92 with 200)
    leaf = settings.min_samples_leaf or int(np.clip(n_rows // 25, 200, 1000))
    return HistGradientBoostingRegressor(
        loss="absolute_error",
        max_iter=settings.iterations,
        learning_rate=settings.learning_rate,
        max_leaf_nodes=settings.max_leaf_nodes,
        min_samples_leaf=leaf,
        l2_regularization=settings.l2_regularization,
        max_features=settings.max_features,
        early_stopping=False,
        random_state=settings.seed,
    )


def _fit_one(r: Rows, columns: list[int], settings: ModelSettings) -> Forecaster:
    from threadpoolctl import threadpool_limits

    est = _estimator(settings, len(r.y))
    model = Forecaster(est, columns, coverage=settings.coverage)
    target = np.log1p(r.y) - r.base
    with threadpool_limits(limits=settings.threads or None, user_api="openmp"):
        est.fit(model.matrix(r.x), target)
    return model


def fit(
    prep: Prepared, train_end: int, settings: ModelSettings | None = None, progress: Progress | None = None
) -> Forecaster:
    """Train on the counts before grid index ``train_end`` and calibrate the band."""
    settings = settings or ModelSettings()
    say = progress or (lambda _text: None)
    origins = prep.origins(0, train_end)
    if len(origins) < 4:
        raise ModelError(
            f"too little history to train: {len(origins)} forecast origins before the cut"
            f" (each needs {ff.HISTORY_HOURS // 24} days of counts before it)"
        )
    days = ff.HORIZON_HOURS // 24
    holdout = min(settings.holdout_days, max(1, len(origins) // 3))
    cut = int(origins[-holdout])
    started = time.monotonic()
    say(f"building training rows from {len(origins)} origins")
    all_rows = rows(prep, origins, train_end)
    if len(all_rows.y) < 500:
        raise ModelError(f"too few counted hours to train on ({len(all_rows.y)})")
    columns = _used_columns(all_rows.x)
    # the calibration model sees only targets before the cut, like a forecast made then
    early_rows = rows(prep, origins[origins < cut], cut)
    late_rows = _select(all_rows, all_rows.origin >= cut)
    if settings.skip_exceptional:
        skip = exceptional_days(prep, train_end)
        keep = _ordinary(prep, all_rows, skip)
        if len(skip) and keep.mean() >= 1 - EXCEPTIONAL_MAX_SHARE:
            say(f"leaving out {len(skip)} exceptional days ({1 - keep.mean():.0%} of the rows)")
            all_rows = _select(all_rows, keep)
            early_rows = _select(early_rows, _ordinary(prep, early_rows, skip))
            ordinary_late = _select(late_rows, _ordinary(prep, late_rows, skip))
            if len(ordinary_late.y) >= 500:
                late_rows = ordinary_late
        elif len(skip):
            log.info("%d exceptional days would leave out too many rows: training on all", len(skip))
    say(f"fitting the calibration model on {len(early_rows.y)} rows")
    first = _fit_one(early_rows, columns, settings)
    held_out = first.raw(late_rows.x)
    shrink = best_shrink(held_out, late_rows)
    say(f"the model's correction counts {shrink:.0%} (what forecast the holdout best)")
    resid = np.log1p(late_rows.y) - late_rows.base - shrink * held_out
    # the residuals in units of the spread before their origin (its median is the unit)
    known = late_rows.spread[~np.isnan(late_rows.spread)]
    reference = float(np.median(known)) if known.size else None
    resid = resid / ff.spread_factor(late_rows.spread, reference)
    day = (late_rows.horizon - 1) // 24
    alpha = (1 - settings.coverage) / 2
    low, high = [], []
    for d in range(days):
        r = resid[day == d]
        if r.size < 20:
            r = resid
        # the band always holds the median, even when the holdout was biased one way
        low.append(min(float(np.quantile(r, alpha)), 0.0))
        high.append(max(float(np.quantile(r, 1 - alpha)), 0.0))
    say(f"fitting the model on {len(all_rows.y)} rows")
    model = _fit_one(all_rows, columns, settings)
    model.low, model.high, model.spread_reference, model.shrink = low, high, reference, shrink
    log.info("trained on %d rows in %.1f s", len(all_rows.y), time.monotonic() - started)
    return model


def best_shrink(output: FloatArray, r: Rows) -> float:
    """The weight of :data:`SHRINK_STEPS` whose forecasts ``expm1(base + w · output)`` have the least
    absolute error on the rows ``r`` (ties: the larger weight)."""
    errors = [float(np.abs(ff.counts(w * output, r.base) - r.y).mean()) for w in SHRINK_STEPS]
    best = min(errors)
    return float(max(w for w, e in zip(SHRINK_STEPS, errors, strict=True) if e <= best * (1 + 1e-9)))


def seasonal_naive(y: FloatArray, origin: IntArray, horizon: IntArray) -> FloatArray:
    """The count of the same hour one week before (two weeks for hours 169–336 ahead)."""
    t = origin + horizon - 1
    back = t - ff.WEEK * np.ceil(horizon / ff.WEEK).astype(np.int64)
    out = np.full(len(t), np.nan)
    ok = back >= 0
    out[ok] = y[back[ok]]
    return out


def naive_scale(y: FloatArray, end: int) -> float:
    """Mean absolute error of the seasonal naive (lag 168 h) inside ``y[:end]``: MASE's denominator."""
    part = y[:end]
    d = np.abs(part[ff.WEEK :] - part[: -ff.WEEK])
    d = d[~np.isnan(d)]
    if d.size == 0 or d.mean() == 0:
        raise ModelError("the training period is too short or constant to scale MASE by")
    return float(d.mean())
