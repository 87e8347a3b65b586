"""``GET /v1/forecast``: the visitor-flow forecast this device holds, for the kiosk to show.

The forecast runner (:mod:`edge_agent.forecast`) stores it; this reads the latest one from today's
local midnight on and adds what is said about today (:func:`a2d.forecastwire.today_summary`) for
the time of the request. ``None`` (the API answers ``404``) when there is no model, no forecast
yet, or only one that has run out.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from a2d import forecastwire, timeutil

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
        hours.append(forecastwire.HourForecast(ts, local, h.p10, h.p50, h.p90, h.observed))
    return forecastwire.forecast_doc(
        series=fc.series, location=fc.location, tz=fc.tz, generated_at=fc.generated_at, origin=fc.origin,
        model_version=fc.model_version, model_type=fc.model_type, trained_at=fc.trained_at,
        transparency=fc.transparency, busy_threshold=fc.busy_threshold, nowcast=fc.nowcast, hours=hours,
        now=now,
    )  # fmt: skip
