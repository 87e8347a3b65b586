"""MQTT adapter: one paho client per configured source, driven by the ingest loop's thread.

ChirpStack sources subscribe with QoS 1 on a persistent session (``clean_session=False`` in
MQTT 3.1.1, or ``clean_start=False`` plus a session expiry in MQTT 5) and acknowledge manually:
the loop sends the PUBACK after the message is committed. The Things Stack's MQTT server only
offers QoS 0, so its messages cannot be redelivered: what it sends while we are away is lost.

The clients do not run paho's own network thread. :class:`edge_agent.loop.IngestLoop` selects
on their sockets and calls :meth:`MqttSource.read`, :meth:`~MqttSource.write` and
:meth:`~MqttSource.tick`; that keeps parsing, committing and acknowledging on one thread.
:class:`MqttSource` is the real :class:`edge_agent.ingest.Source`; :func:`mqtt_sources` builds one
per configured source (the agent's ``cli.py`` calls it and passes them in).
"""

from __future__ import annotations

import logging
import socket
import ssl
import struct
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from a2d.logs import Once

from .config import EdgeConfig, Source
from .ingest import Attachable, Inbound, SourceState

log = logging.getLogger(__name__)

_PUBACK = struct.Struct("!BBH")  # fixed header 0x40, remaining length 2, packet id
PROTOCOLS = {"3.1.1": MQTTProtocolVersion.MQTTv311, "5": MQTTProtocolVersion.MQTTv5}


class _BufferedClient(mqtt.Client):
    """paho reads each packet with three or more ``recv`` calls (type byte, length, body); this
    reads the socket in 64 KiB chunks and serves those calls from the chunk. It overrides paho's
    private ``_sock_recv``/``_sock_close`` (paho-mqtt is pinned; tests cover the behaviour)."""

    _chunk: bytes = b""
    _pos: int = 0

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._pos >= len(self._chunk):
            chunk = super()._sock_recv(65536)  # raises BlockingIOError when nothing is there
            if not chunk:
                return chunk  # the broker closed the connection
            self._chunk, self._pos = chunk, 0
        out = self._chunk[self._pos : self._pos + bufsize]
        self._pos += len(out)
        return out

    def _sock_close(self) -> None:
        self._chunk, self._pos = b"", 0
        super()._sock_close()

    def buffered(self) -> int:
        """Bytes read from the socket that paho has not consumed yet (select cannot see them)."""
        return len(self._chunk) - self._pos


class MqttSource(Attachable):
    """One broker subscription. ``connect`` never raises; failures are retried with back-off."""

    def __init__(
        self,
        source: Source,
        client_id: str,
        *,
        protocol: str = "3.1.1",
        keepalive: int = 30,
        receive_maximum: int = 1000,
        session_expiry: int = 604800,
        tls: bool = False,
        ca_file: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.source = source
        self.keepalive = keepalive
        self.clock = clock
        self.persistent = source.qos > 0
        self.v5 = protocol == "5"
        self.connected = False
        self._subscribe_mid = -1  # the SUBSCRIBE of the current connection
        self._resumed = ""
        self.received = 0
        self._once = Once(log)
        self._recorded_down: bool | None = None
        self._retry_at = 0.0
        self._delay = 1.0
        self._next_misc = 0.0
        kwargs: dict[str, Any] = {} if self.v5 else {"clean_session": not self.persistent}
        c = _BufferedClient(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=PROTOCOLS[protocol],
            manual_ack=self.persistent,
            **kwargs,
        )
        if source.username:
            c.username_pw_set(source.username, source.password or None)
        if tls:
            c.tls_set(ca_certs=ca_file or None, cert_reqs=ssl.CERT_REQUIRED)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_subscribe = self._on_subscribe
        c.on_message = self._on_message
        self._connect_args: dict[str, Any] = {}
        if self.v5:
            props = Properties(PacketTypes.CONNECT)
            if self.persistent:
                props.SessionExpiryInterval = session_expiry
                props.ReceiveMaximum = receive_maximum
            self._connect_args = {"clean_start": not self.persistent, "properties": props}
        self.client: _BufferedClient = c
        self._closing = False
        self._conn = 0  # counts connections; acknowledgements only go to the one a message came on
        self._acks: list[int] = []
        self._redeliver = False  # reconnect once the acknowledgements are out (see redeliver)
        self._reconnecting = False

    @property
    def broker(self) -> str:
        return f"{self.source.host}:{self.source.port}"

    @property
    def state(self) -> SourceState:
        s = self.source
        return SourceState(s.name, s.kind, self.broker, s.topic, s.qos)

    def fileno(self) -> int | None:
        sock = self.client.socket()
        return None if sock is None else sock.fileno()

    def wants_write(self) -> bool:
        return self.client.want_write()

    # driven by the loop -------------------------------------------------------------------
    def connect_if_due(self) -> None:
        """Open the TCP connection when no socket is open and the back-off has passed."""
        if self.client.socket() is not None or self.clock() < self._retry_at:
            return
        self._conn += 1
        self._acks.clear()
        try:
            self.client.connect(
                self.source.host, self.source.port, keepalive=self.keepalive, **self._connect_args
            )
        except (OSError, ssl.SSLError, ValueError) as exc:
            self._retry_at = self.clock() + self._delay
            self._delay = min(self._delay * 2, 60.0)
            self._down(f"cannot reach the broker ({exc})")
            return
        self._next_misc = self.clock() + 1.0
        sock = self.client.socket()
        if isinstance(sock, socket.socket):
            # acknowledgements are tiny; without this, Nagle's algorithm holds them back until the
            # broker's delayed ACK (tens of milliseconds per batch)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def ack(self, mid: int, qos: int, conn: int) -> None:
        """Queue the acknowledgement of a committed message; :meth:`send_acks` sends the queue."""
        if conn == self._conn and qos == 1:
            self._acks.append(mid)
        # a message from an earlier connection is redelivered by the broker and stored once

    def redeliver(self) -> None:
        """After the next acknowledgements, reconnect: the broker then sends again the QoS 1 messages
        the agent left unacknowledged while its disk was full (the session stays; nothing is lost)."""
        self._redeliver = True

    def send_acks(self) -> None:
        self._send_acks()
        if self._redeliver:
            self._redeliver = False
            if self.client.socket() is not None:
                log.info("source %s: reconnecting to fetch the messages left with the broker while the disk"
                         " was full", self.source.name)  # fmt: skip
                self._reconnecting = True
                self.client.disconnect()
                self.client.loop_write()

    def _send_acks(self) -> None:
        """Send the queued PUBACKs, in one write when paho has nothing else queued.

        paho keeps no state for an incoming QoS 1 message, so writing its PUBACK ourselves is
        invisible to it. We only do so when paho's own output queue is empty (so packets cannot
        interleave) and the socket is plain TCP; otherwise each goes through ``client.ack``.
        """
        mids, self._acks = self._acks, []
        if not mids:
            return
        sock = self.client.socket()
        if type(sock) is socket.socket and not self.client.want_write():
            data = b"".join(_PUBACK.pack(0x40, 2, mid) for mid in mids)
            try:
                sent = sock.send(data)
                if sent < len(data):  # rare: the socket buffer is full; finish in blocking mode
                    sock.settimeout(10)
                    try:
                        sock.sendall(data[sent:])
                    finally:
                        sock.setblocking(False)
            except OSError as exc:
                log.debug(
                    "sending %d acknowledgements failed: %s", len(mids), exc
                )  # redelivered, stored once
            return
        for mid in mids:
            self.client.ack(mid, 1)

    def read(self, limit: int) -> int:
        """Read what the socket holds, at most ``limit`` messages; return how many arrived."""
        before = self.received
        while self.received - before < limit:
            mark = self.received
            rc = self.client.loop_read()
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                self._lost(rc)
                break
            if self.received == mark and not self.client.buffered():
                break  # nothing left to read (or a non-PUBLISH packet with nothing behind it)
        return self.received - before

    def write(self) -> None:
        rc = self.client.loop_write()
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            self._lost(rc)

    def tick(self) -> None:
        """Keep-alive pings and dead-link detection, about once a second."""
        now = self.clock()
        if now < self._next_misc or self.client.socket() is None:
            return
        self._next_misc = now + 1.0
        rc = self.client.loop_misc()
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            self._lost(rc)

    def close(self) -> None:
        """Send DISCONNECT (paho closes the socket once it is written)."""
        self._closing = True
        if self.client.socket() is not None:
            self.client.disconnect()
            self.client.loop_write()
        sock = self.client.socket()
        if sock is not None:  # the DISCONNECT did not fit into the socket buffer
            sock.close()

    # paho callbacks, called from read/write/tick on the loop's thread -------------------------
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self._retry_at = self.clock() + self._delay
            self._delay = min(self._delay * 2, 60.0)
            self._down(f"broker refused the connection: {reason}")
            return  # paho closes the socket after a refused CONNACK
        if self.v5:
            _, mid = client.subscribe(self.source.topic, options=SubscribeOptions(qos=self.source.qos))
        else:
            _, mid = client.subscribe(self.source.topic, qos=self.source.qos)
        self._subscribe_mid = -1 if mid is None else mid
        self.connected = True
        self._recorded_down = False
        self._delay = 1.0
        self._resumed = " (resumed its session)" if getattr(flags, "session_present", False) else ""

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, codes: Any, props: Any) -> None:
        """The broker took the subscription: only now is the source ready (and recorded as connected)."""
        if mid != self._subscribe_mid:
            return
        refused = [c for c in codes if getattr(c, "is_failure", False)]
        if refused:
            self._down(f"broker refused the subscription to {self.source.topic}: {refused[0]}")
            return
        resumed = self._resumed
        if self._once.is_down("link"):
            self._once.recovered(
                "link", "source %s: connected to %s again%s", self.source.name, self.broker, resumed
            )
        else:
            log.info(
                "source %s: connected to %s, subscribed to %s with QoS %d%s",
                self.source.name, self.broker, self.source.topic, self.source.qos, resumed,
            )  # fmt: skip
        self.on_state(self.source.name, True, None)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if self._closing:
            log.info("source %s: disconnected from %s", self.source.name, self.broker)
            self.connected = False
            return
        if self._reconnecting:  # our own DISCONNECT (redeliver): connect again at once
            self._reconnecting = False
            self.connected = False
            self._retry_at = self.clock()
            return
        self._retry_at = self.clock() + self._delay
        self._down(f"disconnected ({reason})")

    def _lost(self, rc: MQTTErrorCode) -> None:
        """paho has closed the socket already (and called on_disconnect where it could)."""
        self._retry_at = self.clock() + self._delay
        self._down(f"connection lost ({mqtt.error_string(rc)})")

    def _down(self, why: str) -> None:
        """Log the first failure of a run of failures and record the state change once."""
        self._once.failed("link", "source %s: %s at %s; retrying", self.source.name, why, self.broker)
        if self.connected or self._recorded_down is not True:
            self.on_state(self.source.name, False, why)
        self.connected = False
        self._recorded_down = True

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self.received += 1
        src = self.source
        payload = bytes(msg.payload)  # paho types it bytes | bytearray; it is bytes, so this copies nothing
        self.sink(Inbound(src.name, src.kind, msg.topic, payload, msg.mid, msg.qos, self, self._conn))


def mqtt_sources(config: EdgeConfig) -> list[MqttSource]:
    """One :class:`MqttSource` per ``[[sources]]`` entry, and the buttons bridge's on ``[mqtt]``."""
    get = config.get
    return [
        MqttSource(
            s, client_id=f"a2d-{config.device_id}-{s.name}", protocol=get("mqtt.protocol"),
            keepalive=get("mqtt.keepalive"), receive_maximum=get("mqtt.receive_maximum"),
            session_expiry=get("mqtt.session_expiry"), tls=get("mqtt.tls"), ca_file=get("mqtt.ca_file"),
        )
        for s in (*config.sources, config.bridge_source)
    ]  # fmt: skip
