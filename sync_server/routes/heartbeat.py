"""``POST /api/v1/devices/{device_id}/heartbeat``: what a device says about itself."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from a2d import syncwire
from a2d.timeutil import utc_now

from .. import body, displays
from ..auth import DeviceId
from ..db import Database, Refused
from ..deps import DB, Settings, note_db_ok
from .responses import ERRORS

router = APIRouter(tags=["devices"])
#: a heartbeat is a few hundred bytes; this leaves room for many streams
MAX_HEARTBEAT_BYTES = 64 * 1024

HEARTBEAT_SCHEMA = {
    "type": "object",
    "required": ["uptime_s", "disk_free_bytes"],
    "properties": {
        "versions": {"type": "object", "additionalProperties": {"type": "string"}},
        "uptime_s": {"type": "number"},
        "disk_free_bytes": {"type": "integer"},
        "outbox": {"type": "object", "additionalProperties": {"type": "integer"}},
        "last_sync_at": {"type": ["string", "null"]},
        "now": {"type": ["string", "null"], "maxLength": syncwire.MAX_TS},
        "displays": {
            "type": "array",
            "maxItems": syncwire.MAX_DISPLAYS,
            "items": {
                "type": "object",
                "required": ["kiosk_id", "page", "frames", "hash", "changed_at", "reported_at"],
                "properties": {
                    "kiosk_id": {"type": "string", "maxLength": 64},
                    "page": {"type": "string", "maxLength": 40},
                    "frames": {"type": "integer", "minimum": 0},
                    "hash": {"type": "string", "maxLength": 64, "pattern": "^[0-9a-f]+$"},
                    "changed_at": {"type": "string", "format": "date-time"},
                    "reported_at": {"type": "string", "format": "date-time"},
                    "mode": {"type": "string", "enum": list(syncwire.DISPLAY_MODES)},
                    "wall": {"type": "boolean"},
                },
            },
        },
    },
}


def load_json(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise body.BodyError(400, f"the body is not JSON: {exc}") from exc


class HeartbeatRefused(Exception):
    """A heartbeat of the right shape that cannot be stored (422): the text says why."""


def accept_heartbeat(
    db: Database, device_id: str, raw: bytes, content_encoding: str | None, keep: int
) -> None:
    """Check and store one heartbeat; a NUL in its text, or text the database refuses, is a 422."""
    beat = syncwire.Heartbeat.from_dict(load_json(body.decode(raw, content_encoding, MAX_HEARTBEAT_BYTES)))
    text = orjson.dumps(beat.as_dict()).decode()
    if syncwire.has_nul(text):
        raise HeartbeatRefused("the heartbeat holds a NUL character (\\u0000)")
    now = utc_now()
    try:
        db.store_heartbeat(device_id, text, now, keep, displays.rows(device_id, beat, now))
    except Refused as exc:
        raise HeartbeatRefused(f"the database refused the heartbeat: {exc}") from exc


@router.post(
    syncwire.heartbeat_path("{device_id}"),
    summary="Report a device's state",
    status_code=204,
    response_class=Response,
    responses={204: {"description": "stored"}, **ERRORS},
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": HEARTBEAT_SCHEMA}}}
    },
)
async def post_heartbeat(request: Request, device: DeviceId, db: DB, settings: Settings) -> Response:
    """Keep this heartbeat (versions, uptime, free disk, outbox depth per stream, last sync) as the
    device's latest, and in its history of the last `server.heartbeat_history` heartbeats. Its
    `displays` (at most 16: what each kiosk's screen shows, a hash of the picture and when it
    last changed) are kept per kiosk for the screen alerts of `GET /api/v1/admin/devices`.
    """
    raw = await body.read(request, MAX_HEARTBEAT_BYTES)
    encoding = request.headers.get("content-encoding")
    await run_in_threadpool(accept_heartbeat, db, device, raw, encoding, settings.heartbeat_history)
    note_db_ok(request)
    return Response(status_code=204)
