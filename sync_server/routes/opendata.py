"""``/api/v1/opendata``: the published hourly aggregates and feedback tallies (read-only, no token)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, HTTPException, Query, Response

from a2d.timeutil import utc_now

from .. import opendata, usage
from ..config import ServerSettings
from ..db import Window
from ..deps import DB, Settings
from ..feedbacklabels import Labels
from .responses import OPENDATA_ERRORS

router = APIRouter(prefix=opendata.PREFIX, tags=["open data"], responses=OPENDATA_ERRORS)

_HEADERS = {
    "Link": f'<{opendata.LICENCE["url"]}>; rel="license"',
    "Access-Control-Allow-Origin": "*",
    "Cache-Control": "public, max-age=60",
}
_JSON: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}}, "description": "the rows with licence and provider"}
}
_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "CSV with a header row; each row names the licence"}
}

From = Annotated[
    str | None, Query(alias="from", description="first hour, ISO 8601 UTC; default: 7 days before `to`")
]
To = Annotated[str | None, Query(description="end of the window (exclusive), ISO 8601; default: now")]
DeviceFilter = Annotated[str | None, Query(description="only this edge device")]
SensorFilter = Annotated[str | None, Query(description="only this sensor (DevEUI)")]
QuantityFilter = Annotated[str | None, Query(description="only this canonical quantity, e.g. soil_moisture")]
Limit = Annotated[int | None, Query(description="most rows wanted (default 10000); more matches are a 400")]


def _window(
    start: str | None, end: str | None, quantity: str | None, device_id: str | None, sensor: str | None,
    s: ServerSettings,
) -> Window:  # fmt: skip
    try:
        return opendata.window(
            start, end, quantity=quantity, device_id=device_id, sensor=sensor, min_count=s.opendata_min_count
        )
    except opendata.QueryError as exc:
        raise HTTPException(400, str(exc)) from None


def _rows(
    fetch: Callable[[Window, int], list[Any]], w: Window, limit: int | None, s: ServerSettings
) -> list[Any]:
    """Up to ``limit`` rows; more matching rows than that are refused, not silently cut."""
    wanted = min(opendata.DEFAULT_LIMIT, s.opendata_max_rows) if limit is None else limit
    if not 1 <= wanted <= s.opendata_max_rows:
        raise HTTPException(400, f"limit must lie between 1 and {s.opendata_max_rows}")
    rows = fetch(w, wanted + 1)
    if len(rows) > wanted:
        raise HTTPException(
            400,
            f"more than {wanted} rows match: narrow from/to or filter by quantity, device_id or sensor"
            + (
                f", or ask for up to {s.opendata_max_rows} with ?limit="
                if wanted < s.opendata_max_rows
                else ""
            ),
        )
    return rows


def _json(dataset: str, w: Window, rows: list[dict[str, Any]], s: ServerSettings) -> Response:
    doc = opendata.document(dataset, w, s.opendata_attribution, rows, utc_now())
    return Response(orjson.dumps(doc), media_type="application/json", headers=_HEADERS)


def _csv(
    name: str, fields: tuple[opendata.Field, ...], rows: list[dict[str, Any]], s: ServerSettings
) -> Response:
    text = opendata.csv_text(fields, rows, s.opendata_attribution)
    headers = {**_HEADERS, "Content-Disposition": f'inline; filename="{name}.csv"'}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)


@router.get("", summary="Open data catalogue")
def catalogue(settings: Settings) -> Response:
    """The open datasets with their licence (Datenlizenz Deutschland – Namensnennung – Version 2.0,
    `dl-de/by-2-0`), the data provider to name, the query parameters, the fields and the units of
    every canonical quantity. No token needed.
    """
    doc = opendata.catalogue(
        settings.opendata_attribution, settings.opendata_max_rows, settings.opendata_min_count
    )
    return Response(orjson.dumps(doc), media_type="application/json", headers=_HEADERS)


@router.get("/measurements.json", summary="Hourly measurement aggregates (JSON)", responses=_JSON)
def measurements_json(
    db: DB, settings: Settings, start: From = None, to: To = None, quantity: QuantityFilter = None,
    device_id: DeviceFilter = None, sensor: SensorFilter = None, limit: Limit = None,
) -> Response:  # fmt: skip
    """Per device, sensor, quantity, unit and channel, per UTC hour: count, sum, mean, min and max
    of the canonical measurements, for the hours starting in `[from, to)`. With the licence and the
    data provider to name. No token needed; no payloads, tokens or personal data.
    """
    w = _window(start, to, quantity, device_id, sensor, settings)
    rows = [opendata.measurement_row(h) for h in _rows(db.hourly, w, limit, settings)]
    return _json("measurements", w, rows, settings)


@router.get("/measurements.csv", summary="Hourly measurement aggregates (CSV)", responses=_CSV)
def measurements_csv(
    db: DB, settings: Settings, start: From = None, to: To = None, quantity: QuantityFilter = None,
    device_id: DeviceFilter = None, sensor: SensorFilter = None, limit: Limit = None,
) -> Response:  # fmt: skip
    """The rows of `measurements.json` as CSV (comma, UTF-8) with a header row; every row ends with
    the columns `licence` (`dl-de/by-2-0`) and `attribution`. No token needed.
    """
    w = _window(start, to, quantity, device_id, sensor, settings)
    rows = [opendata.measurement_row(h) for h in _rows(db.hourly, w, limit, settings)]
    return _csv("measurements", opendata.MEASUREMENT_FIELDS, rows, settings)


@router.get("/feedback.json", summary="Feedback tallies (JSON)", responses=_JSON)
def feedback_json(
    db: DB, settings: Settings, start: From = None, to: To = None, device_id: DeviceFilter = None,
    sensor: SensorFilter = None, limit: Limit = None,
) -> Response:  # fmt: skip
    """Button presses per device, feedback sensor and channel over the hours starting in
    `[from, to)`. A feedback terminal asks one question; the channel is the answer (e.g. `short` /
    `double`, or a smiley number). Votes (kiosks, and feedback buttons the content pack maps to a
    poll) count under `<poll>:<choice>`, with `label` the choice's words from the device's content
    pack. With the licence and the data provider. No token needed.
    """
    w = _window(start, to, None, device_id, sensor, settings)
    labels = Labels(db)
    rows = [
        opendata.feedback_row(t, labels.label(t.device_id, t.channel))
        for t in _rows(db.feedback_tallies, w, limit, settings)
    ]
    return _json("feedback", w, rows, settings)


@router.get("/feedback.csv", summary="Feedback tallies (CSV)", responses=_CSV)
def feedback_csv(
    db: DB, settings: Settings, start: From = None, to: To = None, device_id: DeviceFilter = None,
    sensor: SensorFilter = None, limit: Limit = None,
) -> Response:  # fmt: skip
    """The rows of `feedback.json` as CSV with a header row, each ending with `licence` and
    `attribution`. No token needed.
    """
    w = _window(start, to, None, device_id, sensor, settings)
    labels = Labels(db)
    rows = [
        opendata.feedback_row(t, labels.label(t.device_id, t.channel))
        for t in _rows(db.feedback_tallies, w, limit, settings)
    ]
    return _csv("feedback", opendata.FEEDBACK_FIELDS, rows, settings)


Day = Annotated[
    str | None, Query(alias="from", description="first day, YYYY-MM-DD; default: 29 days before `to`")
]
DayTo = Annotated[
    str | None, Query(alias="to", description="last day, YYYY-MM-DD (included); default: today (UTC)")
]


def _usage(
    db: Any, start: str | None, end: str | None, s: ServerSettings
) -> tuple[Window, list[dict[str, Any]]]:
    try:
        first, last = usage.window(start, end, datetime.now(UTC).date())
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    w = Window(first.isoformat(), last.isoformat(), None, None, None, s.opendata_min_count)
    return w, usage.daily(db, first, last, s.opendata_min_count)


@router.get("/usage.json", summary="Kiosk usage per site and day (JSON)", responses=_JSON)
def usage_json(db: DB, settings: Settings, start: Day = None, end: DayTo = None) -> Response:
    """How the kiosks were used per site and day, counted anonymously on each kiosk: visits begun
    (`sessions`), screens shown (`screen`) and languages chosen (`language`) in the days
    `[from, to]`. A count from 1 to `opendata.min_count - 1` is left out."""
    w, rows = _usage(db, start, end, settings)
    return _json("usage", w, rows, settings)


@router.get("/usage.csv", summary="Kiosk usage per site and day (CSV)", responses=_CSV)
def usage_csv(db: DB, settings: Settings, start: Day = None, end: DayTo = None) -> Response:
    """The rows of `usage.json` as CSV with a header row, each ending with `licence` and `attribution`."""
    _w, rows = _usage(db, start, end, settings)
    return _csv("usage", usage.FIELDS, rows, settings)
