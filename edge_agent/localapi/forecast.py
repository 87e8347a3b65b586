"""``GET /v1/forecast``: the visitor-flow forecast this device holds, for the kiosk to show.

The forecast runner (:mod:`edge_agent.forecast`) stores it; this reads the latest one from today's
local midnight on and adds what is said about today (:func:`today_summary`) for the time of the
request. ``None`` (the API answers ``404``) when there is no model, no forecast yet, or only one
that has run out. The document's format is :mod:`a2d.forecastwire`'s; the kiosk draws the hours
that ``today`` covers and words it in the visitor's language.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from a2d import forecastwire, timeutil
from a2d.forecastwire import HourForecast
from a2d.hourgrid import zone

from .. import forecaststore
from ..forecast import local_midnight
from .context import ApiContext


def current_forecast(api: ApiContext) -> dict[str, Any] | None:
    """The stored forecast as the JSON of :func:`a2d.forecastwire.forecast_doc`, or ``None``."""
    now = timeutil.parse(api.clock()).astimezone(UTC)
    with api.reader() as db:
        head = db.execute("SELECT tz FROM forecast_runs ORDER BY generated_at DESC LIMIT 1").fetchone()
        if head is None:
            return None
        fc = forecaststore.latest(db, local_midnight(now, head[0]))
    if fc is None:
        return None
    hours = []
    for h in fc.hours:
        ts, local = forecastwire.hour_stamps(h.hour, fc.tz)
        hours.append(HourForecast(ts, local, h.p10, h.p50, h.p90, h.observed))
    return forecastwire.forecast_doc(
        series=fc.series, location=fc.location, tz=fc.tz, generated_at=fc.generated_at, origin=fc.origin,
        model_version=fc.model_version, model_type=fc.model_type, trained_at=fc.trained_at,
        transparency=fc.transparency, busy_threshold=fc.busy_threshold, nowcast=fc.nowcast, hours=hours,
        today=today_summary(hours, fc.busy_threshold, now, fc.tz),
    )  # fmt: skip


#: the local hours of a day that ``today`` speaks of (and a kiosk's chart shows): 8:00 to 20:00
DAY_FIRST_HOUR = 8
DAY_END_HOUR = 20


def today_summary(
    hours: Sequence[HourForecast], busy_threshold: float | None, now: datetime, tz: str
) -> dict[str, Any]:
    """When today (local) gets busy, from the current hour on, within the day's hours.

    An hour is busy when its P50 reaches ``busy_threshold``. ``busy_from_local_hour`` is the
    first busy hour not yet over (``None``: none), ``busy_until_local_hour`` the end of that
    busy stretch, ``busy_earlier`` whether an hour of today that is over was busy,
    ``peak_local_hour`` the hour with the highest P50 still to come; ``chart_hours`` names the
    hours looked at (:data:`DAY_FIRST_HOUR` to :data:`DAY_END_HOUR`).
    """
    local_now = now.astimezone(zone(tz))
    today = local_now.date()
    day: list[tuple[int, float]] = []
    for h in hours:
        t = datetime.fromisoformat(h.local)
        if t.date() == today and DAY_FIRST_HOUR <= t.hour < DAY_END_HOUR:
            day.append((t.hour, h.p50))

    def busy(v: float) -> bool:
        return busy_threshold is not None and v >= busy_threshold

    ahead = [(hr, v) for hr, v in day if hr >= local_now.hour]
    busy_from: int | None = None
    busy_until: int | None = None
    for hr, v in ahead:
        if busy_from is None:
            if busy(v):
                busy_from, busy_until = hr, hr + 1
        elif busy(v) and hr == busy_until:
            busy_until = hr + 1
        else:
            break
    peak = max(ahead, key=lambda a: a[1]) if ahead else None
    return {
        "date": today.isoformat(),
        "now_local_hour": local_now.hour,
        "chart_hours": [DAY_FIRST_HOUR, DAY_END_HOUR],
        "busy_from_local_hour": busy_from,
        "busy_until_local_hour": busy_until,
        "busy_earlier": any(busy(v) for hr, v in day if hr < local_now.hour),
        "peak_local_hour": None if peak is None else peak[0],
        "peak_p50": None if peak is None else round(peak[1], 2),
    }
