"""Button events from the buttons bridge (``a2d/v1/buttons/<source_id>``, QoS 1).

Idempotency key: the event's ``id``, which the bridge keeps when it publishes again. A press or
hold carries one ``button_press``; a battery report its voltage.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from a2d.buttons import WireError, check_event
from a2d.measurements import measurement

from ._event import NetworkEvent
from ._fields import BadMessage


def parse(topic: str, body: Mapping[str, Any], payload: bytes) -> NetworkEvent:
    try:
        ev = check_event(topic, dict(body))
    except WireError as exc:
        raise BadMessage(f"bridge event: {exc}") from None
    if ev.event == "battery":
        m = measurement("battery_voltage", (ev.millivolts or 0) / 1000)
    else:
        m = measurement("button_press", 1, channel=ev.button)
    return NetworkEvent(
        source="bridge",
        kind=ev.event,
        key=f"bridge:{ev.id}",
        device_id=ev.source_id,
        time=ev.at,
        ns_decoded=ev.as_dict(),
        meta={"button": ev.button, "seq": ev.seq},
        measurements=[m.as_dict()] if m is not None else [],
    )
