"""ChirpStack v4 MQTT integration events (protobuf-JSON: camelCase, every scalar present).

Topic: ``application/{application_id}/device/{dev_eui}/event/{event}``.
Idempotency key: ``deduplicationId`` (plus the event type, since a ``status`` event shares the
id of the uplink that carried it); events without one are keyed by a hash of their bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from ._event import NetworkEvent
from ._fields import (
    BadMessage,
    b64,
    check_ident,
    eui,
    flag,
    free,
    ident,
    integer,
    number,
    obj,
    text,
    timestamp,
)

#: ``integration`` was dropped in ChirpStack v4.15 but older servers still send it.
EVENTS = ("up", "status", "join", "ack", "txack", "log", "location", "integration")


def topic_parts(topic: str) -> tuple[str, str, str]:
    """``(application_id, dev_eui, event)`` from the topic, or :class:`BadMessage`."""
    parts = topic.split("/")
    if len(parts) != 6 or parts[0] != "application" or parts[2] != "device" or parts[4] != "event":
        raise BadMessage(f"not a ChirpStack event topic: {topic[:120]}")
    return parts[1], parts[3], parts[5]


def parse(topic: str, body: Mapping[str, Any], payload: bytes) -> NetworkEvent:
    """Route one decoded JSON message by its topic's event type."""
    app_id, topic_eui, kind = topic_parts(topic)
    if kind not in EVENTS:
        raise BadMessage(f"unknown ChirpStack event type {kind!r:.40}")
    info = obj(body, "deviceInfo")
    dev_eui = eui(text(info, "devEui"), "deviceInfo.devEui") or eui(topic_eui, "topic DevEUI")
    dedup = ident(body, "deduplicationId")
    if kind == "txack":
        downlink = integer(body, "downlinkId")
        dedup = None if downlink is None else str(downlink)
    key = f"cs:{kind}:{dedup}" if dedup else f"cs:{kind}:#{hashlib.sha256(payload).hexdigest()}"
    ev = NetworkEvent(
        source="chirpstack",
        kind=kind,
        key=key,
        dev_eui=dev_eui,
        device_id=free(info, "deviceName"),
        application=free(info, "applicationName")
        or ident(info, "applicationId")
        or check_ident(app_id, "topic application id"),
        time=timestamp(body, "time"),
    )
    if kind == "up":
        _uplink(body, ev)
    elif kind == "status":
        ev.health = {
            "margin": integer(body, "margin"),
            "battery_level": number(body, "batteryLevel"),
            "battery_level_unavailable": flag(body, "batteryLevelUnavailable") or False,
            "external_power_source": flag(body, "externalPowerSource") or False,
        }
    elif kind == "join":
        ev.health = {"joined": True, "dev_addr": ident(body, "devAddr")}
    elif kind == "log":
        ev.meta = {
            "level": free(body, "level"),
            "code": free(body, "code"),
            "description": free(body, "description"),
            "context": dict(obj(body, "context")),
        }
    elif kind == "integration":
        ev.meta = {"integration": free(body, "integrationName"), "event_type": free(body, "eventType")}
        ev.ns_decoded = dict(obj(body, "object"))
    elif kind == "location":
        ev.meta = {"location": dict(obj(body, "location"))}
    else:  # ack, txack
        ev.meta = {
            "queue_item_id": ident(body, "queueItemId"),
            "acknowledged": flag(body, "acknowledged"),
            "f_cnt_down": integer(body, "fCntDown"),
            "gateway_id": ident(body, "gatewayId"),
        }
    return ev


def _uplink(body: Mapping[str, Any], ev: NetworkEvent) -> None:
    ev.f_cnt = integer(body, "fCnt", 0)
    ev.f_port = integer(body, "fPort", 0)
    ev.data = b64(body, "data") or b""
    decoded = body.get("object")
    if decoded is not None and not isinstance(decoded, Mapping):
        raise BadMessage("field object: expected an object")
    ev.ns_decoded = dict(decoded) if decoded is not None else None
    rx = body.get("rxInfo") or []
    if not isinstance(rx, list):
        raise BadMessage("field rxInfo: expected a list")
    gateways = [r for r in rx if isinstance(r, Mapping)]
    best = (
        gateways[0] if len(gateways) == 1 else max(gateways, key=lambda r: _num(r.get("rssi")), default=None)
    )
    ev.meta = {
        "dev_addr": ident(body, "devAddr"),
        "dr": integer(body, "dr"),
        "confirmed": flag(body, "confirmed"),
        "gateways": len(rx),
    }
    if best is not None:
        ev.meta.update(gateway_id=best.get("gatewayId"), rssi=best.get("rssi"), snr=best.get("snr"))


def _num(v: object) -> float:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else float("-inf")
