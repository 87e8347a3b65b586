"""Turn a parsed network-server event into a stored row: choose a codec, decode, measure.

Codec choice, first match wins:
1. the codec configured for the DevEUI in ``[[devices]]``;
2. the codec named by The Things Stack's ``version_ids`` (``brand_id/model_id``);
3. otherwise the network server's own decoded object is kept;
4. otherwise the event is stored with its raw bytes only.
A codec error is stored with the event (``decode_errors``); nothing is dropped.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from typing import Any

import orjson

from a2d.measurements import measurement

from . import codecs
from .config import Device
from .eventrow import EventRow
from .parsers import NetworkEvent

log = logging.getLogger(__name__)

_EMPTY_LIST = "[]"


def _json(value: Any) -> str:
    """Compact JSON text; NaN and Infinity become null, as JavaScript's JSON.stringify does.

    orjson refuses integers beyond 64 bits (a network server's object may hold one); those go
    through the standard library, which writes them exactly.
    """
    if not value and isinstance(value, list):
        return _EMPTY_LIST
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(_finite(value), separators=(",", ":"), ensure_ascii=False, default=str)


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities as ``None`` (what orjson writes for them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def choose_codec(ev: NetworkEvent, devices: Mapping[str, Device]) -> codecs.Codec | None:
    device = devices.get(ev.dev_eui) if ev.dev_eui else None
    if device is not None and device.codec:
        return codecs.get(device.codec)
    if ev.version_ids is not None:
        return codecs.for_model(*ev.version_ids)
    return None


def _health_measurements(health: Mapping[str, Any]) -> list[dict[str, Any]]:
    level = health.get("battery_level")
    if level is None or health.get("battery_level_unavailable") or health.get("external_power_source"):
        return []
    m = measurement("battery", level)
    return [m.as_dict()] if m else []


def to_row(ev: NetworkEvent, devices: Mapping[str, Device]) -> EventRow:
    """The ``events`` row for ``ev``.

    ``stored_at`` is left ``None`` for the writer to fill in at commit time, and so is
    ``received_at`` when the network server sent no time.
    """
    device = devices.get(ev.dev_eui) if ev.dev_eui else None
    name = (device.name if device else "") or ev.device_id
    decoded: Any = None
    errors: list[str] = []
    measurements: list[dict[str, Any]] = []
    codec_id: str | None = None
    meta = ev.meta
    if ev.kind == "up" and ev.data is not None:
        codec = choose_codec(ev, devices)
        if codec is not None and ev.data:
            codec_id = codec.id
            decoded, errors = _decode(codec, ev.data, ev.f_port or 0)
            if decoded is not None:
                measurements = _measure(codec, decoded, errors)
            if ev.ns_decoded is not None:
                meta = {**meta, "network_server_object": ev.ns_decoded}
        elif ev.ns_decoded is not None:
            codec_id = "network-server"
            decoded = ev.ns_decoded
    elif ev.ns_decoded is not None:
        decoded = ev.ns_decoded
    if ev.health:
        decoded = ev.health if decoded is None else decoded
        measurements = measurements or _health_measurements(ev.health)
    if ev.measurements:
        measurements = ev.measurements
    decoded_text = None
    if decoded is not None:
        try:
            decoded_text = _json(decoded)
        except TypeError as exc:
            errors = [*errors, f"codec {codec_id} returned a value that is not JSON: {exc}"]
            measurements = []
    return EventRow(
        id=None,
        key=ev.key,
        source=ev.source,
        kind=ev.kind,
        stream=ev.stream,
        dev_eui=ev.dev_eui,
        device_name=name,
        application=ev.application,
        received_at=ev.time,
        stored_at=None,
        f_cnt=ev.f_cnt,
        f_port=ev.f_port,
        codec=codec_id,
        decoded=decoded_text,
        decode_errors=_json(errors),
        measurements=_json(measurements),
        raw=ev.data,
        meta=_json(meta),
    )


def _decode(codec: codecs.Codec, data: bytes, f_port: int) -> tuple[dict[str, Any] | None, list[str]]:
    try:
        decoded = codec.decode(data, f_port)
    except codecs.CodecError as exc:
        return None, exc.errors or [str(exc)]
    except Exception as exc:  # noqa: BLE001 - a codec bug must not lose the event
        log.debug("codec %s failed on %s", codec.id, data.hex(), exc_info=True)
        return None, [f"codec {codec.id} failed: {type(exc).__name__}: {exc}"]
    return decoded, []


def _measure(codec: codecs.Codec, decoded: dict[str, Any], errors: list[str]) -> list[dict[str, Any]]:
    try:
        return [m.as_dict() for m in codec.measure(decoded)]
    except Exception as exc:  # noqa: BLE001 - keep the decoded event even if the mapping fails
        errors.append(f"measurements of {codec.id} failed: {type(exc).__name__}: {exc}")
        return []
