"""The HTTP API, one module per resource; ``ROUTERS`` is what the app mounts."""

from __future__ import annotations

from . import admin, health, heartbeat, records

ROUTERS = (records.router, heartbeat.router, admin.router, health.router)
