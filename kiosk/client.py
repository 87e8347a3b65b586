"""The kiosk's side of the edge agent's local HTTP API (:mod:`a2d.localapi`).

:class:`AgentClient` never blocks a tap on the network: :meth:`AgentClient.vote` and
:meth:`AgentClient.help` commit to the kiosk's durable outbox and return the id at once; a
background thread (``a2d-kiosk-client``) delivers the outbox and refreshes the content pack with
``If-None-Match``. The pack arrives as a signed bundle document that the kiosk checks with its own
keys (:mod:`kiosk.signedcontent`); one that does not check out is never shown. When the agent is
unreachable the kiosk goes on with the cached pack (a kiosk that never got one has none, and says
"no content yet") and delivers later; the agent stores every id once, so an item sent twice is counted once.

Every request carries the kiosk's token (``a2d edge kiosk add``); an ``https://`` agent is reached
only if its certificate has the pinned fingerprint (checked in the TLS handshake, before the token
is sent). A 401 means "not paired": the items stay in the outbox, the Lotsen screen says so, and it
is logged once. A 429 means "later": nothing more is sent before its ``Retry-After``.

The agent is found at the configured URL or, without one, by zeroconf (``_a2d-edge._tcp``);
zeroconf is imported only then. Zeroconf finds, it never vouches: an advert is taken only once its
agent proved itself (:meth:`AgentClient.proves`): its certificate matches
``kiosk.agent_pin_sha256`` (or it is plain HTTP on a loopback address, this very machine), and its
``GET /v1/healthz``, which needs no token, names ``kiosk.agent_device_id``. Only then does the
kiosk send it its token and its votes. Only the standard library talks HTTP here, so the kiosk
starts lean. The query methods (``results``, ``status``, ``help_requests``, ...) make one bounded
request and belong in a worker thread, not on the Kivy thread.
"""

from __future__ import annotations

import json
import logging
import os
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http.client import HTTPException
from pathlib import Path
from typing import Any

from a2d import contentpack, livewire, localapi
from a2d.bundles import BundleError
from a2d.contentpack import ContentError, ContentPack, TransparencyRecord
from a2d.livewire import LiveError, LiveQuestion
from a2d.logs import Once
from a2d.loopback import is_loopback
from a2d.timeutil import utc_now

from .config import KioskConfig
from .outbox import MAX_AGE_DAYS, Outbox
from .signedcontent import CONTENT_FILE as CONTENT_FILE  # where the cached pack lives
from .signedcontent import ContentTrust, SignedCache

log = logging.getLogger(__name__)

THREAD_NAME = "a2d-kiosk-client"
ETAG_FILE = "content.etag"
OUTBOX_FILE = "outbox.db"
MAX_RESPONSE_BYTES = contentpack.MAX_PACK_BYTES + 1024
#: the longest pause a 429 can ask for; seconds between outbox prunings
MAX_RETRY_AFTER_S = 300.0
PRUNE_S = 3600.0
#: seconds between two questions to the agent for its live questions (a 304 while nothing changed);
#: a question started on the server shows within about this plus the agent's second or two
LIVE_S = 4.0
#: where each kind of outbox item goes on the agent
_PATHS = {"vote": "/feedback", "help": "/help", "usage": "/usage"}


class _Unreachable(Exception):
    """The agent did not answer (refused, timed out, reset)."""


class _Later(_Unreachable):
    """The agent asked for a pause (429 with ``Retry-After``) that has not ended: nothing was sent."""


@dataclass(frozen=True)
class _Response:
    status: int
    headers: dict[str, str]
    data: bytes

    def json(self) -> Any:
        return json.loads(self.data)


@dataclass(frozen=True)
class Found:
    """An agent's advert: where it says it is, and which device it says it is (unproven)."""

    url: str
    device_id: str
    address: str
    scheme: str


def discover_agents(
    timeout: float, interfaces: Sequence[str] | None = None, stop: threading.Event | None = None,
    settle: float = 0.5,
) -> list[Found]:  # fmt: skip
    """The edge agents announcing :data:`a2d.localapi.SERVICE_TYPE` (our API version), in the
    order of their advert names; none of them is trusted yet (see :meth:`AgentClient.proves`).

    Waits at most ``timeout`` seconds for the first advert (less when ``stop`` is set), then
    ``settle`` seconds more for others. ``interfaces`` limits zeroconf to those addresses (tests
    use ``["127.0.0.1"]``); None uses every interface.
    """
    from zeroconf import InterfaceChoice, IPVersion, ServiceBrowser, ServiceStateChange, Zeroconf

    deadline = time.monotonic() + timeout
    names: list[str] = []
    seen = threading.Event()

    def on_change(zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if state_change is not ServiceStateChange.Removed and name not in names:
            names.append(name)
            seen.set()

    zc = Zeroconf(
        interfaces=list(interfaces) if interfaces else InterfaceChoice.All, ip_version=IPVersion.V4Only
    )
    browser = ServiceBrowser(zc, localapi.SERVICE_TYPE, handlers=[on_change])
    found: list[Found] = []
    try:
        while not seen.is_set() and time.monotonic() < deadline:
            if stop is not None and stop.is_set():
                return []
            seen.wait(0.05)
        if not seen.is_set():
            return []
        # more adverts may come in right behind the first (a fake one may be first on purpose)
        (stop or threading.Event()).wait(
            max(0.0, min(deadline, time.monotonic() + settle) - time.monotonic())
        )
        for name in sorted(names):
            left_ms = int(max(0.2, deadline - time.monotonic()) * 1000)
            info = zc.get_service_info(localapi.SERVICE_TYPE, name, timeout=left_ms)
            if info is None or not info.port:
                continue
            props = info.properties or {}
            api = props.get(b"api")
            if api not in (None, localapi.VERSION.encode()):
                log.warning(
                    "ignoring %s: it speaks local API version %r, we speak %s", name, api, localapi.VERSION
                )
                continue
            scheme = (props.get(localapi.TXT_SCHEME.encode()) or b"http").decode(errors="replace")
            device_id = (props.get(b"device_id") or b"").decode(errors="replace")
            for address in info.parsed_addresses(IPVersion.V4Only):
                if scheme in ("http", "https"):
                    found.append(Found(f"{scheme}://{address}:{info.port}", device_id, address, scheme))
        return found
    finally:
        browser.cancel()
        zc.close()


def discover_agent(
    timeout: float, interfaces: Sequence[str] | None = None, stop: threading.Event | None = None
) -> str | None:
    """The URL of the first agent announced (unproven: the kiosk itself uses :meth:`AgentClient.proves`)."""
    found = discover_agents(timeout, interfaces, stop, settle=0)
    return found[0].url if found else None


class AgentClient:
    """The kiosk's link to its edge agent; see the module docstring. ``stop()`` ends it."""

    def __init__(
        self,
        base_url: str | None,
        cache_dir: Path,
        kiosk_id: str,
        *,
        timeout: float = 2.0,
        discover: bool = True,
        interval_s: float = 5.0,
        refresh_s: float = 30.0,
        discover_timeout: float = 3.0,
        zeroconf_interfaces: Sequence[str] | None = None,
        send: bool = True,
        token: str = "",
        agent_device_id: str = "",
        pin_sha256: str = "",
        refused_days: int = 30,
        trust: ContentTrust | None = None,
        live_s: float = LIVE_S,
    ) -> None:
        self._configured = base_url.rstrip("/") if base_url else None
        self._url = self._configured
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.kiosk_id = kiosk_id
        self.timeout = timeout
        self.discover = discover
        self.interval_s = interval_s
        self.refresh_s = refresh_s
        self.discover_timeout = discover_timeout
        self.zeroconf_interfaces = zeroconf_interfaces
        #: False: read from the agent but never send it anything (votes and help stay in the outbox)
        self.send = send
        #: called with the new pack (on the client's thread) whenever the agent sent a new one
        self.on_content: Callable[[ContentPack], None] | None = None
        #: the pairing: the token sent with every request, the agent it belongs to, its certificate
        self.token = token
        self.agent_device_id = agent_device_id
        self.pin_sha256 = pin_sha256
        self.refused_days = refused_days
        self._outbox = Outbox(self.cache_dir / OUTBOX_FILE)
        #: the content is taken only signed with the keys of ``trust`` (none: no pack is taken)
        self._signed = SignedCache(self.cache_dir, trust or ContentTrust())
        handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
        if pin_sha256:
            from a2d.tlspin import parse_pin, pinned_context

            context = pinned_context(parse_pin(pin_sha256), "kiosk.agent_pin_sha256")
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self._opener = urllib.request.build_opener(*handlers)
        self._once = Once(log)
        self._paired: bool | None = None
        self._not_before = 0.0  # monotonic time before which the agent asked us not to call (429)
        self._next_prune = 0.0
        self._lock = threading.Lock()
        self._deliver_lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pack: ContentPack | None = None
        #: the latest display report not yet delivered (only the latest is worth sending)
        self._display: localapi.DisplayReport | None = None
        self._pack_source = ""
        self._online = False
        self._problem = ""
        self._next_refresh = 0.0
        #: the live questions as the agent last listed them, its ETag, and when to ask again
        self.live_s = live_s
        self._live: list[LiveQuestion] = []
        self._live_etag = ""
        self._next_live = 0.0

    @classmethod
    def from_config(cls, cfg: KioskConfig, **kw: Any) -> AgentClient:
        """The client ``kiosk.toml`` describes: its agent, cache and pairing (``kw`` for the rest)."""
        return cls(
            cfg.agent_url, cfg.cache_dir, cfg.kiosk_id, token=cfg.token, agent_device_id=cfg.agent_device_id,
            pin_sha256=cfg.agent_pin_sha256, refused_days=cfg.refused_days,
            **{"trust": ContentTrust.from_config(cfg.raw), **kw},
        )  # fmt: skip

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background thread and close the outbox (what is in it stays on disk)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(self.timeout + self.discover_timeout + 5)
            self._thread = None
        self._outbox.close()

    close = stop

    def __enter__(self) -> AgentClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def online(self) -> bool:
        """The agent answered the last request."""
        return self._online

    @property
    def paired(self) -> bool | None:
        """False: the agent refused this kiosk's token (401); None: not known yet."""
        return self._paired

    @property
    def base_url(self) -> str | None:
        """The agent's URL: configured, or discovered (None until found)."""
        return self._url

    def _run(self) -> None:
        while not self._stop.is_set():
            if time.monotonic() >= self._next_prune:
                self.prune()
            url = self._ensure_url(self.discover_timeout)
            if url is not None:
                with self._deliver_lock:
                    self._deliver_round(url)
                self._deliver_display()
                if time.monotonic() >= self._next_refresh and not self._stop.is_set():
                    self.refresh()
                if time.monotonic() >= self._next_live and not self._stop.is_set():
                    self.refresh_live()
            if self._online and not self._outbox.count():
                wait = max(0.0, min(self._next_refresh, self._next_live) - time.monotonic())
            else:
                wait = min(self.interval_s, max(0.0, self._next_live - time.monotonic()))
            wait = max(wait, self._not_before - time.monotonic())  # the agent said: not before then
            self._wake.wait(wait)
            self._wake.clear()

    def _ensure_url(self, timeout: float) -> str | None:
        if self._url is None and self.discover and self._configured is None:
            found = discover_agents(timeout, self.zeroconf_interfaces, self._stop)
            for agent in found:
                if self.proves(agent):
                    log.info("found the edge agent %s at %s; it proved itself", agent.device_id, agent.url)
                    self._url = agent.url
                    break
            else:
                if found:
                    self._trouble(f"no edge agent here proved to be {self.agent_device_id or 'ours'}")
                else:
                    self._trouble(f"no edge agent announces {localapi.SERVICE_TYPE} here")
        return self._url

    def proves(self, agent: Found) -> bool:
        """Whether a discovered agent is the one this kiosk is paired with; nothing but a token-less
        ``GET /v1/healthz`` is sent to find out, and that only after the certificate matched."""
        why = ""
        if not self.agent_device_id:
            why = "kiosk.agent_device_id is not set, so no agent can prove itself (a2d edge kiosk add prints it)"
        elif agent.device_id and agent.device_id != self.agent_device_id:
            why = f"it announces the device {agent.device_id!r}"
        elif agent.scheme == "https" and not self.pin_sha256:
            why = "it speaks https and kiosk.agent_pin_sha256 is not set"
        elif agent.scheme == "http" and not is_loopback(agent.address):
            why = "it speaks plain http on the network (only an agent on this machine may)"
        else:
            req = urllib.request.Request(agent.url + localapi.PREFIX + "/healthz", method="GET")
            try:
                with self._opener.open(req, timeout=self.timeout) as resp:
                    doc = json.loads(resp.read(4096))
                if not isinstance(doc, dict) or doc.get("device_id") != self.agent_device_id:
                    why = "its /v1/healthz names another device"
            except ssl.SSLCertVerificationError:
                why = "its certificate does not match kiosk.agent_pin_sha256"
            except (urllib.error.URLError, OSError, HTTPException, ValueError) as exc:
                reason = getattr(exc, "reason", exc)
                why = (
                    "its certificate does not match kiosk.agent_pin_sha256"
                    if isinstance(reason, ssl.SSLCertVerificationError)
                    else f"it did not answer /v1/healthz ({reason})"
                )
        if why:
            self._once.failed(
                f"advert {agent.url}", "not taking the edge agent advertised at %s: %s", agent.url, why
            )
            return False
        self._once.recovered(f"advert {agent.url}", "the edge agent at %s proved itself", agent.url)
        return True

    # --- HTTP ----------------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> _Response:
        if time.monotonic() < self._not_before:
            raise _Later("the agent asked for a pause (429)")
        url = self._ensure_url(min(self.timeout, self.discover_timeout))
        if url is None:
            self._online = False
            raise _Unreachable("no edge agent found")
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        req = urllib.request.Request(url + localapi.PREFIX + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if self.token:
            req.add_header(localapi.AUTHORIZATION, f"Bearer {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                out = _Response(resp.status, dict(resp.headers.items()), resp.read(MAX_RESPONSE_BYTES))
        except urllib.error.HTTPError as exc:
            with exc:
                out = _Response(exc.code, dict(exc.headers.items()), exc.read(64 * 1024))
        except (urllib.error.URLError, OSError, HTTPException) as exc:
            self._set_online(False, str(getattr(exc, "reason", exc)))
            if self._configured is None:
                self._url = None  # a discovered agent may come back elsewhere: look again
            raise _Unreachable(str(exc)) from exc
        self._set_online(True)
        self._answered(out)
        return out

    def _answered(self, resp: _Response) -> None:
        """Note what an answer says about the pairing (401) and the pace (429)."""
        if resp.status == 401:
            if self._paired is not False:
                log.error(
                    "the edge agent refuses this kiosk's token: not paired (a2d edge kiosk add on the agent,"
                    " then kiosk.token); votes and help requests wait in the outbox"
                )
            self._paired = False
        elif 200 <= resp.status < 300 or resp.status == 304:
            if self._paired is False:
                log.info("the edge agent takes this kiosk's token again")
            self._paired = True
        if resp.status == 429:
            retry = _retry_after(resp.headers)
            self._not_before = time.monotonic() + retry
            self._once.failed("429", "the edge agent asks this kiosk to slow down (429); waiting %g s", retry)
        else:
            self._once.recovered("429", "the edge agent takes this kiosk's requests again")

    def _get_json(self, path: str) -> Any:
        """The JSON body of a 200 answer, else None (also when the agent is unreachable)."""
        try:
            resp = self._request("GET", path)
            return resp.json() if resp.status == 200 else None
        except (_Unreachable, ValueError):
            return None

    def _set_online(self, online: bool, why: str = "") -> None:
        if online and not self._online:
            log.info("edge agent at %s reachable", self._url)
            self._problem = ""
        elif not online and self._online:
            log.warning("edge agent at %s unreachable (%s); working offline", self._url, why)
            self._problem = "unreachable"
        elif not online:
            self._trouble(f"edge agent unreachable ({why})")
        self._online = online

    def _trouble(self, message: str) -> None:
        """Log a problem once, not on every retry."""
        if not self._problem:
            log.warning("%s; working offline", message)
            self._problem = message

    # --- content -------------------------------------------------------------------------------

    @property
    def content_source(self) -> str:
        """Where :meth:`content` came from: ``agent``, ``cache``, or ``none`` (no pack yet)."""
        self.content()
        return self._pack_source

    def content(self) -> ContentPack | None:
        """The newest pack known, without touching the network: the agent's or the cached one;
        ``None`` while this kiosk has never had one (it then shows "no content yet")."""
        with self._lock:
            if self._pack is None:
                self._pack = self._cached_pack()
                self._pack_source = "cache" if self._pack is not None else "none"
            return self._pack

    def _cached_pack(self) -> ContentPack | None:
        """The cached pack if its signed document checks out again (keys, target, hash)."""
        try:
            found = self._signed.cached_content()
        except (BundleError, ContentError) as exc:
            self._once.failed("cache", "ignoring the cached content pack: %s", exc)
            return None
        return None if found is None else found[1]

    def refresh(self) -> bool:
        """Ask the agent for its pack now (``If-None-Match``); True when a new pack was taken."""
        with self._refresh_lock:  # the background thread and a caller may refresh at the same time
            return self._refresh()

    def _refresh(self) -> bool:
        self._next_refresh = time.monotonic() + self.refresh_s
        with self._lock:
            have_cache = self._pack_source in ("agent", "cache") or self._cached_pack() is not None
        etag_path = self.cache_dir / ETAG_FILE
        headers = {}
        if have_cache and etag_path.exists():
            headers["If-None-Match"] = etag_path.read_text().strip()
        self._refresh_keys()
        try:
            resp = self._request("GET", "/content", headers=headers)
        except _Unreachable:
            return False
        if resp.status == 304:
            with self._lock:
                if self._pack is None:
                    self._pack = self._cached_pack()
                if self._pack is not None:
                    self._pack_source = "agent"
            return False
        if resp.status != 200:
            if resp.status != 404:
                self._trouble(f"the agent answered GET /v1/content with {resp.status}")
            return False
        try:
            bundle, pack = self._signed.accept_content(resp.data)
        except (BundleError, ContentError) as exc:
            self._once.failed(
                "content", "refused the agent's content (%s); the last good pack stays on screen", exc
            )
            return False
        self._once.recovered("content", "the agent's content checks out again")
        etag = resp.headers.get("ETag") or resp.headers.get("Etag") or ""
        if etag:
            _write_atomic(etag_path, etag.encode())
        elif etag_path.exists():
            etag_path.unlink()
        with self._lock:
            self._pack, self._pack_source = pack, "agent"
        log.info(
            "content pack %s of %s from the agent (bundle counter %d)",
            pack.version,
            pack.town,
            bundle.counter,
        )
        if self.on_content is not None:
            self.on_content(pack)
        return True

    def _refresh_keys(self) -> None:
        """Take the agent's ``keys`` bundle when it checks out with the keys trusted now."""
        try:
            resp = self._request("GET", "/keys")
        except _Unreachable:
            return
        if resp.status != 200:
            return
        try:
            bundle = self._signed.accept_keys(resp.data)
        except BundleError as exc:
            self._once.failed("keys", "refused the agent's keys bundle (%s)", exc)
            return
        self._once.recovered("keys", "the agent's keys bundle checks out again")
        log.debug("the agent's keys bundle %d checks out", bundle.counter)

    def transparency(self) -> list[TransparencyRecord]:
        """The agent's records (pack + its sensors); offline the pack's own records."""
        body = self._get_json("/transparency")
        if isinstance(body, dict) and isinstance(body.get("records"), list):
            records = []
            for i, raw in enumerate(body["records"]):
                try:
                    records.append(contentpack.parse_transparency(raw, f"records[{i}]"))
                except ContentError as exc:
                    self._trouble(f"skipping a transparency record from the agent: {exc}")
            if records:
                return records
        pack = self.content()
        return list(pack.transparency) if pack is not None else []

    # --- writes through the outbox -------------------------------------------------------------

    def vote(self, poll_id: str, choice: str, lang: str) -> str:
        """Keep one vote durably and return its id at once; it is delivered in the background."""
        vote = localapi.Vote(str(uuid.uuid4()), self.kiosk_id, poll_id, choice, utc_now(), lang)
        localapi.Vote.from_json(vote.as_json())  # the agent would refuse what fails here
        self._outbox.put("vote", vote.as_json())
        self._wake.set()
        return vote.id

    def help(self, topic: str = "") -> str:
        """Ask for a Lotse (``topic`` = a service id or empty); returns the request's id at once."""
        req = localapi.HelpRequest(str(uuid.uuid4()), self.kiosk_id, utc_now(), topic)
        localapi.HelpRequest.from_json(req.as_json())
        self._outbox.put("help", req.as_json())
        self._wake.set()
        return req.id

    def usage(self, report: localapi.UsageReport) -> None:
        """Keep a day's usage counters (:mod:`kiosk.usage`) durably; delivered in the background."""
        localapi.UsageReport.from_json(report.as_json())
        self._outbox.put("usage", report.as_json())
        self._wake.set()

    def display(self, report: localapi.DisplayReport) -> None:
        """Keep what the screen shows for the agent (:mod:`kiosk.displayproof`); returns at once.
        Only the latest report is kept, in memory: an older one is worth nothing once a newer exists."""
        localapi.DisplayReport.from_json(report.as_json())
        with self._lock:
            self._display = report
        self._wake.set()

    def _deliver_display(self) -> None:
        """Send the waiting display report; kept for the next round unless the agent took it (2xx)
        or refused it for good (4xx but 401 and 429)."""
        with self._lock:
            report = self._display
        if report is None or not self.send or self._stop.is_set():
            return
        try:
            resp = self._request("POST", "/display", report.as_json())
        except _Unreachable:
            return
        if resp.status in (401, 429) or resp.status >= 500:
            return
        if resp.status >= 300:
            self._once.failed("display", "the agent refused the display report: %s", _error_text(resp))
        else:
            self._once.recovered("display", "the agent takes display reports again")
        with self._lock:
            if self._display is report:
                self._display = None

    def prune(self) -> None:
        """Drop refused items after ``refused_days`` and anything older than the vote retention."""
        self._next_prune = time.monotonic() + PRUNE_S
        refused, undelivered = self._outbox.prune(self.refused_days)
        if refused:
            log.info("deleted %d refused item(s) from the outbox after %d days", refused, self.refused_days)
        if undelivered:
            log.warning(
                "deleted %d vote(s) or help request(s) the agent never took: older than the %d days"
                " promised for votes", undelivered, MAX_AGE_DAYS,
            )  # fmt: skip

    def pending(self) -> int:
        """Items in the outbox, not yet acknowledged by the agent."""
        return self._outbox.count()

    def flush(self, timeout: float) -> bool:
        """Try to deliver the outbox now, for at most ``timeout`` s; True when it is empty."""
        deadline = time.monotonic() + timeout
        idle = threading.Event()
        while True:
            url = self._ensure_url(max(0.1, min(self.discover_timeout, deadline - time.monotonic())))
            if url is not None:
                with self._deliver_lock:
                    self._deliver_round(url)
            if self._outbox.count() == 0:
                return True
            if time.monotonic() >= deadline or self._stop.is_set():
                return False
            idle.wait(min(0.1, max(0.0, deadline - time.monotonic())))

    def _deliver_round(self, url: str) -> None:
        """Send the waiting items in order until one fails; each leaves the outbox only on 2xx or 400."""
        while self.send and not self._stop.is_set():
            items = self._outbox.peek(50)
            if not items:
                return
            for item in items:
                path = _PATHS.get(item.kind, "/help")
                try:
                    resp = self._request("POST", path, item.body)
                except _Unreachable:
                    return
                if 200 <= resp.status < 300:
                    self._outbox.done(item.id)
                elif resp.status in (401, 429):  # not paired, or too fast: kept, sent later
                    self._outbox.failed(item.id, f"HTTP {resp.status}")
                    return
                elif resp.status in (400, 413, 422):
                    reason = _error_text(resp)
                    log.error(
                        "the agent refused %s %s (%s); set aside, not sent again", item.kind, item.id, reason
                    )
                    self._outbox.refuse(item.id, reason)
                else:
                    self._outbox.failed(item.id, f"HTTP {resp.status}")
                    self._trouble(f"the agent answered POST /v1{path} with {resp.status}")
                    return

    # --- queries -------------------------------------------------------------------------------

    def results(self, poll_id: str) -> dict[str, int] | None:
        """Counts per choice of a poll, or None when the agent cannot say."""
        body = self._get_json(f"/polls/{urllib.parse.quote(poll_id, safe='')}/results")
        if not isinstance(body, dict) or not isinstance(body.get("counts"), dict):
            return None
        try:
            return {str(k): int(v) for k, v in body["counts"].items()}
        except (TypeError, ValueError):
            return None

    def status(self) -> localapi.Status | None:
        body = self._get_json("/status")
        if not isinstance(body, dict):
            return None
        try:
            return localapi.Status.from_json(body)
        except (TypeError, ValueError):
            return None

    def help_requests(self, state: str = "open") -> list[dict[str, Any]]:
        """Help requests, newest first (``state``: open or all); [] when the agent is unreachable."""
        body = self._get_json(f"/help?state={urllib.parse.quote(state)}")
        if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
            return []
        return [r for r in body["requests"] if isinstance(r, dict)]

    def close_help(self, help_id: str) -> bool:
        if not self.send:
            return False
        try:
            resp = self._request("POST", f"/help/{urllib.parse.quote(help_id, safe='')}/close", {})
        except _Unreachable:
            return False
        return resp.status == 200

    def forecast(self) -> dict[str, Any] | None:
        body = self._get_json("/forecast")
        return body if isinstance(body, dict) else None

    # --- live questions ------------------------------------------------------------------------

    def live(self) -> list[LiveQuestion]:
        """The live questions open now, as the agent last listed them (no network: the background
        thread asks every ``live_s`` seconds). Kept while the agent is away; each closes on time."""
        now = datetime.now(UTC)
        with self._lock:
            return [q for q in self._live if q.is_open(now)]

    def refresh_live(self) -> bool:
        """Ask the agent for its live questions now (``If-None-Match``); True when they changed."""
        self._next_live = time.monotonic() + self.live_s
        headers = {"If-None-Match": self._live_etag} if self._live_etag else {}
        try:
            resp = self._request("GET", "/live", headers=headers)
        except _Unreachable:
            return False
        if resp.status != 200:
            return False
        try:
            body = resp.json()
            found = [LiveQuestion.from_json(q) for q in body["questions"]][: livewire.MAX_QUESTIONS]
        except (ValueError, TypeError, KeyError, LiveError) as exc:
            self._once.failed("live", "the agent's live questions cannot be read (%s)", exc)
            return False
        self._once.recovered("live", "the agent's live questions can be read again")
        with self._lock:
            changed = found != self._live
            self._live = found
            self._live_etag = next((v for k, v in resp.headers.items() if k.lower() == "etag"), "")
        if changed:
            log.info("live questions from the agent: %s", ", ".join(q.id for q in found) or "none")
        return changed

    # --- the wall's reads (kiosk/wall/feed.py) ---------------------------------------------------

    def results_doc(self, poll_id: str) -> dict[str, Any] | None:
        """The whole results answer of a poll or live question (``counts``, ``total`` and the town's
        ``town``), or None when the agent cannot say."""
        body = self._get_json(f"/polls/{urllib.parse.quote(poll_id, safe='')}/results")
        return body if isinstance(body, dict) else None


def _retry_after(headers: dict[str, str]) -> float:
    """``Retry-After`` in seconds (1 when missing or a date), at most :data:`MAX_RETRY_AFTER_S`."""
    text = next((v for k, v in headers.items() if k.lower() == "retry-after"), "1")
    try:
        return min(MAX_RETRY_AFTER_S, max(0.0, float(text)))
    except ValueError:
        return 1.0


def _error_text(resp: _Response) -> str:
    try:
        return str(resp.json().get("error", ""))[:300] or f"HTTP {resp.status}"
    except (ValueError, AttributeError):
        return f"HTTP {resp.status}"


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
