"""``a2d provision list|revoke|rotate-token``: the fleet as the admin sees it through the admin API.

A device is named by its id or by the name it was enrolled with; a name two devices share is
refused with both ids, so an admin never revokes the wrong one.
"""

from __future__ import annotations

from typing import Any

from a2d.errors import KnownError

from .adminapi import AdminApi


def rows(api: AdminApi) -> list[dict[str, Any]]:
    """Every device with what its latest heartbeat says: versions, outbox depth, uptime; and what
    its kiosks' screens show (``displays``, each with its ``alerts``: screen_frozen, kiosk_gone)."""
    beats = {h["device_id"]: h for h in api.heartbeats()}
    out = []
    for d in api.devices():
        beat = beats.get(d["device_id"], {})
        outbox = beat.get("outbox") or {}
        out.append({
            "device_id": d["device_id"], "name": d.get("name", ""), "site": d.get("site", ""),
            "role": d.get("role", ""), "active": d.get("active", True), "revoked_at": d.get("revoked_at"),
            "last_seen": d.get("last_seen") or beat.get("received_at"),
            "versions": beat.get("versions") or {}, "outbox": outbox,
            "outbox_depth": sum(v for v in outbox.values() if isinstance(v, int)),
            "uptime_s": beat.get("uptime_s"), "last_sync_at": beat.get("last_sync_at"),
            "displays": [x for x in d.get("displays") or [] if isinstance(x, dict)],
        })  # fmt: skip
    return out


def screens(r: dict[str, Any]) -> str:
    """Each kiosk's screen: its page, when the server last saw its picture change, and its alerts."""
    parts = []
    for x in r.get("displays") or []:
        alerts = "".join(f" {a.upper()}" for a in x.get("alerts") or [])
        parts.append(f"{x.get('kiosk_id')}:{x.get('page')} changed {x.get('screen_changed_at')}{alerts}")
    return "; ".join(parts) or "-"


def line(r: dict[str, Any]) -> str:
    state = "active" if r["active"] else f"REVOKED {r['revoked_at']}"
    versions = ",".join(f"{k}={v}" for k, v in sorted(r["versions"].items())) or "-"
    return (
        f"{r['device_id']:<28} {r['site'] or '-':<20} {r['role'] or '-':<18} {state:<10} "
        f"last seen {r['last_seen'] or 'never':<28} outbox {r['outbox_depth']:<7} {versions}  {r['name']}"
        f"  screen {screens(r)}"
    )


def resolve(api: AdminApi, name: str) -> str:
    """The device id NAME means: an id, else the one device enrolled under that name."""
    devices = api.devices()
    if any(d["device_id"] == name for d in devices):
        return name
    named = [d["device_id"] for d in devices if d.get("name") == name]
    if len(named) == 1:
        return named[0]
    if named:
        raise KnownError(f"{len(named)} devices are called {name!r}: name one by its id ({', '.join(named)})")
    raise KnownError(f"no device {name!r} at the server (a2d provision list shows them)")
