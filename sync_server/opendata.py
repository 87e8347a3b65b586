"""Open data: what the published tables hold, under which licence, and how they are written.

Three datasets. Two read from the hourly aggregates (never from payloads, tokens or secrets):

* ``measurements``: per device, sensor, quantity, unit and channel, per UTC hour: count, sum,
  mean, minimum and maximum of the canonical measurements;
* ``feedback``: per device, feedback sensor and channel (a feedback terminal asks one question,
  the channel is the answer, e.g. ``short``/``double`` or a smiley number; for votes, those of
  kiosks and of feedback buttons the content pack maps to a poll, ``<poll>:<choice>`` with the
  choice's ``label``): the button presses. A record marked ``"counted": false`` adds none.

The third, ``usage``, sums the kiosks' daily usage reports per day, site, metric and item
(:mod:`.usage`).

Every answer names the licence, Datenlizenz Deutschland – Namensnennung – Version 2.0, and the
data provider to be named (the ``server.opendata_attribution`` setting).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from a2d.measurements import QUANTITIES
from a2d.syncwire import API
from a2d.timeutil import parse

from .db import Hourly, Tally, Window

LICENCE = {
    "id": "dl-de/by-2-0",
    "name": "Datenlizenz Deutschland – Namensnennung – Version 2.0",
    "url": "https://www.govdata.de/dl-de/by-2-0",
}
PREFIX = f"{API}/opendata"
#: rows an answer holds unless ``?limit=`` asks for more (up to ``server.opendata_max_rows``)
DEFAULT_LIMIT = 10000
#: the window when ``from`` is not given: this long before ``to``
DEFAULT_SPAN = timedelta(days=7)


class Field(NamedTuple):
    name: str
    type: str
    description: str


_WHO = (
    Field("device_id", "string", "the edge device (a Raspberry Pi) that collected the data"),
    Field("sensor", "string|null", "the sensor's LoRaWAN DevEUI (or the id its bridge gave it)"),
    Field("sensor_name", "string|null", "the sensor's name in the network server"),
)
MEASUREMENT_FIELDS = (
    Field("hour", "string", "start of the hour, ISO 8601 in UTC (2026-06-02T08:00:00Z)"),
    *_WHO,
    Field("quantity", "string", "the canonical quantity (see quantities)"),
    Field("unit", "string", "its unit"),
    Field("channel", "string|null", "which button, line or depth of the sensor, if it has several"),
    Field("count", "integer", "readings in the hour"),
    Field("sum", "number", "sum of the readings"),
    Field("mean", "number", "sum / count"),
    Field("min", "number", "smallest reading"),
    Field("max", "number", "largest reading"),
)
FEEDBACK_FIELDS = (
    *_WHO,
    Field(
        "channel", "string|null", "the answer: which button was pressed (e.g. short, double, a smiley number)"
    ),
    Field("presses", "integer", "button presses in the window"),
    Field("first_hour", "string", "first hour with a press in the window (UTC)"),
    Field("last_hour", "string", "last hour with a press in the window (UTC)"),
    Field(
        "label",
        "string|null",
        "the answer in the words of the device's content pack (the poll choice's label) when the channel"
        " is <poll>:<choice>, as for kiosk votes and mapped feedback buttons; null otherwise",
    ),
)
USAGE_FIELDS = (
    Field("day", "string", "the day (YYYY-MM-DD) in the site's time"),
    Field("site", "string", "the site (a citizen office) of the kiosks; empty for devices without a site"),
    Field(
        "metric", "string", "sessions (visits begun), screen (screens shown) or language (languages chosen)"
    ),
    Field("item", "string", "which screen or language; empty for sessions"),
    Field("count", "integer", "the day's count over all kiosks of the site"),
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: the two columns every CSV row ends with, so that a row copied alone still names its licence
CSV_TRAILER = ("licence", "attribution")


class QueryError(ValueError):
    """A query parameter the open-data routes cannot use; the message says which and why."""


def _hour_ceiling(dt: datetime) -> datetime:
    floor = dt.replace(minute=0, second=0, microsecond=0)
    return floor if floor == dt else floor + timedelta(hours=1)


def _hour_text(dt: datetime) -> str:
    return f"{dt:%Y-%m-%dT%H}:00:00Z"


def _time(name: str, text: str) -> datetime:
    try:
        return parse(text)
    except (ValueError, OverflowError):
        raise QueryError(
            f"{name}: {text!r:.60} is not an ISO 8601 time (e.g. 2026-06-02T08:00:00Z)"
        ) from None


def window(
    start: str | None,
    end: str | None,
    *,
    quantity: str | None = None,
    device_id: str | None = None,
    sensor: str | None = None,
    now: datetime | None = None,
    min_count: int = 0,
) -> Window:
    """The hours starting in ``[start, end)``; ``end`` defaults to now, ``start`` to 7 days before it.

    ``min_count``: counts of people or presses below it are not published (see :mod:`.db._hourly`).
    """
    to = _hour_ceiling(_time("to", end) if end else (now or datetime.now(UTC)))
    since = _hour_ceiling(_time("from", start)) if start else to - DEFAULT_SPAN
    if since >= to:
        raise QueryError("from must lie before to (both are rounded up to a full hour)")
    if quantity is not None and quantity not in QUANTITIES:
        raise QueryError(f"unknown quantity {quantity!r:.60}; known: {', '.join(QUANTITIES)}")
    return Window(_hour_text(since), _hour_text(to), quantity, device_id or None, sensor or None, min_count)


def _num(x: float, digits: int = 6) -> float | int:
    rounded = round(x, digits)
    return int(rounded) if rounded.is_integer() and abs(rounded) < 2**53 else rounded


def measurement_row(h: Hourly) -> dict[str, Any]:
    return {
        "hour": h.hour,
        "device_id": h.device_id,
        "sensor": h.sensor or None,
        "sensor_name": h.sensor_name or None,
        "quantity": h.quantity,
        "unit": h.unit,
        "channel": h.channel or None,
        "count": int(h.readings),
        "sum": _num(h.total),
        "mean": _num(h.total / h.readings) if h.readings else None,
        "min": _num(h.low, 12),
        "max": _num(h.high, 12),
    }


def feedback_row(t: Tally, label: str | None = None) -> dict[str, Any]:
    return {
        "device_id": t.device_id,
        "sensor": t.sensor or None,
        "sensor_name": t.sensor_name or None,
        "channel": t.channel or None,
        "presses": _num(t.presses),
        "first_hour": t.first_hour,
        "last_hour": t.last_hour,
        "label": label,
    }


def document(
    dataset: str, w: Window, attribution: str, rows: Sequence[dict[str, Any]], now: str
) -> dict[str, Any]:
    """The JSON answer: the licence and the provider to name first, then the rows."""
    return {
        "dataset": dataset,
        "licence": LICENCE,
        "attribution": attribution or None,
        "from": w.start,
        "to": w.end,
        "generated_at": now,
        "count": len(rows),
        "rows": rows,
    }


def csv_text(fields: Iterable[Field], rows: Iterable[dict[str, Any]], attribution: str) -> str:
    """RFC 4180 CSV (comma, CRLF, UTF-8) with a header; each row ends with the licence and provider."""
    names = [f.name for f in fields]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*names, *CSV_TRAILER])
    tail = (LICENCE["id"], attribution)
    for row in rows:
        writer.writerow([*(_cell(row[n]) for n in names), *tail])
    return out.getvalue()


def _cell(value: Any) -> Any:
    """``None`` as an empty field; text that a spreadsheet would run as a formula gets a leading '."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in _FORMULA_START:
        return "'" + value
    return value


def _fields(fields: Iterable[Field]) -> list[dict[str, str]]:
    return [f._asdict() for f in fields]


_PARAMETERS = [
    {
        "name": "from",
        "description": "first hour wanted, ISO 8601 (rounded up to a full hour); default: 7 days before to",
    },
    {
        "name": "to",
        "description": "end of the window, exclusive, ISO 8601 (rounded up to a full hour); default: now",
    },
    {"name": "device_id", "description": "only this edge device"},
    {"name": "sensor", "description": "only this sensor (DevEUI)"},
    {"name": "limit", "description": "most rows wanted; more matching rows are an error (400), not a cut"},
]


_USAGE_PARAMETERS = [
    {"name": "from", "description": "first day, YYYY-MM-DD; default: 29 days before to"},
    {"name": "to", "description": "last day, YYYY-MM-DD (included); default: today (UTC)"},
]


def small_counts(min_count: int) -> str:
    """What the catalogue says about counts below the threshold."""
    if min_count <= 1:
        return "every count is published"
    return (
        f"no count of people or presses from 1 to {min_count - 1} is published: such an hourly row is"
        f" left out; a feedback tally adds up the hours with at least {min_count} presses and, per UTC"
        f" day that lies wholly in the window, the rest of that day's presses if they are {min_count} or more"
    )


def catalogue(attribution: str, max_rows: int, min_count: int = 0) -> dict[str, Any]:
    """What ``GET /api/v1/opendata`` answers: licence, provider, datasets with their fields and units."""

    def dataset(
        name: str, description: str, fields: Sequence[Field], extra: list[dict[str, str]]
    ) -> dict[str, Any]:
        return {
            "name": name,
            "description": description,
            "distributions": [
                {"format": "JSON", "media_type": "application/json", "url": f"{PREFIX}/{name}.json"},
                {"format": "CSV", "media_type": "text/csv", "url": f"{PREFIX}/{name}.csv"},
            ],
            "parameters": [*_PARAMETERS, *extra],
            "fields": _fields(fields),
        }

    return {
        "title": "analog2digital open data",
        "licence": LICENCE,
        "attribution": attribution or None,
        "how_to_cite": f"{attribution or 'the data provider'}, {LICENCE['name']} ({LICENCE['url']})",
        "time": "all times are UTC; each measurement row covers the hour that starts at `hour`",
        "personal_data": "none: aggregates of sensor readings and button presses only",
        "min_count": min_count,
        "small_counts": small_counts(min_count),
        "limits": {"default_rows": min(DEFAULT_LIMIT, max_rows), "max_rows": max_rows},
        "datasets": [
            dataset(
                "measurements",
                "hourly aggregates of the canonical measurements per sensor",
                MEASUREMENT_FIELDS,
                [{"name": "quantity", "description": "only this quantity"}],
            ),
            dataset(
                "feedback",
                "button presses per feedback sensor (one question) and channel (the answer)",
                FEEDBACK_FIELDS,
                [],
            ),
            {
                **dataset(
                    "usage",
                    "kiosk use per site and day, counted anonymously on each kiosk: visits begun, screens"
                    " shown, languages chosen",
                    USAGE_FIELDS,
                    [],
                ),
                "parameters": _USAGE_PARAMETERS,
            },
        ],
        "quantities": [
            {"quantity": q, "unit": unit, "description": text} for q, (unit, text) in QUANTITIES.items()
        ],
    }
