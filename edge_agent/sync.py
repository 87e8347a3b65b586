"""The sync client: hands the outbox to the sync server, in order, and keeps nothing twice.

A thread reads pending events stream by stream (its own read-only connection), uploads them
in bounded, gzip-compressed batches and moves the stream's cursor only after the server
acknowledged every record of the batch; the cursor write runs on the writer thread. A network
or server failure backs off exponentially with jitter and is logged once; after an outage the
backlog goes up in throttled batches. A batch the server refuses as malformed is retried one
record at a time, and the record it refuses is set aside so its stream goes on.
"""

from __future__ import annotations

import gzip
import logging
import random
import shutil
import sqlite3
import ssl
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from a2d import __version__, syncwire, timeutil
from a2d import bundles as a2d_bundles
from a2d.errors import KnownError
from a2d.logs import Once

from . import bundles as edge_bundles
from . import outbox, tlspin
from .store import open_reader
from .worker import Worker

log = logging.getLogger(__name__)

#: runs ``fn(connection)`` in one transaction on the writer thread
WriteOnWriter = Callable[[Callable[[sqlite3.Connection], None]], Future[Any]]


class SyncConfigError(KnownError):
    """The ``[sync]`` settings cannot work (no token, unreadable token file)."""


@dataclass(frozen=True)
class SyncSettings:
    url: str
    token: str
    interval_s: float = 10.0
    heartbeat_s: float = 60.0
    batch_records: int = 1000
    batch_bytes: int = 1048576
    max_records_per_s: float = 5000.0
    timeout_s: float = 15.0
    ca_file: str = ""
    verify_tls: bool = True
    bundle_interval_s: float = 300.0
    pin_sha256: bytes = b""
    #: the keys bundles are checked with, and this device's id and site for their targets
    trust: edge_bundles.DeviceTrust = field(default_factory=edge_bundles.DeviceTrust)

    @property
    def fetches_bundles(self) -> bool:
        """Bundles are fetched only when a key to check them with is configured."""
        return self.trust.enabled

    @classmethod
    def from_config(cls, raw: dict[str, Any]) -> SyncSettings | None:
        """The ``[sync]`` table of an edge config, or ``None`` when no ``url`` is set."""
        s = raw["sync"]
        if not s["url"]:
            return None
        token = s["token"]
        if not token and s["token_file"]:
            try:
                token = Path(s["token_file"]).read_text().strip()
            except OSError as exc:
                raise SyncConfigError(
                    f"cannot read sync.token_file {s['token_file']}: {exc.strerror}"
                ) from None
        if not token:
            raise SyncConfigError(
                "sync.url is set but there is no token (sync.token, sync.token_file or A2D_SYNC_TOKEN)"
            )
        pin = b""
        if s["pin_sha256"]:
            try:
                pin = tlspin.parse_pin(s["pin_sha256"])
            except tlspin.PinError as exc:
                raise SyncConfigError(f"sync.pin_sha256: {exc}") from None
        return cls(
            url=s["url"].rstrip("/"), token=token, interval_s=s["interval_s"], heartbeat_s=s["heartbeat_s"],
            batch_records=min(s["batch_records"], syncwire.MAX_BATCH_RECORDS),
            batch_bytes=min(s["batch_bytes"], syncwire.MAX_BODY_BYTES - 1024),
            max_records_per_s=s["max_records_per_s"], timeout_s=s["timeout_s"], ca_file=s["ca_file"],
            verify_tls=s["verify_tls"], bundle_interval_s=s["bundle_interval_s"], pin_sha256=pin,
            trust=edge_bundles.DeviceTrust.from_config(raw),
        )  # fmt: skip


class _Retry(Exception):
    """This round failed as a whole (network, server error, auth); back off and try again."""


class SyncClient(Worker):
    """Runs in its own thread; ``write`` runs its database writes on the agent's writer thread."""

    thread_name = "a2d-sync"
    ROUND_BATCHES = 20
    IN_FLIGHT = 2

    def __init__(
        self,
        settings: SyncSettings,
        device_id: str,
        db_path: Path,
        write: WriteOnWriter,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], str] = timeutil.utc_now,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.device_id = device_id
        self.db_path = db_path
        self.write = write
        self.clock = clock
        self._transport = transport
        self._once = Once(log)
        self._failures = 0
        self._started = time.monotonic()
        self.last_sync_at: str | None = None
        #: whether the latest round (uploads, heartbeat, bundles) reached the server; None before the first
        self.online: bool | None = None
        self._poster = ThreadPoolExecutor(max_workers=self.IN_FLIGHT, thread_name_prefix="a2d-sync-post")
        self.bytes_sent = 0  # request bodies as sent (after gzip), for the benchmark and status

    def stop(self, timeout: float = 20) -> None:
        super().stop(timeout)
        self._poster.shutdown(wait=True)

    # the sync thread ------------------------------------------------------------------------
    def _client(self) -> httpx.Client:
        verify: ssl.SSLContext | bool = False
        if self.settings.pin_sha256:
            verify = tlspin.pinned_context(self.settings.pin_sha256)
        elif self.settings.verify_tls:
            verify = ssl.create_default_context(cafile=self.settings.ca_file or None)
        return httpx.Client(
            base_url=self.settings.url,
            headers={
                "Authorization": f"Bearer {self.settings.token}",
                "User-Agent": f"a2d-edge/{__version__}",
            },
            timeout=self.settings.timeout_s,
            verify=verify,
            transport=self._transport,
        )

    def _run(self) -> None:
        next_beat = 0.0
        next_bundles = 0.0
        etags = self._applied_etags()
        with self._client() as http:
            while not self._stop.is_set():
                sent = 0
                try:
                    db = open_reader(self.db_path)
                    try:
                        sent = self._round(http, db)
                        if time.monotonic() >= next_beat:
                            self._heartbeat(http, db)
                            next_beat = time.monotonic() + self.settings.heartbeat_s
                        if self.settings.fetches_bundles and time.monotonic() >= next_bundles:
                            self._fetch_bundles(http, etags)
                            next_bundles = time.monotonic() + self.settings.bundle_interval_s
                    finally:
                        db.close()
                except _Retry as exc:
                    self.online = False
                    self._failures += 1
                    self._once.failed(
                        "server", "sync with %s failed: %s; retrying with back-off", self.settings.url, exc
                    )
                    self._stop.wait(self._backoff())
                    continue
                except Exception:  # noqa: BLE001 - the sync thread must outlive any single surprise
                    log.exception("sync round failed")
                    self.online = False
                    self._failures += 1
                    self._stop.wait(self._backoff())
                    continue
                self.online = True
                if self._failures:
                    self._failures = 0
                    self._once.recovered("server", "sync with %s works again", self.settings.url)
                if not sent:
                    self._stop.wait(self.settings.interval_s)

    def _backoff(self) -> float:
        base = min(300.0, self.settings.interval_s * 2 ** min(self._failures - 1, 10))
        return base * random.uniform(0.5, 1.5)

    def _round(self, http: httpx.Client, db: sqlite3.Connection) -> int:
        """Upload what is pending, stream by stream; returns how many records were acknowledged."""
        return sum(self._catch_up(http, db, stream) for stream in outbox.streams(db))

    def _catch_up(self, http: httpx.Client, db: sqlite3.Connection, stream: str) -> int:
        """Up to ``ROUND_BATCHES`` batches of one stream, ``IN_FLIGHT`` uploads on their way at once.

        The next batch is read while earlier ones travel; answers are handled strictly in order,
        so the cursor only ever moves over batches that were all acknowledged. If an upload
        fails, the ones behind it are awaited and dropped: the server may hold them already,
        and it stores their repetition once.
        """
        sent = 0
        queued = 0
        inflight: deque[tuple[list[outbox.Pending], Future[tuple[int, int]]]] = deque()
        batch = self._read(db, stream, None)
        try:
            while not self._stop.is_set():
                while batch and len(inflight) < self.IN_FLIGHT and queued < self.ROUND_BATCHES:
                    inflight.append((batch, self._poster.submit(self._post, http, batch)))
                    queued += 1
                    batch = self._read(db, stream, batch[-1].event_id)
                if not inflight:
                    break
                done, answer = inflight.popleft()
                n = self._settle(http, stream, done, answer)
                sent += n
                if self.settings.max_records_per_s > 0:
                    self._stop.wait(len(done) / self.settings.max_records_per_s)
        finally:
            for _, later in inflight:
                later.exception()  # wait for it; its outcome no longer matters
        return sent

    def _read(self, db: sqlite3.Connection, stream: str, after: int | None) -> list[outbox.Pending]:
        return outbox.read_batch(db, stream, self.settings.batch_records, self.settings.batch_bytes, after)

    def _settle(
        self, http: httpx.Client, stream: str, batch: list[outbox.Pending], answer: Future[tuple[int, int]]
    ) -> int:
        """Act on the server's answer to one batch: move the cursor, isolate a refusal, or fail."""
        try:
            status, acked = answer.result()
        except _Retry as exc:
            self._write(outbox.failed, stream, str(exc), self.clock())
            raise
        if status == 200 and acked >= len(batch):
            self._write(outbox.advance, stream, batch[-1].event_id, len(batch), self.clock())
            self.last_sync_at = self.clock()
            return len(batch)
        if status in (400, 413, 422):
            return self._one_by_one(http, stream, batch)
        if status in (401, 403):
            self._write(outbox.failed, stream, f"the server refused our token (HTTP {status})", self.clock())
            raise _Retry(f"the server refused this device's token (HTTP {status})")
        self._write(outbox.failed, stream, f"HTTP {status}", self.clock())
        raise _Retry(f"HTTP {status}")

    def _one_by_one(self, http: httpx.Client, stream: str, batch: list[outbox.Pending]) -> int:
        """Find the record the server refuses: send each alone; set aside the refused ones."""
        done = 0
        for p in batch:
            status, acked = self._post(http, [p])
            if status == 200 and acked == 1:
                self._write(outbox.advance, stream, p.event_id, 1, self.clock())
                done += 1
            elif status in (400, 413, 422):
                log.warning("the server refused event %d of stream %s (HTTP %d); it stays here", p.event_id, stream,
                            status)  # fmt: skip
                self._write(outbox.refuse, p.event_id, stream, f"HTTP {status}", self.clock())
                self._write(outbox.advance, stream, p.event_id, 0, self.clock())
            else:
                raise _Retry(f"HTTP {status}")
        return done

    def _post(self, http: httpx.Client, batch: list[outbox.Pending]) -> tuple[int, int]:
        body = ('{"records":[' + ",".join(p.text for p in batch) + "]}").encode()
        headers = {"Content-Type": "application/json"}
        if len(body) > 1024:
            body = gzip.compress(body, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        self.bytes_sent += len(body)
        try:
            r = http.post(syncwire.records_path(self.device_id), content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise _Retry(f"{type(exc).__name__}: {exc}") from None
        if r.status_code != 200:
            return r.status_code, 0
        try:
            acked = r.json().get("acked")
        except ValueError:
            raise _Retry("the server's answer is not JSON") from None
        if not isinstance(acked, list):
            raise _Retry("the server's answer has no list of acknowledged records")
        return 200, len({p.record_id for p in batch}.intersection(a for a in acked if isinstance(a, str)))

    def _applied_etags(self) -> dict[str, str]:
        """ETags of the bundles in use (checked again), so the server can answer 304."""
        if not self.settings.fetches_bundles:
            log.info("no sync.trusted_keys nor sync.server_public_key: no bundles are fetched")
            return {}
        etags = {}
        for kind in a2d_bundles.KINDS:
            try:
                b = edge_bundles.current(self.db_path.parent, kind, self.settings.trust)
            except a2d_bundles.BundleError as exc:
                log.warning("the %s bundle in use does not check out (%s); fetching it again", kind, exc)
                continue
            if b is not None:
                etags[kind] = b.etag
        return etags

    def _fetch_bundles(self, http: httpx.Client, etags: dict[str, str]) -> None:
        """Fetch each kind of bundle if it changed (``keys`` first); apply it only if it checks out:
        a trusted key's signature, its hash, this device as its target, a counter above the last."""
        for kind in a2d_bundles.KINDS:
            headers = {"If-None-Match": etags[kind]} if kind in etags else {}
            try:
                r = http.get(a2d_bundles.bundle_path(self.device_id, kind), headers=headers)
            except httpx.HTTPError as exc:
                raise _Retry(f"bundle {kind}: {type(exc).__name__}: {exc}") from None
            if r.status_code in (304, 404):
                continue
            if r.status_code != 200:
                raise _Retry(f"bundle {kind}: HTTP {r.status_code}")
            try:
                bundle = edge_bundles.apply(self.db_path.parent, r.json(), kind, self.settings.trust)
            except (a2d_bundles.BundleError, ValueError) as exc:
                self._once.failed(f"bundle:{kind}:{r.headers.get('etag')}", "refused a %s bundle (%s); the last"
                                  " good one stays in use", kind, exc)  # fmt: skip
                self._write(edge_bundles.record, kind, self.clock(), None, str(exc))
                continue
            etags[kind] = bundle.etag
            self._write(edge_bundles.record, kind, self.clock(), bundle, None)
            log.info(
                "applied %s bundle %s (counter %d, for %s)",
                kind,
                bundle.version,
                bundle.counter,
                bundle.target,
            )

    def _heartbeat(self, http: httpx.Client, db: Any) -> None:
        beat = syncwire.Heartbeat(
            versions={"a2d": __version__},
            uptime_s=round(time.monotonic() - self._started, 1),
            disk_free_bytes=shutil.disk_usage(self.db_path.parent).free,
            outbox={s["stream"]: s["pending"] for s in outbox.status(db)},
            last_sync_at=self.last_sync_at,
        )
        try:
            r = http.post(syncwire.heartbeat_path(self.device_id), json=beat.as_dict())
        except httpx.HTTPError as exc:
            raise _Retry(f"heartbeat: {type(exc).__name__}: {exc}") from None
        if r.status_code >= 300:
            raise _Retry(f"heartbeat: HTTP {r.status_code}")

    def _write(self, fn: Callable[..., None], *args: Any) -> None:
        """Run an outbox write on the writer thread and wait until it is committed."""
        self.write(lambda db: fn(db, *args)).result(timeout=60)
