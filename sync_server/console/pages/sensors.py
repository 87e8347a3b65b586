"""``/console/sensors``: the newest reading of every sensor, and the tree pits' watering list.

Everyone signed in sees the sensors of their sites; editors and admins set a soil sensor's own dry
threshold (``soil_thresholds``; empty: back to ``console.soil_dry_percent``), audited.
"""

from __future__ import annotations

import math
from itertools import groupby
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from a2d.timeutil import iso

from ...db import Database, Tx
from ...deps import DB, Settings
from .. import audit, i18n, latest, watering, web

router = APIRouter(prefix="/console/sensors", include_in_schema=False)
Anyone = Annotated[web.Staff, Depends(web.require("editor", "lotse", "viewer"))]
Editor = Annotated[web.Staff, Depends(web.require("editor"))]


def thresholds(db: Database) -> dict[str, float]:
    return {str(s): float(p) for s, p in db.query("SELECT sensor, dry_percent FROM soil_thresholds")}


def _visible(db: Database, who: web.Staff) -> list[latest.Latest]:
    sites = {d.device_id: d.site for d in db.devices()}
    readings = latest.latest(db, web.now())
    return [r for r in readings if r.device_id in sites and who.user.sees_site(sites[r.device_id])]


async def _page(request: Request, who: web.Staff, db: DB, default: float, status: int = 200,
                error: str = "") -> Response:  # fmt: skip
    readings, own = await run_in_threadpool(lambda: (_visible(db, who), thresholds(db)))
    now = web.now()
    trees = watering.watering_list(readings, own, default)
    sensors = [(key, list(rows)) for key, rows in groupby(readings, key=lambda r: (r.device_id, r.sensor))]
    t = i18n.catalog(web.language(request))
    return web.render(request, "sensors.html", t.sensors_title, status, trees=trees, sensors=sensors,
                      age=lambda hour: latest.age_text(hour, now), default=default, error=error,
                      may_edit=who.user.role in ("admin", "editor"),
                      saved=request.query_params.get("saved") == "1")  # fmt: skip


@router.get("")
async def sensors(request: Request, who: Anyone, db: DB, settings: Settings) -> Response:
    """Every sensor of the user's sites with its newest readings, and the watering list."""
    return await _page(request, who, db, settings.console_soil_dry_percent)


def _percent(text: str) -> float | None:
    """The threshold typed in (a comma works as the decimal mark); ``None`` for empty."""
    text = text.strip().replace(",", ".")
    if not text:
        return None
    value = float(text)  # ValueError for anything else
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise ValueError(text)
    return value


@router.post("/threshold")
async def set_threshold(
    request: Request, who: Editor, db: DB, settings: Settings, form: web.PostedForm
) -> Response:
    """Set (or, empty, clear) one soil sensor's own dry threshold, in percent."""
    t = i18n.catalog(web.language(request))
    sensor = form.get("sensor", "")
    readings = await run_in_threadpool(_visible, db, who)
    if sensor not in {r.sensor for r in readings if r.quantity == watering.SOIL}:
        return await _page(request, who, db, settings.console_soil_dry_percent, 400, t.sensors_unknown)
    try:
        value = _percent(form.get("dry_percent", ""))
    except ValueError:
        return await _page(request, who, db, settings.console_soil_dry_percent, 400, t.sensors_bad_threshold)
    now = iso(web.now())

    def change(tx: Tx) -> None:
        if value is None:
            tx.run("DELETE FROM soil_thresholds WHERE sensor = ?", (sensor,))
        else:
            tx.run(
                "INSERT INTO soil_thresholds (sensor, dry_percent, set_by, set_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (sensor) DO UPDATE SET dry_percent = excluded.dry_percent,"
                " set_by = excluded.set_by, set_at = excluded.set_at",
                (sensor, value, who.user.username, now),
            )
        audit.write(tx, who.actor, "sensor.threshold", sensor, "" if value is None else f"{value:g} %", now)

    await run_in_threadpool(db.transact, change)
    return web.redirect("/console/sensors?saved=1")
