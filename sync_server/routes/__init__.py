"""The HTTP API, one module per resource; ``ROUTERS`` is what the app mounts."""

from __future__ import annotations

from . import admin, apt, bundles, health, heartbeat, live, opendata, records

ROUTERS = (
    records.router,
    heartbeat.router,
    bundles.router,
    admin.router,
    opendata.router,
    health.router,
    apt.router,
    live.devices,
    live.admins,
)
