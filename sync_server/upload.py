"""Decode an upload body fast: the envelope typed, each payload kept as the JSON text it arrived as.

The slow, general way (``orjson.loads`` of the whole body, then :func:`a2d.syncwire.parse_records`)
builds every key and value of every payload as Python objects, only to write them out again as
text. Here msgspec checks the whole body's syntax, decodes the record envelopes into typed
structs and leaves each payload as raw JSON; only the three payload fields the hourly aggregates
need (``dev_eui``, ``device_name``, ``measurements``) are decoded. A body this path does not take
(any error, a payload spread over lines) returns ``None`` and goes the general way, which also
words the error.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import msgspec

from a2d.syncwire import MAX_BATCH_RECORDS, Record


class _Envelope(msgspec.Struct):
    record_id: str
    stream: str
    ts: str
    payload: msgspec.Raw


class _Upload(msgspec.Struct):
    records: list[_Envelope]


class _Aggregated(msgspec.Struct):
    """The payload fields :func:`sync_server.readings.readings` looks at; the rest is skipped."""

    dev_eui: Any = None
    device_name: Any = None
    measurements: Any = None


#: builds a Record without the Python-level ``__new__`` of a named tuple (thousands per upload)
_record = partial(tuple.__new__, Record)
_UPLOAD = msgspec.json.Decoder(_Upload)
_AGGREGATED = msgspec.json.Decoder(_Aggregated)


def decode(data: bytes) -> list[tuple[Record, str]] | None:
    """The records of an upload body with their payloads as text, or ``None`` for the general path.

    Each :class:`Record`'s ``payload`` holds only the fields the aggregates need.
    """
    try:
        upload = _UPLOAD.decode(data)
    except (
        msgspec.DecodeError,
        msgspec.ValidationError,
        RecursionError,
    ):  # deep nesting: the general path says so
        return None
    if len(upload.records) > MAX_BATCH_RECORDS:
        return None
    out = []
    for env in upload.records:
        rid, stream, ts = env.record_id, env.stream, env.ts
        if not rid or len(rid) > 200 or not stream or len(stream) > 40 or len(ts) > 40:
            return None
        raw = bytes(env.payload)
        if raw[:1] != b"{" or b"\n" in raw or b"\r" in raw:  # one line per record in `events --json`
            return None
        try:
            fields = _AGGREGATED.decode(raw)
            text = raw.decode()
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError, RecursionError):
            return None
        partial = {
            "dev_eui": fields.dev_eui,
            "device_name": fields.device_name,
            "measurements": fields.measurements,
        }
        out.append((_record((rid, stream, ts, partial)), text))
    return out
