"""``/api/v1/admin/...``: the fleet as the town's IT sees it (admin token required).

Besides listing devices and heartbeats, ``a2d provision`` registers, revokes and re-keys devices
here, so an admin needs the server's address and the admin token, not a shell on the server.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from a2d import timeutil
from a2d.bundles import is_slug
from a2d.firstboot import ROLES
from a2d.syncwire import API
from a2d.timeutil import utc_now

from .. import body, displays, registry
from ..auth import admin
from ..db import StoredHeartbeat
from ..deps import DB, Settings
from .responses import ADMIN_ERRORS, ERRORS

#: a device's registration is a name, a site and a role: a few hundred bytes (64 KiB as a heartbeat)
MAX_ADMIN_BODY = 64 * 1024
_WRITE_ERRORS = {400: ERRORS[400], 404: {"description": "no such device"}, 413: ERRORS[413], **ADMIN_ERRORS}

router = APIRouter(
    prefix=f"{API}/admin", tags=["admin"], dependencies=[Depends(admin)], responses=ADMIN_ERRORS
)


def _beat(h: StoredHeartbeat) -> dict[str, Any]:
    return {"device_id": h.device_id, "received_at": h.received_at, **orjson.loads(h.heartbeat)}


@router.get("/devices", summary="List devices")
def list_devices(db: DB, settings: Settings) -> dict[str, Any]:
    """Every registered device: id, name, when it was added and got its token, whether revoked;
    `displays`: what each of its kiosks' screens showed last (page, frames, picture hash,
    `screen_changed_at`: when the server last saw a new picture or frame, `last_report_at`), and
    `alerts` over all devices: `screen_frozen` (a kiosk whose site should be open drew nothing new
    for `server.display_stale_s`) and `kiosk_gone` (the agent's heartbeats arrive, the kiosk's
    reports stopped for `server.display_gone_s`).
    """
    devices = db.devices()
    limits = displays.Limits(settings.display_stale_s, settings.display_gone_s)
    shown, alerts = displays.screens(db, devices, limits, timeutil.parse(utc_now()))
    return {
        "devices": [{**d.as_dict(), "displays": shown.get(d.device_id, [])} for d in devices],
        "alerts": alerts,
    }


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


def _new_device(raw: bytes) -> tuple[str, str, str]:
    """(name, site, role) of a registration body, or a 400 saying what is wrong."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise body.BodyError(400, f"the body is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise body.BodyError(400, "the body must be an object {name, site, role}")
    name, site, role = (doc.get(k, "") for k in ("name", "site", "role"))
    if not isinstance(name, str) or not name.strip() or len(name) > 200 or any(ord(c) < 32 for c in name):
        raise body.BodyError(400, "name: 1 to 200 printable characters")
    if not isinstance(site, str) or (site and not is_slug(site)):
        raise body.BodyError(400, "site: lower-case letters and digits joined by single hyphens, or empty")
    if not isinstance(role, str) or (role and role not in ROLES):
        raise body.BodyError(400, f"role: one of {', '.join(ROLES)}, or empty")
    return name.strip(), site, role


@router.post("/devices", summary="Register a device", status_code=201, responses=_WRITE_ERRORS)
async def add_device(request: Request, db: DB) -> dict[str, Any]:
    """Register a device: body `{"name", "site", "role"}` (site and role may be empty). The answer
    holds its `device_id` (a slug of the name, made unique) and its `token`, shown this once.
    """
    name, site, role = _new_device(await body.read(request, MAX_ADMIN_BODY))
    token = registry.new_token()
    device_id = await run_in_threadpool(
        db.add_device, name, registry.device_id_candidates(name), registry.hash_token(token), utc_now(),
        site, role,
    )  # fmt: skip
    return {"device_id": device_id, "name": name, "site": site, "role": role, "token": token}


async def _no_body(request: Request) -> None:
    """A route that takes no body accepts none, or ``{}``; anything else is a 400, not ignored."""
    raw = (await body.read(request, MAX_ADMIN_BODY)).strip()
    if raw and raw.replace(b" ", b"") != b"{}":
        raise body.BodyError(400, "this route takes no body (or {})")


@router.post("/devices/{device_id}/revoke", summary="Revoke a device", responses=_WRITE_ERRORS)
async def revoke_device(request: Request, device_id: str, db: DB) -> dict[str, Any]:
    """The device's token stops working at once: its next upload or heartbeat is a `401`. No body."""
    await _no_body(request)
    if not await run_in_threadpool(db.revoke_device, device_id, utc_now()):
        raise HTTPException(404, f"no device {device_id!r}")
    return {"device_id": device_id, "revoked": True}


@router.post("/devices/{device_id}/token", summary="Give a device a new token", responses=_WRITE_ERRORS)
async def rotate_token(request: Request, device_id: str, db: DB) -> dict[str, Any]:
    """A new token for the device (shown this once); the old one stops working. This reinstates a
    revoked device. No body.
    """
    await _no_body(request)
    token = registry.new_token()
    if not await run_in_threadpool(db.set_device_token, device_id, registry.hash_token(token), utc_now()):
        raise HTTPException(404, f"no device {device_id!r}")
    return {"device_id": device_id, "token": token}


@router.get("/keys", summary="The public keys bundles are signed with")
def signing_keys(db: DB) -> dict[str, Any]:
    """The server's public signing keys that are active now (`key_id`, `public_key`, `added_at`,
    `retire_at`): what a new device is given to trust (`sync.trusted_keys`).
    """
    now = utc_now()
    keys = [k for k in db.signing_keys() if k.active_at(now)]
    return {"keys": [{"key_id": k.key_id, "public_key": k.public_key, "added_at": k.added_at,
                      "retire_at": k.retire_at} for k in keys]}  # fmt: skip
