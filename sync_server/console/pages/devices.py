"""``/console/devices``: the fleet, and ``/console/devices/{device_id}``: one device's heartbeats."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ...deps import DB, Settings
from .. import battery, fleet, i18n, latest, web

router = APIRouter(prefix="/console", include_in_schema=False)
Anyone = Annotated[web.Staff, Depends(web.require("editor", "lotse", "viewer"))]
#: heartbeats the device page shows at most
HISTORY = 100


@router.get("/devices")
async def devices(request: Request, who: Anyone, db: DB, settings: Settings) -> Response:
    """Every device the user's sites cover, with its latest heartbeat, its sensors' batteries and alerts."""
    now = web.now()
    all_devices, beats, readings = await run_in_threadpool(
        lambda: (db.devices(), db.latest_heartbeats(), latest.latest(db, now, battery.QUANTITIES))
    )
    mine = [d for d in all_devices if who.user.sees_site(d.site)]
    th = fleet.Thresholds.of(settings)
    cells = battery.batteries(readings, th.battery_percent, th.battery_volts)
    rows = fleet.rows(mine, beats, now, th, cells)
    t = i18n.catalog(web.language(request))
    return web.render(request, "devices.html", t.devices_title, rows=rows,
                      alerted=sum(1 for r in rows if r.alerts))  # fmt: skip


@router.get("/devices/{device_id}")
async def device(request: Request, device_id: str, who: Anyone, db: DB, settings: Settings) -> Response:
    found = [d for d in await run_in_threadpool(db.devices) if d.device_id == device_id]
    if not found or not who.user.sees_site(found[0].site):
        return web.message(request, "notfound", 404)
    history = [fleet.beat(h) for h in await run_in_threadpool(db.heartbeat_history, device_id, HISTORY)]
    t = i18n.catalog(web.language(request))
    th = fleet.Thresholds.of(settings)
    return web.render(request, "device.html", t.fmt("device_title", id=device_id), device=found[0],
                      history=history, alerts=fleet.alerts(found[0], history[0] if history else None, web.now(), th))  # fmt: skip
