"""The Things Stack v3 MQTT messages (snake_case JSON, zero/empty fields omitted, QoS 0 only).

Topic: ``v3/{application}@{tenant}/devices/{device_id}/{event}``. Uplink idempotency key:
``(dev_eui, session_key_id, f_cnt)``; an omitted ``f_cnt`` is 0.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from ._event import NetworkEvent
from ._fields import BadMessage, b64, check_ident, eui, ident, integer, number, obj, text, timestamp

#: topic suffix -> (our event kind, the message's body field)
EVENTS = {
    "up": ("up", "uplink_message"),
    "join": ("join", "join_accept"),
    "down/queued": ("down_queued", "downlink_queued"),
    "down/sent": ("down_sent", "downlink_sent"),
    "down/ack": ("down_ack", "downlink_ack"),
    "down/nack": ("down_nack", "downlink_nack"),
    "down/failed": ("down_failed", "downlink_failed"),
    "service/data": ("service_data", "service_data"),
    "location/solved": ("location_solved", "location_solved"),
}
#: topics applications publish to (downlink commands): not events, silently ignored
COMMANDS = ("down/push", "down/replace")


def topic_parts(topic: str) -> tuple[str, str, str]:
    """``(application, device_id, suffix)`` from the topic, or :class:`BadMessage`."""
    parts = topic.split("/", 4)
    if len(parts) != 5 or parts[0] != "v3" or parts[2] != "devices":
        raise BadMessage(f"not a The Things Stack topic: {topic[:120]}")
    return parts[1], parts[3], parts[4]


def is_command(topic: str) -> bool:
    return topic.endswith(COMMANDS)


def parse(topic: str, body: Mapping[str, Any], payload: bytes) -> NetworkEvent:
    app, device_id, suffix = topic_parts(topic)
    if suffix not in EVENTS:
        raise BadMessage(f"unknown The Things Stack event {suffix!r:.40}")
    kind, field = EVENTS[suffix]
    ids = obj(body, "end_device_ids")
    dev_eui = eui(text(ids, "dev_eui"), "end_device_ids.dev_eui")
    msg = obj(body, field)
    ev = NetworkEvent(
        source="tts",
        kind=kind,
        key="",
        dev_eui=dev_eui,
        device_id=ident(ids, "device_id") or check_ident(device_id, "topic device id"),
        application=ident(obj(ids, "application_ids"), "application_id")
        or check_ident(app, "topic application"),
        time=timestamp(msg, "received_at") or timestamp(body, "received_at"),
    )
    session = ident(msg, "session_key_id")
    who = dev_eui or ev.device_id
    if kind == "up":
        _uplink(msg, ev)
        ev.key = f"tts:up:{who}:{session}:{ev.f_cnt}" if session else ""
    elif kind == "join":
        ev.health = {"joined": True, "dev_addr": ident(ids, "dev_addr")}
        ev.key = f"tts:join:{who}:{session}" if session else ""
    else:
        ev.f_cnt = integer(msg, "f_cnt")
        ev.f_port = integer(msg, "f_port")
        ev.meta = {"correlation_ids": _strings(body.get("correlation_ids"))}
    if not ev.key:
        ev.key = f"tts:{kind}:#{hashlib.sha256(payload).hexdigest()}"
    return ev


def _uplink(msg: Mapping[str, Any], ev: NetworkEvent) -> None:
    ev.f_cnt = integer(msg, "f_cnt", 0)
    ev.f_port = integer(msg, "f_port", 0)
    ev.data = b64(msg, "frm_payload") or b""
    decoded = msg.get("decoded_payload")
    if decoded is not None and not isinstance(decoded, Mapping):
        raise BadMessage("field decoded_payload: expected an object")
    ev.ns_decoded = dict(decoded) if decoded is not None else None
    version = obj(msg, "version_ids")
    brand, model = text(version, "brand_id"), text(version, "model_id")
    if brand and model:
        ev.version_ids = (brand, model)
    battery = obj(msg, "last_battery_percentage")
    if battery:
        ev.health = {"battery_level": number(battery, "value")}
    rx = msg.get("rx_metadata") or []
    if not isinstance(rx, list):
        raise BadMessage("field rx_metadata: expected a list")
    gateways = [r for r in rx if isinstance(r, Mapping)]
    best = max(
        gateways,
        key=lambda r: r.get("rssi", -1000) if isinstance(r.get("rssi"), int | float) else -1000,
        default=None,
    )
    ev.meta = {"gateways": len(rx), "confirmed": bool(msg.get("confirmed", False))}
    if best is not None:
        ev.meta.update(
            gateway_id=obj(best, "gateway_ids").get("gateway_id"), rssi=best.get("rssi"), snr=best.get("snr")
        )


def _strings(v: object) -> list[str]:
    return [x for x in v if isinstance(x, str)] if isinstance(v, list) else []
