"""Wire the edge agent together: store, ingest writer, one MQTT source per ``[[sources]]``."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from .config import EdgeConfig
from .ingest import Ingest, SourceState
from .mqtt import MqttSource
from .store import Store

log = logging.getLogger(__name__)

QOS0_NOTE = (
    "The Things Stack's MQTT server delivers with QoS 0 only: uplinks sent while this agent is "
    "disconnected are lost (backfill from its Storage Integration)."
)


class Agent:
    """The running edge agent. ``start()`` returns once everything is started."""

    def __init__(self, config: EdgeConfig) -> None:
        self.config = config
        self.store = Store(config.db_path, synchronous=config.get("store.synchronous"))
        self.ingest = Ingest(
            self.store,
            config.devices,
            device_id=config.device_id,
            batch_max=config.get("ingest.batch_max"),
            max_message_bytes=config.get("ingest.max_message_bytes"),
            retention_days=config.retention_days(),
        )
        self.sources = [
            MqttSource(
                s,
                client_id=f"a2d-{config.device_id}-{s.name}",
                sink=self.ingest.submit,
                on_state=self.ingest.set_connected,
                keepalive=config.get("mqtt.keepalive"),
                receive_maximum=config.get("mqtt.receive_maximum"),
                session_expiry=config.get("mqtt.session_expiry"),
                tls=config.get("mqtt.tls"),
                ca_file=config.get("mqtt.ca_file"),
            )
            for s in config.sources
        ]

    def start(self) -> None:
        for src in self.sources:
            s = src.source
            self.ingest.register_source(SourceState(s.name, s.kind, src.broker, s.topic, s.qos))
            if s.qos == 0:
                log.warning("source %s: %s", s.name, QOS0_NOTE)
        self.ingest.start()
        for src in self.sources:
            src.start()
        log.info("edge agent %s running; database %s", self.config.device_id, self.config.db_path)

    def stop(self) -> None:
        """Disconnect (unacknowledged messages stay with the broker), then commit what is queued."""
        for src in self.sources:
            src.stop()
        self.ingest.stop()
        self.store.close()
        log.info("edge agent stopped")

    def run_until_signal(self) -> None:
        done = threading.Event()

        def handler(signum: int, frame: FrameType | None) -> None:
            log.info("received %s, stopping", signal.Signals(signum).name)
            done.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
        self.start()
        try:
            done.wait()
        finally:
            self.stop()
