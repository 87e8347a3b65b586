"""Wire the edge agent together: store, ingest writer and the sources it is given.

The sources are ports (:class:`edge_agent.ingest.Source`) built by the caller: ``cli.py`` makes
one MQTT subscription per ``[[sources]]`` (:func:`edge_agent.mqtt.mqtt_sources`), or, for
``a2d edge run --fake``, a :class:`edge_agent.fakesource.FakeSource`.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, TypeVar

from a2d.contentpack import ContentPack
from a2d.signals import run_until_signal

from .bundles import DeviceTrust
from .buttonvotes import ButtonVotes, LiveResolver
from .config import EdgeConfig
from .forecast import ForecastRunner, ForecastSettings
from .housekeeping import Housekeeper, Limits
from .ingest import Ingest, Source
from .livestore import NewestQuestion
from .localapi.content import ContentSource
from .localapi.service import ApiSettings, LocalApi
from .loop import IngestLoop
from .statefile import StateFile
from .store import Store

if TYPE_CHECKING:
    from .live import LiveClient
    from .sync import SyncClient, SyncSettings

log = logging.getLogger(__name__)
T = TypeVar("T")

QOS0_NOTE = (
    "The Things Stack's MQTT server delivers with QoS 0 only: uplinks sent while this agent is "
    "disconnected are lost (backfill from its Storage Integration)."
)


class Agent:
    """The running edge agent, reading from ``sources``. ``start()`` returns once everything is started."""

    #: seconds without a turn of the ingest loop after which systemd's watchdog is no longer fed
    STUCK_S = 30.0

    def __init__(
        self, config: EdgeConfig, sources: Sequence[Source], *, resolve_live: LiveResolver | None = None
    ) -> None:
        """``resolve_live`` gives the newest open live question for feedback buttons mapped to
        ``@live`` (see :mod:`edge_agent.buttonvotes`); by default the questions the agent keeps
        from its server's live stream."""
        self.config = config
        self._newest: NewestQuestion | None = None
        if resolve_live is None:
            resolve_live = self._newest = NewestQuestion(str(config.db_path))
        settings: SyncSettings | None = None
        if config.get("sync.url"):  # no url, no sync: then the sync client is not even imported
            # it brings httpx, and httpx its command line's click, rich and pygments (7 MB together)
            from .sync import SyncClient, SyncSettings

            # a bad [sync] stops us before anything is opened
            settings = SyncSettings.from_config(dict(config.raw))
        self.store = Store(
            config.db_path,
            synchronous=config.get("store.synchronous"),
            max_feedback_per_kiosk=config.get("store.max_feedback_per_kiosk"),
        )
        trust = DeviceTrust.from_config(config.raw)
        #: the content pack in force, read by the local API and by the feedback buttons' mapping
        self.content = ContentSource(config.get("content.pack"), config.data_dir, trust)
        self.ingest = Ingest(
            self.store,
            config.devices,
            device_id=config.device_id,
            max_message_bytes=config.get("ingest.max_message_bytes"),
            min_free_bytes=config.get("store.min_free_mb") << 20,
            full_check_s=config.get("store.full_check_s"),
            hold_max=config.get("ingest.batch_max"),
            state_file=StateFile(config.state_path),
            buttons=ButtonVotes(
                self._pack,
                site=config.get("device.site"),
                cooldown_s=config.get("buttons.cooldown_s"),
                resolve_live=resolve_live,
            ),
        )
        housekeeper = Housekeeper(
            self.store,
            Limits(
                retention_days=config.retention_days(),
                max_pending=config.get("store.max_pending_events"),
                max_db_bytes=config.get("store.max_db_mb") << 20,
            ),
        )
        self.sources = list(sources)
        self.loop = IngestLoop(
            self.ingest, self.sources, batch_max=config.get("ingest.batch_max"), housekeeper=housekeeper,
            check_s=config.get("store.check_s"),
        )  # fmt: skip
        self.sync: SyncClient | None = (
            None if settings is None else SyncClient(settings, config.device_id, config.db_path, self._write)
        )
        api = ApiSettings.from_config(dict(config.raw))
        self.api = (
            None if api is None else LocalApi(
                api, device_id=config.device_id, db_path=config.db_path, sync_enabled=settings is not None,
                trust=trust, write=self._write_unless_full,
                sync_online=lambda: None if self.sync is None else self.sync.online, content=self.content,
            )
        )  # fmt: skip

        self.live: LiveClient | None = None
        if self.sync is not None:
            from .live import LiveClient

            self.live = LiveClient(config.device_id, self.sync.settings.url, self.sync.http_client, self._write,
                                   polls=self._pack_polls)  # fmt: skip

        forecast = ForecastSettings.from_config(config.raw)
        self.forecast = (
            None if forecast is None else ForecastRunner(
                forecast, db_path=config.db_path, trust=trust, write=self._write,
            )
        )  # fmt: skip

    def _pack(self) -> ContentPack | None:
        current = self.content.current()
        return None if current is None else current.pack

    def _write(self, fn: Callable[[sqlite3.Connection], T], refuse_when_full: bool = False) -> Future[T]:
        """Run ``fn(connection)`` in one transaction on the writer thread (sync client, local API).

        The future holds ``fn``'s result once the transaction is committed. A write that fails for
        want of space puts the agent into its full-disk state.
        """

        def run() -> T:
            if refuse_when_full:
                self.ingest.refuse_if_full()
            try:
                with self.store.atomic() as db:
                    return fn(db)
            except sqlite3.Error as exc:
                self.ingest.write_failed(exc)
                raise

        return self.loop.call(run)

    def _pack_polls(self) -> list[str]:
        """The polls of the content pack served now: the live stream asks for their town-wide totals."""
        content = self.api.context.content.current() if self.api is not None else None
        return [] if content is None else [p.id for p in content.pack.polls]

    def _write_unless_full(self, fn: Callable[[sqlite3.Connection], T]) -> Future[T]:
        """The local API's writes: refused (``DiskFullError``, a 503 for the kiosk) while the disk is full."""
        return self._write(fn, refuse_when_full=True)

    def start(self) -> None:
        if self.api is not None:
            self.api.bind()  # a port in use or a bad content pack stops the start before anything runs
        for src in self.sources:
            s = src.state
            self.ingest.register_source(s)
            if s.kind == "tts" and s.qos == 0:
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
        if self.live is not None:
            self.live.start()
        log.info("edge agent %s running; database %s", self.config.device_id, self.config.db_path)

    def stop(self) -> None:
        """Stop serving kiosks and syncing, commit and acknowledge what was read, disconnect, close the database."""
        if self.api is not None:
            self.api.stop()
        if self.live is not None:
            self.live.stop()
        if self.sync is not None:
            self.sync.stop()
        if self.forecast is not None:
            self.forecast.stop()
        self.loop.stop()
        if self._newest is not None:
            self._newest.close()
        self.store.close()
        if self.ingest.state_file is not None:
            self.ingest.state_file.close()
        log.info("edge agent stopped")

    def _turning(self) -> bool:
        """The ingest loop turned lately (it does every second): what feeds systemd's watchdog."""
        return self.loop.alive and time.monotonic() - self.loop.last_turn < self.STUCK_S

    def run_until_signal(self) -> None:
        run_until_signal(self.start, self.stop, alive=lambda: self.loop.alive, healthy=self._turning)
        if self.loop.error is not None:
            raise RuntimeError(f"the ingest loop failed: {self.loop.error}") from self.loop.error
