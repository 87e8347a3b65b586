"""``GET /v1/forecast``: the visitor-flow forecast this device holds, for the kiosk to show.

There is no forecast runner on the edge yet: :func:`current_forecast` answers ``None`` and the
API ``404 {"error": "no forecast yet"}``. The forecast runner replaces this one function.
"""

from __future__ import annotations

from typing import Any

from .context import ApiContext


def current_forecast(api: ApiContext) -> dict[str, Any] | None:
    """The stored forecasts as JSON (see :mod:`a2d.forecastwire`), or ``None`` when there is none."""
    return None
