"""What a parser makes of one network-server message, before decoding."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: event kind -> stream (retention and sync are per stream)
STREAMS = {
    "up": "uplink",
    "status": "health",
    "join": "health",
    "ack": "network",
    "txack": "network",
    "log": "network",
    "location": "network",
    "integration": "network",
    "down_queued": "network",
    "down_sent": "network",
    "down_ack": "network",
    "down_nack": "network",
    "down_failed": "network",
    "service_data": "network",
    "location_solved": "network",
    # physical buttons through the buttons bridge (a2d/v1/buttons/#)
    "press": "button",
    "hold": "button",
    "battery": "button",
}


@dataclass(slots=True)
class NetworkEvent:
    """One event as the network server reported it, in our field names.

    ``key`` is the idempotency key: a redelivered message yields the same key and is stored once.
    """

    source: str
    kind: str
    key: str
    dev_eui: str | None = None
    device_id: str | None = None
    application: str | None = None
    time: str | None = None
    f_cnt: int | None = None
    f_port: int | None = None
    data: bytes | None = None
    ns_decoded: dict[str, Any] | None = None
    version_ids: tuple[str, str] | None = None
    health: dict[str, Any] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    #: canonical measurements known without a codec (buttons bridge events)
    measurements: list[dict[str, Any]] = field(default_factory=list)

    @property
    def stream(self) -> str:
        return STREAMS.get(self.kind, "network")
