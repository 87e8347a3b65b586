"""Hourly series for forecasting: from CSV files and from the server's hourly aggregates.

A series is a dense grid of UTC hours (NaN where nothing was counted) plus the time zone its
calendar lives in. The CSV import takes ``timestamp,count[,location]`` in local time with or
without an offset and reports what it had to decide: duplicates, gaps, local times that do not
exist (the hour skipped when daylight saving time starts) or exist twice (when it ends).
"""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from a2d.errors import KnownError
from a2d.hourgrid import epoch_hour, hour_start, zone
from forecasting.features import FloatArray, Weather

log = logging.getLogger(__name__)

#: most examples a report lists for one kind of problem
EXAMPLES = 5
#: quantities whose hourly aggregate is a sum of events (the rest: a reading or a running total)
SUMMED = ("people_in", "people_out", "button_press")
CUMULATIVE = ("energy", "pulse_count", "people_in_total", "people_out_total")


class SeriesError(KnownError):
    """The input cannot become an hourly series: a missing file or column, no usable rows."""


@dataclass
class ImportReport:
    """What an import found and decided, for the user to check."""

    rows: int = 0
    used: int = 0
    missing_count: int = 0
    bad: list[str] = field(default_factory=list)
    duplicates: int = 0
    conflicting: list[str] = field(default_factory=list)
    subhourly: int = 0
    nonexistent: list[str] = field(default_factory=list)
    ambiguous: int = 0
    other_locations: int = 0
    gaps: list[tuple[str, int]] = field(default_factory=list)
    missing_hours: int = 0
    negative_steps: int = 0

    def lines(self) -> list[str]:
        out = [f"{self.used} of {self.rows} rows used"]
        if self.missing_count:
            out.append(f"{self.missing_count} rows without a count (left as missing)")
        if self.bad:
            out.append(f"{len(self.bad)} unreadable rows skipped, e.g. {', '.join(self.bad[:EXAMPLES])}")
        if self.duplicates:
            out.append(f"{self.duplicates} exact duplicate rows dropped")
        if self.conflicting:
            out.append(
                f"{len(self.conflicting)} hours given twice with different counts (the last kept),"
                f" e.g. {', '.join(self.conflicting[:EXAMPLES])}"
            )
        if self.subhourly:
            out.append(f"{self.subhourly} rows summed into their hour (finer than hourly)")
        if self.nonexistent:
            out.append(
                f"{len(self.nonexistent)} rows at local times that do not exist (DST starts) dropped:"
                f" {', '.join(self.nonexistent[:EXAMPLES])}"
            )
        if self.ambiguous:
            out.append(
                f"{self.ambiguous} local times that occur twice (DST ends) placed in order of the file"
            )
        if self.other_locations:
            out.append(f"{self.other_locations} rows of other locations ignored")
        if self.negative_steps:
            out.append(f"{self.negative_steps} meter steps backwards (reset or swap) left as missing")
        if self.missing_hours:
            shown = ", ".join(f"{start} ({n} h)" for start, n in self.gaps[:EXAMPLES])
            out.append(f"{self.missing_hours} hours missing in {len(self.gaps)} gaps, e.g. {shown}")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "used": self.used,
            "missing_count": self.missing_count,
            "bad": len(self.bad),
            "duplicates": self.duplicates,
            "conflicting": len(self.conflicting),
            "subhourly": self.subhourly,
            "nonexistent": len(self.nonexistent),
            "ambiguous": self.ambiguous,
            "other_locations": self.other_locations,
            "missing_hours": self.missing_hours,
            "gaps": len(self.gaps),
            "negative_steps": self.negative_steps,
        }


@dataclass
class Series:
    """Counts per UTC hour from epoch hour ``start`` on (NaN: not counted), local zone ``tz``."""

    name: str
    tz: str
    start: int
    values: FloatArray
    location: str = ""
    report: ImportReport = field(default_factory=ImportReport)

    @property
    def end(self) -> int:
        return self.start + len(self.values)

    def index(self, when: datetime) -> int:
        """Grid index of the hour ``when`` falls in (may lie outside the series)."""
        return epoch_hour(when) - self.start

    def first_time(self) -> datetime:
        return hour_start(self.start)


def _grid(hours: dict[int, float], report: ImportReport) -> tuple[int, FloatArray]:
    if not hours:
        raise SeriesError("no usable rows: the series is empty")
    start, last = min(hours), max(hours)
    values = np.full(last - start + 1, np.nan)
    for h, v in hours.items():
        values[h - start] = v
    _gaps(values, start, report)
    return start, values


def _gaps(values: FloatArray, start: int, report: ImportReport) -> None:
    missing = np.isnan(values)
    report.missing_hours = int(missing.sum())
    i, n = 0, len(values)
    while i < n:
        if missing[i]:
            j = i
            while j < n and missing[j]:
                j += 1
            report.gaps.append((hour_start(start + i).isoformat().replace("+00:00", "Z"), j - i))
            i = j
        else:
            i += 1


def _open_rows(path: Path) -> tuple[list[str], Iterable[list[str]], Any]:
    try:
        fh = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise SeriesError(f"cannot read {path}: {exc.strerror or exc}") from exc
    first = fh.readline()
    delimiter = ";" if first.count(";") > first.count(",") else ","
    header = next(csv.reader([first], delimiter=delimiter), [])
    return [h.strip().lower() for h in header], csv.reader(fh, delimiter=delimiter), fh


def _column(header: Sequence[str], name: str, path: Path, required: bool = True) -> int | None:
    try:
        return header.index(name.lower())
    except ValueError:
        if required:
            raise SeriesError(
                f"{path} has no column {name!r} (header: {', '.join(header) or 'empty'});"
                " a series file is timestamp,count[,location]"
            ) from None
        return None


def _number(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    v = float(text.replace(",", ".")) if text.count(",") == 1 and "." not in text else float(text)
    if not math.isfinite(v):
        raise ValueError(text)
    return v


def read_csv(
    path: str | Path,
    tz: str,
    *,
    name: str = "",
    location: str | None = None,
    value_column: str = "count",
    timestamp_column: str = "timestamp",
    cumulative: bool = False,
) -> Series:
    """Read an hourly (or finer) series from a CSV file.

    Timestamps are ISO 8601; those without an offset are local time in ``tz``. A local time that
    occurs twice (DST ends) is taken as the earlier hour the first time the file names it and as
    the later one the second time. Rows finer than hourly are summed into their hour. With
    ``cumulative`` the values are meter readings: the series is the use in each hour (the
    difference to the previous hour's last reading).
    """
    p = Path(path)
    z = zone(tz)
    header, rows, fh = _open_rows(p)
    report = ImportReport()
    try:
        ts_col = _column(header, timestamp_column, p)
        val_col = _column(header, value_column, p)
        loc_col = _column(header, "location", p, required=False)
        assert ts_col is not None and val_col is not None
        locations: dict[str, int] = {}
        naive_seen: dict[datetime, int] = {}
        by_instant: dict[float, float | None] = {}
        for lineno, row in enumerate(rows, start=2):
            if not row or all(not c.strip() for c in row):
                continue
            report.rows += 1
            if loc_col is not None and loc_col < len(row):
                loc = row[loc_col].strip()
                locations[loc] = locations.get(loc, 0) + 1
                if location is not None and loc != location:
                    report.other_locations += 1
                    continue
            try:
                stamp = row[ts_col].strip()
                value = _number(row[val_col]) if val_col < len(row) else None
                when = datetime.fromisoformat(stamp)
            except (ValueError, IndexError):
                report.bad.append(f"line {lineno}")
                continue
            if value is not None and value < 0 and not cumulative:
                report.bad.append(f"line {lineno}")
                continue
            if when.tzinfo is None:
                if not _exists(when, z):
                    report.nonexistent.append(stamp)
                    continue
                if _is_ambiguous(when, z):
                    occurrence = naive_seen.get(when, 0)
                    naive_seen[when] = occurrence + 1
                    if occurrence == 1:
                        report.ambiguous += 1
                    when = when.replace(fold=min(occurrence, 1))
                when = when.replace(tzinfo=z)
            instant = when.timestamp()
            if instant in by_instant:
                if by_instant[instant] == value:
                    report.duplicates += 1
                    continue
                report.conflicting.append(stamp)
            by_instant[instant] = value
    finally:
        fh.close()
    readings: dict[int, float] = {}
    per_hour: dict[int, int] = {}
    for instant, value in by_instant.items():
        hour = int(instant // 3600)
        if value is None:
            report.missing_count += 1
            readings.setdefault(hour, math.nan)
            continue
        report.used += 1
        per_hour[hour] = per_hour.get(hour, 0) + 1
        old = readings.get(hour, math.nan)
        if math.isnan(old):
            readings[hour] = value
        else:
            readings[hour] = max(old, value) if cumulative else old + value
    report.subhourly = sum(n - 1 for n in per_hour.values() if n > 1)
    if location is None and len(locations) > 1:
        shown = ", ".join(sorted(locations)[:EXAMPLES])
        raise SeriesError(f"{p} holds {len(locations)} locations ({shown}): choose one with --location")
    if location is not None and location not in locations:
        raise SeriesError(f"{p} has no rows for location {location!r}")
    if cumulative:
        readings = _differences(readings, report)
    start, values = _grid(readings, report)
    where = location or (next(iter(locations)) if locations else "")
    series = Series(name or p.stem, tz, start, values, where, report)
    for line in report.lines():
        log.info("%s: %s", p.name, line)
    return series


def _exists(naive: datetime, z: Any) -> bool:
    aware = naive.replace(tzinfo=z)
    back = aware.astimezone(UTC).astimezone(z)
    return back.replace(tzinfo=None) == naive


def _is_ambiguous(naive: datetime, z: Any) -> bool:
    if naive.tzinfo is not None:
        return False
    a = naive.replace(tzinfo=z, fold=0).utcoffset()
    b = naive.replace(tzinfo=z, fold=1).utcoffset()
    return a != b


def _differences(readings: dict[int, float], report: ImportReport) -> dict[int, float]:
    """Meter readings at hours → use per hour (reading at the end of the hour minus the one before)."""
    out: dict[int, float] = {}
    hours = sorted(h for h, v in readings.items() if not math.isnan(v))
    for a, b in zip(hours, hours[1:], strict=False):
        if b - a != 1:
            continue
        step = readings[b] - readings[a]
        if step < 0:
            report.negative_steps += 1
            continue
        out[a] = step
    return out


def from_hourly(
    rows: Iterable[Any], quantity: str, tz: str, name: str, start: datetime, end: datetime
) -> Series:
    """A series from ``measurements_hourly`` rows (:class:`sync_server.db.Hourly`) of one quantity.

    Event counts (people in/out, presses) add up over sensors and channels; a running total or
    meter reading becomes the use per hour (difference of the hour's highest readings); anything
    else is the hour's mean.
    """
    report = ImportReport()
    sums: dict[int, float] = {}
    counts: dict[int, int] = {}
    highs: dict[int, float] = {}
    for r in rows:
        if r.quantity != quantity:
            continue
        report.rows += 1
        hour = epoch_hour(datetime.fromisoformat(r.hour.replace("Z", "+00:00")))
        sums[hour] = sums.get(hour, 0.0) + r.total
        counts[hour] = counts.get(hour, 0) + r.readings
        highs[hour] = max(highs.get(hour, -math.inf), r.high)
    report.used = report.rows
    if quantity in SUMMED:
        hourly = sums
    elif quantity in CUMULATIVE:
        hourly = _differences({h + 1: v for h, v in highs.items()}, report)
    else:
        hourly = {h: sums[h] / counts[h] for h in sums if counts[h]}
    lo, hi = epoch_hour(start), epoch_hour(end)
    hourly = {h: v for h, v in hourly.items() if lo <= h < hi}
    if not hourly:
        raise SeriesError(f"the database holds no {quantity} readings for this series in that window")
    first, values = _grid(hourly, report)
    return Series(name, tz, first, values, "", report)


def read_db(
    url: str,
    tz: str,
    *,
    name: str,
    quantity: str = "people_in",
    device: str | None = None,
    sensor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Series:
    """The hourly series of canonical ``quantity`` measurements in the server database at ``url``."""
    from ..db import Window, open_database

    start = since or datetime(2000, 1, 1, tzinfo=UTC)
    end = until or datetime.now(UTC) + timedelta(hours=1)
    window = Window(
        start.astimezone(UTC).strftime("%Y-%m-%dT%H:00:00Z"),
        end.astimezone(UTC).strftime("%Y-%m-%dT%H:00:00Z"),
        quantity=quantity,
        device_id=device,
        sensor=sensor,
    )
    db = open_database(url, create=False, pool_size=1)
    try:
        db.migrate()
        rows = db.hourly(window, limit=10_000_000)
    finally:
        db.close()
    return from_hourly(rows, quantity, tz, name, start, end)


def read_weather(path: str | Path, tz: str) -> Weather:
    """A weather file: CSV ``timestamp,temperature_c,precipitation_mm`` (either value column may be
    missing or empty). Timestamps as in a series file; a date without a time applies to all of its
    local day's hours."""
    p = Path(path)
    z = zone(tz)
    header, rows, fh = _open_rows(p)
    temperature: dict[int, float] = {}
    precipitation: dict[int, float] = {}
    try:
        ts_col = _column(header, "timestamp", p)
        t_col = _column(header, "temperature_c", p, required=False)
        r_col = _column(header, "precipitation_mm", p, required=False)
        if t_col is None and r_col is None:
            raise SeriesError(f"{p} has neither a temperature_c nor a precipitation_mm column")
        assert ts_col is not None
        for lineno, row in enumerate(rows, start=2):
            if not row or ts_col >= len(row) or not row[ts_col].strip():
                continue
            stamp = row[ts_col].strip()
            try:
                hours = _weather_hours(stamp, z)
                t = _number(row[t_col]) if t_col is not None and t_col < len(row) else None
                r = _number(row[r_col]) if r_col is not None and r_col < len(row) else None
            except ValueError as exc:
                raise SeriesError(f"{p} line {lineno}: cannot read {stamp!r} and its values") from exc
            for h in hours:
                if t is not None:
                    temperature[h] = t
                if r is not None:
                    precipitation[h] = r if len(hours) == 1 else r / len(hours)
    finally:
        fh.close()
    return Weather(temperature, precipitation)


def _weather_hours(stamp: str, z: Any) -> list[int]:
    if len(stamp) == 10:
        from forecasting.features import day_hours

        return [epoch_hour(h) for h in day_hours(datetime.fromisoformat(stamp).date(), z.key)]
    when = datetime.fromisoformat(stamp)
    if when.tzinfo is None:
        when = when.replace(tzinfo=z)
    return [epoch_hour(when)]
