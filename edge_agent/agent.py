"""Wire the edge agent together: store, ingest writer, one MQTT source per ``[[sources]]``."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

from a2d.signals import run_until_signal

from .config import EdgeConfig
from .forecast import ForecastRunner, ForecastSettings
from .ingest import Ingest, SourceState
from .localapi.service import ApiSettings, LocalApi
from .loop import IngestLoop
from .mqtt import MqttSource
from .store import Store
from .sync import SyncClient, SyncSettings

log = logging.getLogger(__name__)
T = TypeVar("T")

QOS0_NOTE = (
    "The Things Stack's MQTT server delivers with QoS 0 only: uplinks sent while this agent is "
    "disconnected are lost (backfill from its Storage Integration)."
)


class Agent:
    """The running edge agent. ``start()`` returns once everything is started."""

    def __init__(self, config: EdgeConfig) -> None:
        self.config = config
        settings = SyncSettings.from_config(
            dict(config.raw)
        )  # a bad [sync] stops us before anything is opened
        self.store = Store(config.db_path, synchronous=config.get("store.synchronous"))
        self.ingest = Ingest(
            self.store,
            config.devices,
            device_id=config.device_id,
            max_message_bytes=config.get("ingest.max_message_bytes"),
            retention_days=config.retention_days(),
            keep_unsynced=bool(config.get("sync.url")),
            max_pending=config.get("store.max_pending_events"),
            min_free_bytes=config.get("store.min_free_mb") << 20,
        )
        self.sources = [
            MqttSource(
                s,
                client_id=f"a2d-{config.device_id}-{s.name}",
                sink=self.ingest.add,
                on_state=self.ingest.set_connected,
                protocol=config.get("mqtt.protocol"),
                keepalive=config.get("mqtt.keepalive"),
                receive_maximum=config.get("mqtt.receive_maximum"),
                session_expiry=config.get("mqtt.session_expiry"),
                tls=config.get("mqtt.tls"),
                ca_file=config.get("mqtt.ca_file"),
            )
            for s in (*config.sources, config.bridge_source)
        ]
        self.loop = IngestLoop(self.ingest, self.sources, batch_max=config.get("ingest.batch_max"))
        self.sync = (
            None if settings is None else SyncClient(settings, config.device_id, config.db_path, self._write)
        )
        api = ApiSettings.from_config(dict(config.raw))
        self.api = (
            None if api is None else LocalApi(
                api, device_id=config.device_id, db_path=config.db_path, sync_enabled=settings is not None,
                server_public_key=config.get("sync.server_public_key"), write=self._write,
                sync_online=lambda: None if self.sync is None else self.sync.online,
            )
        )  # fmt: skip

        forecast = ForecastSettings.from_config(config.raw)
        self.forecast = (
            None if forecast is None else ForecastRunner(
                forecast, db_path=config.db_path, server_public_key=config.get("sync.server_public_key"),
                write=self._write,
            )
        )  # fmt: skip

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> Future[T]:
        """Run ``fn(connection)`` in one transaction on the writer thread (sync client, local API).

        The future holds ``fn``'s result once the transaction is committed.
        """

        def run() -> T:
            with self.store.atomic() as db:
                return fn(db)

        return self.loop.call(run)

    def start(self) -> None:
        if self.api is not None:
            self.api.bind()  # a port in use or a bad content pack stops the start before anything runs
        for src in self.sources:
            s = src.source
            self.ingest.register_source(SourceState(s.name, s.kind, src.broker, s.topic, s.qos))
            if s.qos == 0:
                log.warning("source %s: %s", s.name, QOS0_NOTE)
        self.ingest.start()
        self.loop.start()
        if self.api is not None:
            self.api.start()
        if self.forecast is not None:
            self.forecast.start()
        if self.sync is not None:
            self.sync.start()
            log.info("syncing to %s", self.sync.settings.url)
        log.info("edge agent %s running; database %s", self.config.device_id, self.config.db_path)

    def stop(self) -> None:
        """Stop serving kiosks and syncing, commit and acknowledge what was read, disconnect, close the database."""
        if self.api is not None:
            self.api.stop()
        if self.sync is not None:
            self.sync.stop()
        if self.forecast is not None:
            self.forecast.stop()
        self.loop.stop()
        self.store.close()
        log.info("edge agent stopped")

    def run_until_signal(self) -> None:
        run_until_signal(self.start, self.stop, alive=lambda: self.loop.alive)
        if self.loop.error is not None:
            raise RuntimeError(f"the ingest loop failed: {self.loop.error}") from self.loop.error
