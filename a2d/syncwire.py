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

A record's payload is an event as the edge agent stores it (``a2d edge events --json`` prints the
same object); the server keeps it as the JSON text it came as and reads four of its fields,
:data:`READ_FIELDS`, for its hourly aggregates.

This module owns both ends of the upload: the limits (:data:`MAX_BATCH_RECORDS` and the others),
the encoder the edge uses (:func:`record_json`, :func:`upload_body`) and the validator the server
uses (:func:`read_upload`). The validator has a fast path (msgspec: the envelopes typed, each
payload kept as its text, only :data:`READ_FIELDS` decoded) and a general path (orjson and
:func:`parse_records`) for any body the fast path does not take; the general path also words the
error. Both apply the same rules, in :func:`_check` (a test has them agree on random bodies).

``POST /api/v1/devices/{device_id}/heartbeat`` — :class:`Heartbeat` as JSON; ``204``. Its
optional ``displays`` (:class:`Display`, at most :data:`MAX_DISPLAYS`) say what the screens of
the device's kiosks show: page, frames drawn, a hash of the picture and when it last changed.

``GET /api/v1/healthz`` — ``200 {"ok": true}`` when the server and its database are up.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache, partial
from typing import Annotated, Any, NamedTuple

import orjson

from . import timeutil
from .retention import STREAMS as _RETAINED

API = "/api/v1"
#: limits both sides keep to; the server enforces them
MAX_BATCH_RECORDS = 5000
MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_RECORD_ID = 200  #: characters of a record_id (at least one)
MAX_STREAM = 40  #: characters of a stream name (at least one)
MAX_TS = 40  #: characters of a ts
#: the streams a server takes: those with a retention promise (a2d/retention.py), no others
STREAMS = tuple(_RETAINED)
#: a payload nesting this many levels is always taken (the edge's own events nest a few); a
#: deeper one may be refused with 400 (the server's JSON writer stops there), and one nested
#: 1,000 levels deep always is (its JSON readers stop there)
MAX_PAYLOAD_DEPTH = 254
#: the payload fields a server reads (the rest it stores as text): the sensor, its name, the
#: canonical measurements for the hourly aggregates, and whether its button presses count
#: (``"counted": false``: a feedback button's press inside its cooldown, or a press counted
#: through the vote the edge made of it; such presses are stored but count in no tally)
READ_FIELDS = ("dev_eui", "device_name", "measurements", "counted")
#: a body larger than this is sent gzip-compressed
GZIP_ABOVE_BYTES = 1024


def records_path(device_id: str) -> str:
    return f"{API}/devices/{device_id}/records"


def heartbeat_path(device_id: str) -> str:
    return f"{API}/devices/{device_id}/heartbeat"


class Record(NamedTuple):
    """One record of a device's outbox; ``record_id`` is unique per device and never reused."""

    record_id: str
    stream: str
    ts: str
    payload: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"record_id": self.record_id, "stream": self.stream, "ts": self.ts, "payload": self.payload}


class WireError(ValueError):
    """A body does not follow this protocol; ``detail`` says where, ``status`` is the HTTP answer
    (400, or 413 for a batch of too many records)."""

    def __init__(self, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


class RecordRefused(WireError):
    """One record of a batch cannot be stored: ``detail`` names it and says why; ``status`` is 422
    (or 400 for a payload nested too deep, which is a malformed body)."""

    def __init__(self, index: int | None, record_id: str, reason: str, status: int = 422) -> None:
        # index None: no single record is to blame, the refusal is the batch's
        super().__init__(
            reason if index is None else f"records[{index}] (record_id {record_id!r:.120}): {reason}", status
        )


# -- the edge's end: the encoder ---------------------------------------------------------------------


def record_json(record_id: str, stream: str, ts: str, payload: str) -> str:
    """One record of an upload as JSON text; ``payload`` is the payload object as JSON text on one
    line already (the edge's stored event, which it does not parse to write it again). The envelope
    is one orjson call: about 900 instructions a record fewer than escaping its three strings one
    by one (callgrind), some 2 % of reading a batch."""
    head = orjson.dumps({"record_id": record_id, "stream": stream, "ts": ts})
    return f'{head[:-1].decode()},"payload":{payload}}}'


def upload_body(records: Sequence[str]) -> tuple[bytes, dict[str, str]]:
    """The body of an upload of ``records`` (each as :func:`record_json` wrote it) and its headers:
    gzip-compressed (level 1: the fastest, and event JSON shrinks about 25-fold anyway) above
    :data:`GZIP_ABOVE_BYTES`."""
    body = ('{"records":[' + ",".join(records) + "]}").encode()
    if len(body) <= GZIP_ABOVE_BYTES:
        return body, {"Content-Type": "application/json"}
    return gzip.compress(body, compresslevel=1), {
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
    }


# -- the server's end: the validator -----------------------------------------------------------------


class Checked(NamedTuple):
    """One record of an upload as the server may store it."""

    record_id: str
    stream: str
    ts: str  #: in the one UTC form, ``2026-06-02T08:15:31.412883Z``
    hour: str  #: the start of its hour, ``2026-06-02T08:00:00Z``
    text: str  #: the payload as JSON text, on one line
    #: the payload's :data:`READ_FIELDS`, each as it came (None when missing)
    dev_eui: Any
    device_name: Any
    measurements: Any
    counted: Any = None  #: ``False``: its button presses count nowhere (missing: they count)


#: builds a Checked without the Python-level ``__new__`` of a named tuple (thousands per upload)
_checked = partial(tuple.__new__, Checked)


def read_upload(data: bytes) -> list[Checked]:
    """The records of an (inflated) upload body, checked against every rule of the protocol.

    Raises :class:`WireError` for a body of the wrong shape (400) or too many records (413), and
    :class:`RecordRefused` for a record the server cannot store (422, naming the first such record).
    """
    fast = read_fast(data)
    return fast if fast is not None else read_general(data)


def read_fast(data: bytes) -> list[Checked] | None:
    """:func:`read_upload`'s fast path, or None for a body it does not take (see :func:`_fast_path`)."""
    return _fast_path()(data)


def parse_records(body: Any) -> list[Record]:
    """Check the shape of an upload body (already JSON-decoded) and return its records."""
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise WireError('expected {"records": [...]}')
    items = body["records"]
    if len(items) > MAX_BATCH_RECORDS:
        raise WireError(f"at most {MAX_BATCH_RECORDS} records per batch, got {len(items)}", 413)
    out = []
    for i, r in enumerate(items):
        if not isinstance(r, dict):
            raise WireError(f"records[{i}] is not an object")
        rid, stream, ts, payload = r.get("record_id"), r.get("stream"), r.get("ts"), r.get("payload")
        if not isinstance(rid, str) or not rid or len(rid) > MAX_RECORD_ID:
            raise WireError(
                f"records[{i}].record_id must be a non-empty string of at most {MAX_RECORD_ID} characters"
            )
        if not isinstance(stream, str) or not stream or len(stream) > MAX_STREAM:
            raise WireError(f"records[{i}].stream must be a short string")
        if not isinstance(ts, str) or len(ts) > MAX_TS:
            raise WireError(f"records[{i}].ts must be an ISO-8601 string")
        if not isinstance(payload, dict):
            raise WireError(f"records[{i}].payload must be an object")
        out.append(Record(rid, stream, ts, payload))
    return out


def read_general(data: bytes) -> list[Checked]:
    """:func:`read_upload`'s general path: every value built as Python objects, each error worded."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise WireError(f"the body is not JSON: {exc}") from exc
    records = parse_records(doc)
    texts = []
    for i, r in enumerate(records):
        try:
            texts.append(orjson.dumps(r.payload).decode())
        except orjson.JSONEncodeError:  # orjson writes at most 254 levels
            raise RecordRefused(i, r.record_id, _DEEP, status=400) from None
    out = []
    for i, (r, text) in enumerate(zip(records, texts, strict=True)):
        ts, hour = _check(i, r.record_id, r.stream, r.ts, text)
        p = r.payload
        out.append(_checked((r.record_id, r.stream, ts, hour, text, p.get("dev_eui"), p.get("device_name"),
                             p.get("measurements"), p.get("counted"))))  # fmt: skip
    return out


#: the form the edge writes its times in; anything else goes through timeutil.normalise
_CANONICAL = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-5][0-9]:[0-5][0-9]\.[0-9]{6}Z")
#: an escaped NUL in JSON text: ``\u0000`` after an even number of backslashes
_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
_STREAMS = frozenset(STREAMS)
_DEEP = f"the payload nests deeper than the {MAX_PAYLOAD_DEPTH} levels the server's JSON writer takes"
#: ``2026-06-02T08`` -> ``2026-06-02T08:00:00Z`` for the hours seen so far, each checked against
#: the calendar once (02-30 and hour 24 never get in); emptied when it grows large
_HOURS: dict[str, str] = {}


def _hour(prefix: str) -> str | None:
    """``2026-06-02T08`` -> ``2026-06-02T08:00:00Z`` if that is an hour of the calendar, else None."""
    hour = _HOURS.get(prefix)
    if hour is None:
        try:
            timeutil.parse(f"{prefix}:00:00Z")
        except ValueError:
            return None
        if len(_HOURS) > 100_000:
            _HOURS.clear()
        hour = _HOURS[prefix] = f"{prefix}:00:00Z"
    return hour


def has_nul(text: str) -> bool:
    """Whether JSON text holds a NUL character (written ``\\u0000``, the only way JSON can)."""
    return "\\u0000" in text and _NUL.search(text) is not None


def _check(index: int, record_id: str, stream: str, ts: str, text: str) -> tuple[str, str]:
    """The rules for one record of the right shape; returns its time in the one UTC form and its hour.

    No NUL character in ``record_id``, ``stream`` or ``ts`` (400); a known stream, an ISO 8601 time
    (stored in UTC, so that retention can compare times as text) and no NUL in the payload
    (PostgreSQL's text and jsonb refuse it) (each 422).
    """
    if "\0" in record_id or "\0" in stream or "\0" in ts:
        raise WireError(f"records[{index}] has a NUL character in record_id, stream or ts")
    if stream not in _STREAMS:
        raise RecordRefused(index, record_id, f"unknown stream {stream!r:.60} (known: {', '.join(STREAMS)})")
    hour = _hour(ts[:13]) if _CANONICAL.fullmatch(ts) else None
    if hour is None:
        try:
            ts = timeutil.normalise(ts)
        except ValueError:
            raise RecordRefused(index, record_id, f"ts {ts!r:.60} is not an ISO 8601 time") from None
        hour = f"{ts[:13]}:00:00Z"
    if has_nul(text):
        raise RecordRefused(index, record_id, "the payload holds a NUL character (\\u0000)")
    return ts, hour


@cache
def _fast_path() -> Callable[[bytes], list[Checked] | None]:
    """The fast path's decoder, built on first use: msgspec is imported by the server only (the
    edge, which only encodes, would carry it for nothing)."""
    import msgspec

    # made with defstruct: class statements here would carry string annotations (this module's
    # ``from __future__ import annotations``) that msgspec cannot resolve inside a function
    # the lengths are checked by the decoder, in C; a body that breaks one goes the general way
    envelope = msgspec.defstruct(
        "Envelope",
        [
            ("record_id", Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_RECORD_ID)]),
            ("stream", Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_STREAM)]),
            ("ts", Annotated[str, msgspec.Meta(max_length=MAX_TS)]),
            ("payload", msgspec.Raw),
        ],
        gc=False,
    )
    upload = msgspec.defstruct("Upload", [("records", list[envelope])], gc=False)  # type: ignore[valid-type]
    # the payload's READ_FIELDS; the rest of it is skipped
    read = msgspec.defstruct("Read", [(name, Any, None) for name in READ_FIELDS], gc=False)
    upload_decoder: Any = msgspec.json.Decoder(upload)  # Any: its structs are made at run time
    read_decoder: Any = msgspec.json.Decoder(read)
    astuple = msgspec.structs.astuple
    refused = (msgspec.DecodeError, msgspec.ValidationError, RecursionError, UnicodeDecodeError)
    canonical, hours = _CANONICAL.fullmatch, _HOURS

    def fast(data: bytes) -> list[Checked] | None:
        """The records of a body, or None for the general path: a body this path does not take
        (any error), a body with a line break (each payload is kept on one line, as ``events
        --json`` prints it), more than :data:`MAX_BATCH_RECORDS` records."""
        if b"\n" in data or b"\r" in data:
            return None
        try:
            envelopes = upload_decoder.decode(data).records
        except refused:
            return None
        if len(envelopes) > MAX_BATCH_RECORDS:
            return None
        out: list[Checked] = []
        odd: list[int] = []  # records that fail the quick tests below: checked precisely once all are read
        append, decode_read = out.append, read_decoder.decode
        for rid, stream, ts, raw in map(astuple, envelopes):
            try:
                fields = decode_read(raw)  # an error here also says the payload is no object
                text = str(raw, "utf-8")
            except refused:
                return None
            # an hour met for the first time is checked against the calendar now, not set aside
            hour = (hours.get(ts[:13]) or _hour(ts[:13])) if canonical(ts) else None
            if hour is None or stream not in _STREAMS:
                odd.append(len(out))
            append(_checked((rid, stream, ts, hour, text, *astuple(fields))))
        # maybe a NUL somewhere (JSON can write one no other way): every record is checked precisely
        for i in range(len(out)) if b"\\u0000" in data else odd:
            c = out[i]
            ts, hour = _check(i, c.record_id, c.stream, c.ts, c.text)
            out[i] = c._replace(ts=ts, hour=hour)
        return out

    return fast


#: the most kiosk displays one heartbeat may report, and the longest of their texts
MAX_DISPLAYS = 16
DISPLAY_MODES = ("open", "closed", "night")
_DISPLAY_TEXT = {"kiosk_id": 64, "page": 40, "hash": 64}
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class Display:
    """The latest report of one kiosk's screen, as its agent forwards it (``a2d.localapi.DisplayReport``
    plus the kiosk and ``reported_at``, when the agent received it)."""

    kiosk_id: str
    page: str
    frames: int
    hash: str
    changed_at: str
    reported_at: str
    mode: str = "open"
    wall: bool = False

    @classmethod
    def from_dict(cls, d: Any, where: str) -> Display:
        if not isinstance(d, dict):
            raise WireError(f"bad heartbeat: {where} must be an object")
        for key, limit in _DISPLAY_TEXT.items():
            v = d.get(key)
            if not isinstance(v, str) or not v or len(v) > limit or not v.isprintable():
                raise WireError(f"bad heartbeat: {where}.{key} must be 1-{limit} printable characters")
        if not set(d["hash"]) <= _HEX:
            raise WireError(f"bad heartbeat: {where}.hash must be lower-case hex digits")
        frames = d.get("frames")
        if not isinstance(frames, int) or isinstance(frames, bool) or not 0 <= frames < 2**53:
            raise WireError(f"bad heartbeat: {where}.frames must be a whole number from 0")
        times = {}
        for key in ("changed_at", "reported_at"):
            v = d.get(key)
            try:
                if not isinstance(v, str) or len(v) > MAX_TS:
                    raise ValueError(v)
                times[key] = timeutil.normalise(v)
            except (ValueError, OverflowError):
                raise WireError(f"bad heartbeat: {where}.{key} must be an ISO 8601 time") from None
        mode, wall = d.get("mode", "open"), d.get("wall", False)
        if mode not in DISPLAY_MODES:
            raise WireError(f"bad heartbeat: {where}.mode must be one of {', '.join(DISPLAY_MODES)}")
        if not isinstance(wall, bool):
            raise WireError(f"bad heartbeat: {where}.wall must be true or false")
        return cls(d["kiosk_id"], d["page"], frames, d["hash"], times["changed_at"], times["reported_at"],
                   mode, wall)  # fmt: skip


@dataclass(frozen=True)
class Heartbeat:
    """What a device reports about itself, about once a minute."""

    versions: dict[str, str]
    uptime_s: float
    disk_free_bytes: int
    outbox: dict[str, int] = field(default_factory=dict)  # pending records per stream
    last_sync_at: str | None = None
    #: the latest report of each of its kiosks' screens (none: no kiosk reported)
    displays: list[Display] = field(default_factory=list)
    #: the device's own clock when it sent the heartbeat (the server compares it with its own on
    #: arrival: a clock off alerts on the console's fleet page); none from older agents
    now: str | None = None

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
        device_now = d.get("now")
        if device_now is not None and (not isinstance(device_now, str) or len(device_now) > MAX_TS):
            raise WireError(f"bad heartbeat: now must be a time text (at most {MAX_TS} characters) or null")
        uptime, free = d.get("uptime_s"), d.get("disk_free_bytes")
        if isinstance(uptime, bool) or not isinstance(uptime, int | float):
            raise WireError("bad heartbeat: uptime_s must be a number")
        if not isinstance(free, int) or isinstance(free, bool):
            raise WireError("bad heartbeat: disk_free_bytes must be an integer")
        raw_displays = d.get("displays") or []
        if not isinstance(raw_displays, list) or len(raw_displays) > MAX_DISPLAYS:
            raise WireError(f"bad heartbeat: displays must be a list of at most {MAX_DISPLAYS}")
        displays = [Display.from_dict(x, f"displays[{i}]") for i, x in enumerate(raw_displays)]
        if len({x.kiosk_id for x in displays}) != len(displays):
            raise WireError("bad heartbeat: displays name a kiosk twice")
        return cls(versions=dict(versions), uptime_s=float(uptime), disk_free_bytes=int(free),
                   outbox=dict(outbox), last_sync_at=last, displays=displays,
                   now=device_now)  # fmt: skip


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)
