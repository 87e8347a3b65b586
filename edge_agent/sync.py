"""The sync client: hands the outbox to the sync server, in order, and keeps nothing twice.

A thread reads pending events stream by stream (its own read-only connection), uploads them
in bounded, gzip-compressed batches and moves the stream's cursor only after the server
acknowledged every record of the batch; the cursor write runs on the writer thread. A network
failure or a server that is away backs off exponentially with jitter and is logged once; after an
outage the backlog goes up in throttled batches. A batch the server refuses as malformed (4xx) is
retried one record at a time, and the record it refuses is set aside so its stream goes on. A
batch that keeps getting a server error (a 500, :data:`~.syncsplit.STRIKES` times) backs off on
its own stream only, then is split to find the record that fails alone (:mod:`.syncsplit`).

Heartbeats and bundle fetches run on a thread of their own, on their own schedule: a stream stuck
in back-off or a long catch-up never delays them.
"""

from __future__ import annotations

import logging
import random
import shutil
import sqlite3
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from a2d import __version__, syncwire, timeutil
from a2d import bundles as a2d_bundles
from a2d.errors import KnownError
from a2d.logs import Once
from a2d.loopback import is_loopback

from . import bundles as edge_bundles
from . import outbox, tlspin
from .localapi import displays
from .parsers import clean
from .store import open_reader
from .syncsplit import REFUSED, STRIKES, Answer, Isolation, ServerAway, StillFailing, isolate
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
    #: why this sync is not safe (plain HTTP beyond this machine, no certificate check), if it was allowed
    insecure: str = ""

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
                ) from exc
        if not token:
            raise SyncConfigError(
                "sync.url is set but there is no token (sync.token, sync.token_file or A2D_SYNC_TOKEN)"
            )
        pin = b""
        if s["pin_sha256"]:
            try:
                pin = tlspin.parse_pin(s["pin_sha256"])
            except tlspin.PinError as exc:
                raise SyncConfigError(f"sync.pin_sha256: {exc}") from exc
        insecure = insecure_reason(s["url"], s["verify_tls"], bool(pin))
        if insecure and not s["allow_insecure"]:
            raise SyncConfigError(
                f"{insecure}; set sync.allow_insecure = true to sync like this anyway (test servers)"
            )
        return cls(
            url=s["url"].rstrip("/"), token=token, interval_s=s["interval_s"], heartbeat_s=s["heartbeat_s"],
            batch_records=min(s["batch_records"], syncwire.MAX_BATCH_RECORDS),
            batch_bytes=min(s["batch_bytes"], syncwire.MAX_BODY_BYTES - 1024),
            max_records_per_s=s["max_records_per_s"], timeout_s=s["timeout_s"], ca_file=s["ca_file"],
            verify_tls=s["verify_tls"], bundle_interval_s=s["bundle_interval_s"], pin_sha256=pin, insecure=insecure,
            trust=edge_bundles.DeviceTrust.from_config(raw),
        )  # fmt: skip


def insecure_reason(url: str, verify_tls: bool, pinned: bool) -> str:
    """Why syncing to ``url`` like this would let someone on the way read or change it; "" if safe.

    Plain HTTP is fine to this machine only (127.0.0.0/8, ::1, localhost); HTTPS is safe unless
    the certificate goes unchecked (``verify_tls`` false without a pin).
    """
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").rstrip(".")
    if scheme not in ("http", "https") or not host:
        raise SyncConfigError(f"sync.url {url!r:.80} is not an https:// (or http://) address")
    if scheme == "http" and not is_loopback(host):
        return f"sync.url {url!r:.80} is plain HTTP to another machine: the token and the outbox travel unencrypted"
    if scheme == "https" and not verify_tls and not pinned:
        return "sync.verify_tls = false accepts any certificate: whoever is on the way can read the token"
    return ""


class _Retry(Exception):
    """The server cannot be reached or is away (network, timeout, 502/503/504, token refused):
    the round stops and everything backs off."""


class _StreamRetry(Exception):
    """One stream's batch failed on the server (a 5xx, not a server away): that stream backs off
    on its own; the others, heartbeats and bundles go on."""


class SyncClient(Worker):
    """Uploads in its own thread, heartbeats and bundles in another; ``write`` runs its database
    writes on the agent's writer thread."""

    thread_name = "a2d-sync"
    ROUND_BATCHES = 20
    IN_FLIGHT = 3

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
        #: whether the latest request (upload or heartbeat) reached the server; None before the first
        self.online: bool | None = None
        self._poster = ThreadPoolExecutor(max_workers=self.IN_FLIGHT, thread_name_prefix="a2d-sync-post")
        self.bytes_sent = 0  # request bodies as sent (after gzip), for the benchmark and status
        #: per stream: its failures in a row, when it may try again (monotonic), and the batch that
        #: got suspect 5xx answers (its first event id) with how many
        self._stream_failures: dict[str, int] = {}
        self._stream_retry_at: dict[str, float] = {}
        self._strikes: dict[str, tuple[int, int]] = {}
        self._beacon: threading.Thread | None = None

    def start(self) -> None:
        if self.settings.insecure:
            log.warning("insecure sync allowed by sync.allow_insecure: %s", self.settings.insecure)
        super().start()
        self._beacon = threading.Thread(target=self._beacon_run, name="a2d-sync-beat", daemon=True)
        self._beacon.start()

    def stop(self, timeout: float = 20) -> None:
        super().stop(timeout)
        if self._beacon is not None:
            self._beacon.join(timeout)
            self._beacon = None
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

    def http_client(self) -> httpx.Client:
        """A client for the server as this sync talks to it (token, TLS, pin): the live stream's."""
        return self._client()

    def _run(self) -> None:
        with self._client() as http:
            while not self._stop.is_set():
                sent = 0
                try:
                    db = open_reader(self.db_path)
                    try:
                        sent = self._round(http, db)
                    finally:
                        db.close()
                except _Retry as exc:
                    self.online = False
                    self._failures += 1
                    self._once.failed(
                        "server", "sync with %s failed: %s; retrying with back-off", self.settings.url, exc
                    )
                    self._stop.wait(self._backoff(self._failures))
                    continue
                except Exception:  # noqa: BLE001 - the sync thread must outlive any single surprise
                    log.exception("sync round failed")
                    self.online = False
                    self._failures += 1
                    self._stop.wait(self._backoff(self._failures))
                    continue
                if self._failures:
                    self._failures = 0
                    self._once.recovered("server", "sync with %s works again", self.settings.url)
                if not sent:
                    self._stop.wait(self._idle_wait())

    def _backoff(self, failures: int) -> float:
        base = min(300.0, self.settings.interval_s * 2 ** min(failures - 1, 10))
        return base * random.uniform(0.5, 1.5)

    def _idle_wait(self) -> float:
        """Until the next round: ``interval_s``, or sooner when a stream's back-off ends."""
        now = time.monotonic()
        soonest = min(
            (at - now for at in self._stream_retry_at.values() if at > now), default=self.settings.interval_s
        )
        return max(0.05, min(self.settings.interval_s, soonest))

    def _round(self, http: httpx.Client, db: sqlite3.Connection) -> int:
        """Upload what is pending, stream by stream, except streams backing off; returns how many
        records were acknowledged. A stream's own failure backs off that stream only."""
        sent = 0
        streams = outbox.streams(db)
        for gone in set(self._stream_retry_at) - set(streams):  # its events went (retention, thinning)
            self._stream_retry_at.pop(gone)
            self._stream_failures.pop(gone, None)
        for stream in streams:
            if time.monotonic() < self._stream_retry_at.get(stream, 0.0):
                continue
            try:
                sent += self._catch_up(http, db, stream)
            except _StreamRetry as exc:
                failures = self._stream_failures[stream] = self._stream_failures.get(stream, 0) + 1
                self._stream_retry_at[stream] = time.monotonic() + self._backoff(failures)
                self._once.failed(
                    f"stream:{stream}", "sync of stream %s failed: %s; it backs off", stream, exc
                )
                continue
            if self._stream_failures.pop(stream, 0):
                self._stream_retry_at.pop(stream, None)
                self._once.recovered(f"stream:{stream}", "sync of stream %s works again", stream)
        return sent

    def _catch_up(self, http: httpx.Client, db: sqlite3.Connection, stream: str) -> int:
        """Up to ``ROUND_BATCHES`` batches of one stream, ``IN_FLIGHT`` uploads on their way at once.

        The next batch is read while earlier ones travel; answers are handled strictly in order,
        so the cursor only ever moves over batches that were all acknowledged. If an upload
        fails, the ones behind it are awaited and dropped: the server may hold them already,
        and it stores their repetition once.
        """
        sent = 0
        queued = 0
        inflight: deque[tuple[list[outbox.Pending], Future[Answer]]] = deque()
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
                n = self._settle(http, db, stream, done, answer)
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
        self, http: httpx.Client, db: sqlite3.Connection, stream: str, batch: list[outbox.Pending],
        answer: Future[Answer],
    ) -> int:  # fmt: skip
        """Act on the server's answer to one batch: move the cursor, isolate a refusal, back off the
        stream after a server error, find the record behind repeated ones, or fail."""
        try:
            a = answer.result()
        except _Retry as exc:
            self._write(outbox.failed, stream, str(exc), self.clock())
            raise
        if a.took(batch):
            self._strikes.pop(stream, None)
            self._acked(stream, batch)
            return len(batch)
        if a.status in REFUSED:
            self._strikes.pop(stream, None)
            return self._one_by_one(http, stream, batch)
        if not a.suspect:
            raise self._away(stream, a)
        first, strikes = self._strikes.get(stream, (batch[0].event_id, 0))
        strikes = strikes + 1 if first == batch[0].event_id else 1
        self._strikes[stream] = (batch[0].event_id, strikes)
        self._write(outbox.failed, stream, f"{a.reason} ({strikes} in a row)", self.clock())
        if strikes < STRIKES:
            raise _StreamRetry(a.reason)
        log.warning("stream %s: %d server errors in a row for one batch (%s); looking for the record behind them",
                    stream, strikes, a.reason)  # fmt: skip
        try:
            done = isolate(batch, self._isolation(http, db, stream))
        except ServerAway as exc:
            raise self._away(stream, exc.answer) from None
        except StillFailing as exc:
            self._write(outbox.failed, stream, str(exc), self.clock())
            raise _StreamRetry(str(exc)) from None
        self._strikes.pop(stream, None)
        return done

    def _away(self, stream: str, a: Answer) -> _Retry:
        """The failure for an answer that is not about the records: a refused token, a server away."""
        if a.status in (401, 403):
            self._write(
                outbox.failed, stream, f"the server refused our token (HTTP {a.status})", self.clock()
            )
            return _Retry(f"the server refused this device's token (HTTP {a.status})")
        self._write(outbox.failed, stream, a.reason, self.clock())
        return _Retry(a.reason)

    def _isolation(self, http: httpx.Client, db: sqlite3.Connection, stream: str) -> Isolation:
        def post(records: list[outbox.Pending]) -> Answer:
            return self._post(http, records)

        def set_aside(p: outbox.Pending, reason: str) -> None:
            log.warning("stream %s: event %d fails alone while others go through (%s); it is set aside",
                        stream, p.event_id, reason)  # fmt: skip
            self._write(outbox.refuse, p.event_id, stream, reason, self.clock())

        return Isolation(
            post=post,
            acked=lambda records: self._acked(stream, records),
            set_aside=set_aside,
            one_by_one=lambda records: self._one_by_one(http, stream, records),
            more=lambda after: self._read(db, stream, after),
            pause=self._stop.wait,
        )

    def _acked(self, stream: str, records: list[outbox.Pending]) -> None:
        self._write(outbox.advance, stream, records[-1].event_id, len(records), self.clock())
        self.last_sync_at = self.clock()
        self.online = True

    def _one_by_one(self, http: httpx.Client, stream: str, batch: list[outbox.Pending]) -> int:
        """Find the record the server refuses: send each alone; set aside the refused ones."""
        done = 0
        for p in batch:
            a = self._post(http, [p])
            if a.took([p]):
                self._acked(stream, [p])
                done += 1
            elif a.status in REFUSED:
                log.warning("the server refused event %d of stream %s (%s); it stays here", p.event_id, stream,
                            a.reason)  # fmt: skip
                self._write(outbox.refuse, p.event_id, stream, a.reason, self.clock())
                self._write(outbox.advance, stream, p.event_id, 0, self.clock())
            elif a.suspect:
                raise _StreamRetry(a.reason)
            else:
                raise self._away(stream, a)
        return done

    def _post(self, http: httpx.Client, batch: list[outbox.Pending]) -> Answer:
        body, headers = syncwire.upload_body([p.text for p in batch])
        self.bytes_sent += len(body)
        try:
            r = http.post(syncwire.records_path(self.device_id), content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise _Retry(f"{type(exc).__name__}: {exc}") from exc
        if r.status_code != 200:
            return Answer(r.status_code, 0, _detail(r), "retry-after" in r.headers)
        try:
            doc = orjson.loads(r.content)
        except orjson.JSONDecodeError:
            raise _Retry("the server's answer is not JSON") from None
        acked = doc.get("acked") if isinstance(doc, dict) else None
        if not isinstance(acked, list):
            raise _Retry("the server's answer has no list of acknowledged records")
        ids = [p.record_id for p in batch]
        if acked == ids:  # the usual answer: every record, in the order sent
            return Answer(200, len(batch))
        return Answer(200, len(set(ids).intersection(a for a in acked if isinstance(a, str))))

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
                raise _Retry(f"bundle {kind}: {type(exc).__name__}: {exc}") from exc
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
            displays=[syncwire.Display(**row) for row in displays.for_heartbeat(db, self.clock())],
            now=self.clock(),
        )
        try:
            r = http.post(syncwire.heartbeat_path(self.device_id), json=beat.as_dict())
        except httpx.HTTPError as exc:
            raise _Retry(f"heartbeat: {type(exc).__name__}: {exc}") from exc
        if r.status_code >= 300:
            raise _Retry(f"heartbeat: HTTP {r.status_code}")

    # the heartbeat thread ------------------------------------------------------------------------
    def _beacon_run(self) -> None:
        """Heartbeats every ``heartbeat_s`` and bundle checks every ``bundle_interval_s``, whatever
        the uploads do; a failure is logged once and tried again at the next turn."""
        next_beat = next_bundles = time.monotonic()
        fetch_bundles = self.settings.fetches_bundles
        etags = self._applied_etags()
        with self._client() as http:
            while not self._stop.is_set():
                if time.monotonic() >= next_beat:
                    next_beat = time.monotonic() + self.settings.heartbeat_s
                    self._beat_once(http)
                if fetch_bundles and time.monotonic() >= next_bundles:
                    next_bundles = time.monotonic() + self.settings.bundle_interval_s
                    try:
                        self._fetch_bundles(http, etags)
                    except _Retry as exc:
                        self._once.failed(
                            "bundles", "fetching bundles from %s failed: %s", self.settings.url, exc
                        )
                    except Exception:  # noqa: BLE001 - the heartbeat thread must outlive any single surprise
                        log.exception("fetching bundles failed")
                    else:
                        self._once.recovered("bundles", "fetching bundles works again")
                wake = min(next_beat, next_bundles) if fetch_bundles else next_beat
                self._stop.wait(max(0.01, wake - time.monotonic()))

    def _beat_once(self, http: httpx.Client) -> None:
        try:
            db = open_reader(self.db_path)
            try:
                self._heartbeat(http, db)
            finally:
                db.close()
        except _Retry as exc:
            self.online = False
            self._once.failed("heartbeat", "heartbeat to %s failed: %s", self.settings.url, exc)
        except Exception:  # noqa: BLE001 - the heartbeat thread must outlive any single surprise
            log.exception("heartbeat failed")
        else:
            self.online = True
            self._once.recovered("heartbeat", "heartbeats reach %s again", self.settings.url)

    def _write(self, fn: Callable[..., None], *args: Any) -> None:
        """Run an outbox write on the writer thread and wait until it is committed."""
        self.write(lambda db: fn(db, *args)).result(timeout=60)


def _detail(r: httpx.Response) -> str:
    """The ``detail`` of an error answer, short and without control characters (it is shown in
    ``a2d edge status``, on a terminal); "" if there is none."""
    try:
        doc = r.json()
    except ValueError:
        return ""
    detail = doc.get("detail") if isinstance(doc, dict) else None
    return clean(str(detail))[:300] if detail else ""
