"""MQTT adapter: one paho client per configured source, feeding the ingest writer.

ChirpStack sources subscribe with QoS 1 on a persistent MQTT 5 session (``clean_start=False``,
a session expiry, a large receive maximum) and acknowledge manually: the PUBACK is sent by the
writer after the message is committed. The Things Stack's MQTT server only offers QoS 0, so
its messages cannot be redelivered; what it sends while we are away is lost (see the docs).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from a2d.logs import Once

from .config import Source
from .ingest import Inbound

log = logging.getLogger(__name__)


class MqttSource:
    """One broker subscription. ``start()`` returns at once; paho reconnects by itself."""

    def __init__(
        self,
        source: Source,
        client_id: str,
        sink: Callable[[Inbound], None],
        on_state: Callable[[str, bool, str | None], None],
        *,
        keepalive: int = 30,
        receive_maximum: int = 1000,
        session_expiry: int = 604800,
        tls: bool = False,
        ca_file: str = "",
    ) -> None:
        self.source = source
        self.sink = sink
        self.on_state = on_state
        self.keepalive = keepalive
        self.persistent = source.qos > 0
        self._once = Once(log)
        self.connected = False
        self._recorded_down: bool | None = None
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=self.persistent,
        )
        if source.username:
            c.username_pw_set(source.username, source.password or None)
        if tls:
            c.tls_set(ca_certs=ca_file or None, cert_reqs=ssl.CERT_REQUIRED)
        c.reconnect_delay_set(min_delay=1, max_delay=60)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        c.on_connect_fail = self._on_connect_fail
        self._props = Properties(PacketTypes.CONNECT)
        if self.persistent:
            self._props.SessionExpiryInterval = session_expiry
            self._props.ReceiveMaximum = receive_maximum
        self.client = c

    @property
    def broker(self) -> str:
        return f"{self.source.host}:{self.source.port}"

    def start(self) -> None:
        self.client.connect_async(
            self.source.host,
            self.source.port,
            keepalive=self.keepalive,
            clean_start=not self.persistent,
            properties=self._props,
        )
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    # paho callbacks (network thread) --------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self._down(f"broker refused the connection: {reason}")
            return
        client.subscribe(self.source.topic, options=SubscribeOptions(qos=self.source.qos))
        self.connected = True
        self._recorded_down = False
        resumed = " (resumed its session)" if getattr(flags, "session_present", False) else ""
        if self._once.is_down("link"):
            self._once.recovered("link", "source %s: connected to %s again%s", self.source.name, self.broker, resumed)
        else:
            log.info("source %s: connected to %s, subscribed to %s with QoS %d%s",
                     self.source.name, self.broker, self.source.topic, self.source.qos, resumed)
        self.on_state(self.source.name, True, None)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self._down(f"disconnected: {reason}")

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        self._down("cannot reach the broker")

    def _down(self, why: str) -> None:
        """Log the first failure of a run of failures and record the state change once."""
        self._once.failed("link", "source %s: %s at %s; retrying", self.source.name, why, self.broker)
        if self.connected or self._recorded_down is not True:
            self.on_state(self.source.name, False, why)
        self.connected = False
        self._recorded_down = True

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self.sink(Inbound(self.source.name, self.source.kind, msg.topic, msg.payload, msg.mid, msg.qos, client))
