"""The sync protocol between an edge device and the town's sync server (HTTP + JSON).

All paths are under ``/api/v1``; the device authenticates with ``Authorization: Bearer <token>``
(a per-device token; the server stores only its hash). Admin endpoints take the admin token the
same way. Request bodies may be gzip-compressed (``Content-Encoding: gzip``).

``POST /api/v1/devices/{device_id}/records`` — upload a batch::

    {"records": [{"record_id": "cs:up:5f1c...", "stream": "uplink",
                  "ts": "2026-06-02T08:15:31.412883Z", "payload": {...}}, ...]}

The server upserts by ``(device_id, record_id)`` and answers ``200`` with
``{"acked": [record_id, ...]}`` listing every record it now holds (a repeated upload is
acknowledged again, never stored twice). ``401`` without a valid token, ``403`` when the token
belongs to another device, ``413`` when the (decompressed) body or the batch is too large,
``400`` for a malformed body (JSON nested 1,000 levels deep too; see :data:`MAX_PAYLOAD_DEPTH`),
``422`` for a record the server cannot store: an unknown stream, a ``ts`` that is no ISO 8601
time, a NUL character in the payload, or data its database refuses. Every refusal of one record
names it (``records[3] (record_id 'cs:up:...'): ...``) in ``detail``. The edge deletes or marks a
record only after it was acknowledged.

``POST /api/v1/devices/{device_id}/heartbeat`` — :class:`Heartbeat` as JSON; ``204``.

``GET /api/v1/healthz`` — ``200 {"ok": true}`` when the server and its database are up.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

from .retention import STREAMS as _RETAINED

API = "/api/v1"
#: limits both sides keep to; the server enforces them
MAX_BATCH_RECORDS = 5000
MAX_BODY_BYTES = 8 * 1024 * 1024
#: the streams a server takes: those with a retention promise (a2d/retention.py), no others
STREAMS = tuple(_RETAINED)
#: a payload nesting this many levels is always taken (the edge's own events nest a few); a
#: deeper one may be refused with 400 (the server's JSON writer stops there), and one nested
#: 1,000 levels deep always is (its JSON readers stop there)
MAX_PAYLOAD_DEPTH = 254


def records_path(device_id: str) -> str:
    return f"{API}/devices/{device_id}/records"


def heartbeat_path(device_id: str) -> str:
    return f"{API}/devices/{device_id}/heartbeat"


class Record(NamedTuple):
    """One record of a device's outbox; ``record_id`` is unique per device and never reused.

    A named tuple rather than a dataclass: the server builds thousands per upload.
    """

    record_id: str
    stream: str
    ts: str
    payload: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"record_id": self.record_id, "stream": self.stream, "ts": self.ts, "payload": self.payload}


class WireError(ValueError):
    """A body does not follow this protocol; the message says where."""


def parse_records(body: Any) -> list[Record]:
    """Check an upload body (already JSON-decoded) and return its records."""
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise WireError('expected {"records": [...]}')
    items = body["records"]
    if len(items) > MAX_BATCH_RECORDS:
        raise WireError(f"at most {MAX_BATCH_RECORDS} records per batch, got {len(items)}")
    out = []
    for i, r in enumerate(items):
        if not isinstance(r, dict):
            raise WireError(f"records[{i}] is not an object")
        rid, stream, ts, payload = r.get("record_id"), r.get("stream"), r.get("ts"), r.get("payload")
        if not isinstance(rid, str) or not rid or len(rid) > 200:
            raise WireError(f"records[{i}].record_id must be a non-empty string of at most 200 characters")
        if not isinstance(stream, str) or not stream or len(stream) > 40:
            raise WireError(f"records[{i}].stream must be a short string")
        if not isinstance(ts, str) or len(ts) > 40:
            raise WireError(f"records[{i}].ts must be an ISO-8601 string")
        if not isinstance(payload, dict):
            raise WireError(f"records[{i}].payload must be an object")
        out.append(Record(rid, stream, ts, payload))
    return out


@dataclass(frozen=True)
class Heartbeat:
    """What a device reports about itself, about once a minute."""

    versions: dict[str, str]
    uptime_s: float
    disk_free_bytes: int
    outbox: dict[str, int] = field(default_factory=dict)  # pending records per stream
    last_sync_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Any) -> Heartbeat:
        """Check a decoded heartbeat: each field of its type (a string is not a number, an object
        not a version), so that nothing of another shape, or nested, is kept."""
        if not isinstance(d, dict):
            raise WireError("a heartbeat is a JSON object")
        versions, outbox, last = d.get("versions") or {}, d.get("outbox") or {}, d.get("last_sync_at")
        if not isinstance(versions, dict) or not all(isinstance(v, str) for v in versions.values()):
            raise WireError("bad heartbeat: versions must be an object of strings")
        if not isinstance(outbox, dict) or not all(_is_int(v) for v in outbox.values()):
            raise WireError("bad heartbeat: outbox must be an object of integers")
        if last is not None and not isinstance(last, str):
            raise WireError("bad heartbeat: last_sync_at must be a string or null")
        uptime, free = d.get("uptime_s"), d.get("disk_free_bytes")
        if isinstance(uptime, bool) or not isinstance(uptime, int | float):
            raise WireError("bad heartbeat: uptime_s must be a number")
        if not isinstance(free, int) or isinstance(free, bool):
            raise WireError("bad heartbeat: disk_free_bytes must be an integer")
        return cls(versions=dict(versions), uptime_s=float(uptime), disk_free_bytes=int(free),
                   outbox=dict(outbox), last_sync_at=last)  # fmt: skip


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)
