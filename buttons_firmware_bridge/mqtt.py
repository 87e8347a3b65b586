"""MQTT adapter (the bridge's only paho user): publish QoS 1, report each PUBACK and its verdict.

MQTT 5 is used for its PUBACK reason codes: Mosquitto answers "no matching subscribers" when no
session subscribes to the topic (the edge agent has never connected, or the broker restarted
without persistence and the agent has not come back yet). Such an event counts as not delivered
and stays in the spool. paho's own network thread reconnects with back-off and resends QoS 1
messages that were in flight when the link dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from a2d.logs import Once

log = logging.getLogger(__name__)

NO_MATCHING_SUBSCRIBERS = 0x10


class Publisher:
    def __init__(
        self,
        host: str,
        port: int,
        client_id: str,
        on_ack: Callable[[int, bool], None],
        on_state: Callable[[bool], None] = lambda up: None,
        *,
        username: str = "",
        password: str = "",
        keepalive: int = 30,
        inflight: int = 100,
    ) -> None:
        self.host, self.port, self.keepalive = host, port, keepalive
        self.on_ack = on_ack
        self.on_state = on_state
        self.connected = False
        self._stopping = False
        self._once = Once(log)
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        if username:
            c.username_pw_set(username, password or None)
        c.max_inflight_messages_set(inflight)
        c.max_queued_messages_set(0)
        c.reconnect_delay_set(min_delay=1, max_delay=5)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_publish = self._on_publish
        c.on_connect_fail = self._on_connect_fail
        self.client = c

    @property
    def broker(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> None:
        self.client.connect_async(self.host, self.port, keepalive=self.keepalive)
        self.client.loop_start()

    def stop(self) -> None:
        self._stopping = True
        self.client.disconnect()
        self.client.loop_stop()

    def publish(self, topic: str, payload: bytes) -> int | None:
        """Queue ``payload`` with QoS 1; its message id, or ``None`` if paho refused it."""
        info = self.client.publish(topic, payload, qos=1)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            return None
        return info.mid

    # paho's thread ------------------------------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self._once.failed("link", "broker %s refused the connection: %s", self.broker, reason)
            return
        self.connected = True
        if self._once.is_down("link"):
            self._once.recovered("link", "connected to the broker %s again", self.broker)
        else:
            log.info("connected to the broker %s", self.broker)
        self.on_state(True)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        was, self.connected = self.connected, False
        self.on_state(False)
        if self._stopping:
            return
        what = "lost" if was else "cannot reach"
        self._once.failed(
            "link", "%s the broker %s (%s); events wait in the spool", what, self.broker, reason
        )

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        self._once.failed("link", "cannot reach the broker %s; events wait in the spool", self.broker)

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        code = getattr(reason, "value", 0)
        self.on_ack(mid, code == 0)
        if code == NO_MATCHING_SUBSCRIBERS:
            self._once.failed(
                "subscriber",
                "the broker has no subscriber for %s (is the edge agent running?); events stay in the spool",
                "a2d/v1/buttons/#",
            )
        elif code == 0:
            self._once.recovered("subscriber", "the broker has a subscriber for the button events again")
        else:
            log.warning("the broker refused a button event: %s", reason)
