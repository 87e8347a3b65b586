"""``/api/v1/admin/...``: the fleet as the town's IT sees it (admin token required)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query

from a2d.syncwire import API

from ..auth import admin
from ..db import StoredHeartbeat
from ..deps import DB
from .responses import ADMIN_ERRORS

router = APIRouter(
    prefix=f"{API}/admin", tags=["admin"], dependencies=[Depends(admin)], responses=ADMIN_ERRORS
)


def _beat(h: StoredHeartbeat) -> dict[str, Any]:
    return {"device_id": h.device_id, "received_at": h.received_at, **orjson.loads(h.heartbeat)}


@router.get("/devices", summary="List devices")
def list_devices(db: DB) -> dict[str, Any]:
    """Every registered device: id, name, when it was added and got its token, whether revoked."""
    return {"devices": [d.as_dict() for d in db.devices()]}


@router.get("/heartbeats", summary="Latest heartbeat of each device")
def latest_heartbeats(db: DB) -> dict[str, Any]:
    """The last heartbeat each device sent, with the time the server received it."""
    return {"heartbeats": [_beat(h) for h in db.latest_heartbeats()]}


@router.get("/devices/{device_id}/heartbeats", summary="Recent heartbeats of one device")
def device_heartbeats(
    device_id: str, db: DB, limit: Annotated[int, Query(ge=1, le=10000)] = 60
) -> dict[str, Any]:
    """The device's most recent heartbeats, newest first (as many as the server keeps)."""
    if device_id not in {d.device_id for d in db.devices()}:
        raise HTTPException(404, f"no device {device_id!r}")
    return {"device_id": device_id, "heartbeats": [_beat(h) for h in db.heartbeat_history(device_id, limit)]}
