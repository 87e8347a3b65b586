"""Forecast features: what the trainer (sync_server.forecast) and the device runner both compute.

Pure numpy and the standard library (zoneinfo), so that a device needs neither scikit-learn nor the
``holidays`` package: the calendar (public holidays, school holidays, bridge days, event days) is a
:class:`a2d.forecastwire.Calendar` table that training computes and ships inside the model bundle;
:func:`day_table` turns it into the day features.

Time is an hourly grid of UTC hours (:mod:`a2d.hourgrid`: seconds since 1970 // 3600). Calendar features
come from the local time of each hour in the series' time zone, so a day has 23 or 25 hours when
daylight saving time starts or ends, and "the same hour last week" is the same wall-clock hour
seven days earlier, not simply 168 hours back.

The model predicts, for each target hour, ``log1p(count) - base`` where ``base`` is ``log1p`` of the
mean of the last four observed same-wall-clock hours of the week before the forecast origin; the
features describe the target's calendar and how the recent days compare to the weeks before, so a
level shift (a counter moved, a street reopened) shows within days. Only counts before the origin
enter :func:`design`: it is handed the history, never the future.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from a2d.forecastwire import Calendar
from a2d.hourgrid import hour_start, zone

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

WEEK = 168
#: hours ahead one forecast covers (14 days)
HORIZON_HOURS = 336
#: weeks of same-hour history the base mixes
LAG_WEEKS = 4
#: hours of counts before the origin that :func:`design` needs (lags of the last horizon + levels)
HISTORY_HOURS = (LAG_WEEKS + 1) * WEEK + 48
#: days a calendar distance feature counts up to
NEAR_DAYS = 7
#: the least and the most recent spread (mean absolute log ratio) the band is scaled by: a flat week
#: cannot close the band, and a week of a broken counter (zeros, or a burst) cannot blow it up
SPREAD_FLOOR = 0.02
SPREAD_CEILING = 1.0

#: the columns of the calendar's day table; all but ``special`` (holiday or bridge day) are features
DAY_COLUMNS = (
    "holiday",
    "school_holiday",
    "bridge_day",
    "event_day",
    "days_to_holiday",
    "days_since_holiday",
    "special",
)

FEATURES: tuple[str, ...] = (
    "hour",
    "weekday",
    "hour_of_week",
    "horizon",
    "dst",
    "day_hours",
    *(c for c in DAY_COLUMNS if c != "special"),  # the target day's calendar
    "lag_days_special",
    "base",
    "lag1",
    "lag2",
    "lag3",
    "lag4",
    "level_1d",
    "level_3d",
    "level_7d_28d",
    "day_ratio_1",
    "day_ratio_2",
    "day_ratio_3",
    "day_ratio_4",
    "day_ratio_5",
    "day_ratio_6",
    "day_ratio_7",
    "hour_ratio_7d",
    "temperature",
    "precipitation",
)


class FeatureError(ValueError):
    """Inputs the features cannot be built from (a history that does not fit the grid)."""


# --- the calendar table ---------------------------------------------------------------------------


def day_table(cal: Calendar) -> tuple[int, FloatArray]:
    """(ordinal of the first row's day, one row per day: the day features, in :data:`DAY_COLUMNS` order).

    The rows reach :data:`NEAR_DAYS` + 1 days beyond the calendar on either side, so the distance
    features of its first and last days are right. Computed once per calendar (it is immutable).
    """
    hit: tuple[int, FloatArray] | None = cal.__dict__.get("_table")
    if hit is not None:
        return hit
    pad = NEAR_DAYS + 1
    first = cal.first.toordinal() - pad
    n = cal.last.toordinal() + pad - first + 1
    days = [date.fromordinal(first + i) for i in range(n)]
    hol = np.array([d.isoformat() in cal.holidays for d in days], dtype=bool)
    weekend = np.array([d.weekday() >= 5 for d in days], dtype=bool)
    off = hol | weekend
    bridge = np.zeros(n, dtype=bool)
    bridge[1:-1] = ~off[1:-1] & ((hol[:-2] & off[2:]) | (hol[2:] & off[:-2]))
    to_next = np.full(n, float(NEAR_DAYS))
    since = np.full(n, float(NEAR_DAYS))
    for i in np.flatnonzero(hol):
        for k in range(NEAR_DAYS):
            if i - k >= 0:
                to_next[i - k] = min(to_next[i - k], k)
            if i + k < n:
                since[i + k] = min(since[i + k], k)
    table = np.column_stack(
        [
            hol,
            [d.isoformat() in cal.school for d in days],
            bridge,
            [d.isoformat() in cal.events for d in days],
            to_next,
            since,
            hol | bridge,
        ]
    ).astype(np.float64)
    object.__setattr__(cal, "_table", (first, table))  # computed once per (immutable) calendar
    return first, table


def bridge_days(cal: Calendar) -> list[date]:
    first, table = day_table(cal)
    col = DAY_COLUMNS.index("bridge_day")
    return [date.fromordinal(first + int(i)) for i in np.flatnonzero(table[:, col])]


# --- local time of the grid -------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalHours:
    """Local-time facts of ``n`` consecutive UTC hours from epoch hour ``start`` in zone ``tz``."""

    start: int
    tz: str
    wall: IntArray  # local wall-clock hour number (naive local time as hours since 1970)
    ordinal: IntArray  # local date (proleptic ordinal)
    hour: IntArray
    weekday: IntArray
    dst: IntArray
    day_hours: IntArray  # hours of the local day: 23 or 25 when DST starts or ends
    week_back: IntArray  # index of the same wall-clock hour 7 days earlier (-1 if before start)

    @property
    def n(self) -> int:
        return len(self.wall)


def local_hours(start: int, n: int, tz: str) -> LocalHours:
    z = zone(tz)
    offsets = np.empty(n, dtype=np.int64)
    dst = np.empty(n, dtype=np.int64)
    for i in range(n):
        local = datetime.fromtimestamp((start + i) * 3600, z)
        off = local.utcoffset()
        offsets[i] = int(off.total_seconds()) // 3600 if off is not None else 0
        dst[i] = 1 if local.dst() else 0
    wall = np.arange(start, start + n, dtype=np.int64) + offsets
    days = wall // 24
    ordinal = days + date(1970, 1, 1).toordinal()
    hour = wall % 24
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday
    lengths = {int(o): _day_length(int(o), z) for o in np.unique(ordinal)}
    day_hours = np.array([lengths[int(o)] for o in ordinal], dtype=np.int64)
    back = np.searchsorted(wall, wall - WEEK, side="left").astype(np.int64)
    back[wall - WEEK < wall[0]] = -1
    return LocalHours(start, tz, wall, ordinal, hour, weekday, dst, day_hours, back)


def _day_length(ordinal: int, z: ZoneInfo) -> int:
    d = date.fromordinal(ordinal)
    a = datetime(d.year, d.month, d.day, tzinfo=z).timestamp()
    e = d + timedelta(days=1)
    b = datetime(e.year, e.month, e.day, tzinfo=z).timestamp()
    return int(round((b - a) / 3600))


def day_hours(day: date, tz: str) -> list[datetime]:
    """The UTC starts of the hours of local ``day`` (23, 24 or 25 of them)."""
    z = zone(tz)
    a = datetime(day.year, day.month, day.day, tzinfo=z)
    n = _day_length(day.toordinal(), z)
    first = int(a.timestamp() // 3600)
    return [hour_start(first + i) for i in range(n)]


def midnights(lh: LocalHours) -> IntArray:
    """Indices of the hours that start a local day."""
    return np.flatnonzero(lh.hour == 0).astype(np.int64)


# --- optional weather -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Weather:
    """Hourly temperature (°C) and precipitation (mm) by epoch hour; either may be absent (NaN)."""

    temperature: Mapping[int, float] = field(default_factory=dict)
    precipitation: Mapping[int, float] = field(default_factory=dict)

    def columns(self, hours: Iterable[int]) -> tuple[FloatArray, FloatArray]:
        hs = list(hours)
        t = np.array([self.temperature.get(h, np.nan) for h in hs], dtype=np.float64)
        p = np.array([self.precipitation.get(h, np.nan) for h in hs], dtype=np.float64)
        return t, p


# --- the design matrix ----------------------------------------------------------------------------


def _mean(values: FloatArray) -> float:
    v = values[~np.isnan(values)]
    return float(v.mean()) if v.size else float("nan")


def design(
    history: FloatArray,
    lh: LocalHours,
    cal: Calendar,
    origin: int,
    horizons: int = HORIZON_HOURS,
    weather: Weather | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Features of the ``horizons`` hours from grid index ``origin`` on, and their base.

    ``history`` holds the counts of grid indices ``0 .. origin-1`` (NaN where missing) and nothing
    later: the future cannot leak in. ``lh`` must cover ``origin + horizons`` hours. Returns
    ``(X, base)``: X has one row per hour in :data:`FEATURES` order; a prediction ``p`` of the model
    means ``expm1(base + p)`` people.
    """
    if len(history) != origin:
        raise FeatureError(f"history must hold the {origin} hours before the origin, not {len(history)}")
    if lh.n < origin + horizons:
        raise FeatureError("the local-time grid does not reach the last horizon")
    y = history
    t = np.arange(origin, origin + horizons)
    back = lh.week_back
    j = back[t]
    for _ in range(horizons // WEEK + 2):
        later = j >= origin
        if not later.any():
            break
        j = np.where(later, back[np.maximum(j, 0)], j)
    lags = np.full((LAG_WEEKS, horizons), np.nan)
    idx = j
    first_lag_idx = idx.copy()
    for k in range(LAG_WEEKS):
        ok = idx >= 0
        lags[k, ok] = y[idx[ok]]
        idx = np.where(ok, back[np.maximum(idx, 0)], -1)

    first, table = day_table(cal)
    rows_t = np.clip(lh.ordinal[t] - first, 0, len(table) - 1)
    day = table[rows_t]
    lag_rows = np.clip(lh.ordinal[np.maximum(first_lag_idx, 0)] - first, 0, len(table) - 1)
    special_col = DAY_COLUMNS.index("special")

    # the base: mean of the same hours in the last weeks, holidays left out where others remain
    special_lag = np.zeros((LAG_WEEKS, horizons))
    idx = first_lag_idx
    for k in range(LAG_WEEKS):
        ok = idx >= 0
        rows_k = np.clip(lh.ordinal[np.maximum(idx, 0)] - first, 0, len(table) - 1)
        special_lag[k] = np.where(ok, table[rows_k, special_col], 0)
        idx = np.where(ok, back[np.maximum(idx, 0)], -1)
    plain = np.where(special_lag > 0, np.nan, lags)
    with np.errstate(all="ignore"), _quiet():
        base_plain = np.nanmean(plain, axis=0)
        base_all = np.nanmean(lags, axis=0)
    base_count = np.array(base_plain, dtype=np.float64)
    unset = np.isnan(base_count)
    base_count[unset] = base_all[unset]
    level7 = _mean(y[max(0, origin - WEEK) : origin])
    fallback = level7 if not np.isnan(level7) else 0.0
    base_count = np.where(np.isnan(base_count), fallback, base_count)
    base = np.log1p(np.maximum(base_count, 0.0))
    rel = np.log1p(np.maximum(lags, 0.0)) - base

    level28 = _mean(y[max(0, origin - 4 * WEEK) : origin])
    r1 = _recent_ratio(y, back, origin, 24)
    r3 = _recent_ratio(y, back, origin, 72)
    r7 = np.log1p(level7) - np.log1p(level28) if level28 == level28 and level7 == level7 else np.nan

    day_ratio, hour_ratio = _recent_ratios(y, back, origin)
    hour_of_target = lh.hour[t]
    if weather is not None:
        temp, rain = weather.columns(lh.start + t)
    else:
        temp = rain = np.full(horizons, np.nan)
    x = np.column_stack(
        [
            lh.hour[t],
            lh.weekday[t],
            lh.weekday[t] * 24 + lh.hour[t],
            np.arange(1, horizons + 1),
            lh.dst[t],
            lh.day_hours[t],
            day[:, 0],
            day[:, 1],
            day[:, 2],
            day[:, 3],
            day[:, 4],
            day[:, 5],
            table[lag_rows, special_col] * (first_lag_idx >= 0),
            base,
            rel[0],
            rel[1],
            rel[2],
            rel[3],
            np.full(horizons, r1),
            np.full(horizons, r3),
            np.full(horizons, r7),
            *(np.full(horizons, r) for r in day_ratio),
            hour_ratio[hour_of_target],
            temp,
            rain,
        ]
    ).astype(np.float64)
    return x, base


def _last_week(y: FloatArray, back: IntArray, origin: int) -> tuple[IntArray, FloatArray, FloatArray]:
    """The week before ``origin``: each hour's position (0..167, oldest first), its count, and the
    mean count of the same wall-clock hour in the :data:`LAG_WEEKS` weeks before it."""
    lo = origin - WEEK
    hours = np.arange(max(lo, 0), origin)
    prev = np.full((LAG_WEEKS, len(hours)), np.nan)
    idx = back[hours]
    for k in range(LAG_WEEKS):
        ok = idx >= 0
        prev[k, ok] = y[idx[ok]]
        idx = np.where(ok, back[np.maximum(idx, 0)], -1)
    with _quiet():
        expected = np.nanmean(prev, axis=0)
    return hours - lo, y[hours], expected


def _recent_ratios(y: FloatArray, back: IntArray, origin: int) -> tuple[list[float], FloatArray]:
    """How the last seven days compared with the weeks before them: per day (most recent first) and
    per hour of the day, as log ratios of the counts to the mean of the same hours in the 4 weeks
    before."""
    pos, actual, expected = _last_week(y, back, origin)
    both = ~np.isnan(actual) & ~np.isnan(expected)
    days: list[float] = []
    for d in range(7):
        m = both & (pos // 24 == 6 - d)
        days.append(_log_ratio(actual[m], expected[m]) if m.sum() >= 12 else float("nan"))
    by_hour = np.full(24, np.nan)
    for h in range(24):
        m = both & (pos % 24 == h)
        if m.sum() >= 3:
            by_hour[h] = _log_ratio(actual[m], expected[m])
    return days, by_hour


def recent_spread(history: FloatArray, lh: LocalHours, origin: int) -> float:
    """How restless the week before ``origin`` was: the mean absolute log ratio of each hour's count
    to the mean of the same hour in the four weeks before it (NaN with less than a day of such
    hours). The P10–P90 band is scaled by it (:func:`spread_factor`), so a week of heating in winter
    or a fair in town widens the band that calm calibration weeks would have set too narrow."""
    if len(history) != origin:
        raise FeatureError(f"history must hold the {origin} hours before the origin, not {len(history)}")
    _pos, actual, expected = _last_week(history, lh.week_back, origin)
    gap = np.abs(np.log1p(np.maximum(actual, 0.0)) - np.log1p(np.maximum(expected, 0.0)))
    gap = gap[~np.isnan(gap)]
    return float(gap.mean()) if gap.size >= 24 else float("nan")


def spread_factor(spread: float | FloatArray, reference: float | None) -> FloatArray:
    """How much wider than at calibration the band is: ``spread / reference``, with the spread held
    within :data:`SPREAD_FLOOR` … :data:`SPREAD_CEILING`; 1 where the spread is unknown or the model
    has no reference (a bundle from before the band was scaled)."""
    s = np.atleast_1d(np.asarray(spread, dtype=np.float64))
    if reference is None or not reference > 0:
        return np.ones_like(s)
    held = np.clip(s, SPREAD_FLOOR, SPREAD_CEILING)
    return np.where(np.isnan(s), 1.0, held / float(np.clip(reference, SPREAD_FLOOR, SPREAD_CEILING)))


def _log_ratio(a: FloatArray, b: FloatArray) -> float:
    return float(np.log1p(a.sum()) - np.log1p(b.sum()))


def _recent_ratio(y: FloatArray, back: IntArray, origin: int, hours: int) -> float:
    """log of (last ``hours`` counts + 1) over (the same wall-clock hours a week earlier + 1)."""
    lo = max(0, origin - hours)
    now = np.arange(lo, origin)
    then = back[now]
    ok = (then >= 0) & ~np.isnan(y[now])
    ok[ok] &= ~np.isnan(y[then[ok]])
    if ok.sum() < hours // 2:
        return float("nan")
    return float(np.log1p(y[now[ok]].mean()) - np.log1p(y[then[ok]].mean()))


@contextmanager
def _quiet() -> Iterator[None]:
    """No RuntimeWarning for means over all-missing columns (they are NaN, which is what we want)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def counts(prediction: FloatArray, base: FloatArray) -> FloatArray:
    """Model output (log-ratio to the base) → people per hour, never below zero."""
    return np.maximum(np.expm1(base + prediction), 0.0)


def band(
    prediction: FloatArray,
    base: FloatArray,
    horizon: IntArray,
    low: Sequence[float],
    high: Sequence[float],
    factor: float | FloatArray = 1.0,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """P10, P50 and P90 counts of hours ``horizon`` (1..336) ahead: the model output plus the band's
    log offsets of their day ahead, times ``factor`` (:func:`spread_factor`)."""
    day = np.minimum((np.asarray(horizon) - 1) // 24, len(low) - 1)
    lo = np.asarray(low, dtype=np.float64)[day] * factor
    hi = np.asarray(high, dtype=np.float64)[day] * factor
    return counts(prediction + lo, base), counts(prediction, base), counts(prediction + hi, base)
