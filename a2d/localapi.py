"""The edge agent's local HTTP API for kiosks on the same Pi or the same office network.

HTTP/1.1 with JSON bodies (UTF-8), served by ``a2d edge run`` on ``[api] host:port`` (default
``127.0.0.1:8780``): plain HTTP when ``api.host`` is a loopback address, HTTPS with the agent's own
self-signed certificate otherwise (kiosks pin its SHA-256 fingerprint). Announced with zeroconf as
:data:`SERVICE_TYPE` with the TXT properties ``device_id``, ``api`` (= :data:`VERSION`) and
``scheme`` (``http`` or ``https``). The kiosk and the edge agent share nothing but this module, the
content-pack format (:mod:`a2d.contentpack`) and certificate pinning (:mod:`a2d.tlspin`).

**Pairing.** ``a2d edge kiosk add NAME`` gives a kiosk its ``kiosk_id`` and a token. Every route but
``GET /v1/healthz`` needs ``Authorization: Bearer <token>`` (``401`` with ``WWW-Authenticate:
Bearer`` without one, or for an unknown or revoked token). A request whose ``Host`` is not one of
the agent's own names or addresses is ``421``; a POST whose ``Content-Type`` is not
``application/json`` is ``415``; a kiosk sending more than its rate gets ``429`` with
``Retry-After`` (seconds). Votes and help requests are stored under the kiosk id of the token:
the body's ``kiosk_id`` is optional and ignored (a kiosk keeps items made before it was paired,
under its old demo id, in its outbox; refusing them would lose citizens' answers, while
overwriting makes the claim meaningless either way).

Every write is idempotent: the kiosk makes the ``id`` (a UUID) when the citizen taps, keeps the
item in its own outbox until the agent answered 2xx, and may send it again any number of
times; the agent stores it once and answers only after the commit.

``GET  /v1/healthz``
    ``200 {"ok": true, "device_id": "..."}``; no token needed (kiosks check the device id with it
    before they send their token to an agent they found).
``GET  /v1/content``
    ``200`` the current content pack (a JSON object, see :mod:`a2d.contentpack`) with an
    ``ETag``; ``If-None-Match`` gives ``304``; ``404 {"error": ...}`` when there is none.
``GET  /v1/transparency``
    ``200 {"records": [...]}``: the transparency records of the content pack (as in the pack;
    ``[]`` when there is no pack).
``POST /v1/feedback``
    body :class:`Vote` as JSON (``at`` an ISO 8601 time) → ``201 {"id": ..., "stored": true}``
    (``200`` for a repeat). ``400 {"error": ...}`` for a body that does not follow the shape
    (never retried by kiosks).
``GET  /v1/polls/{poll_id}/results``
    ``200 {"poll_id": ..., "counts": {"<choice>": n, ...}, "total": n, "labels": {"<choice>":
    {"de": ...}, ...}}``: the counted votes stored on this agent, the kiosks' and those of the
    feedback buttons the content pack maps to the poll (a button's presses inside its cooldown are
    kept but not counted); every choice of the pack's poll is listed, with 0 when it has no vote,
    and ``labels`` gives each choice's words from the pack (absent for a poll not in the pack).
``POST /v1/help``
    body :class:`HelpRequest` → ``201 {"id": ..., "stored": true}`` (``200`` for a repeat).
``GET  /v1/help?state=open|all``
    ``200 {"requests": [{"id", "kiosk_id", "topic", "at", "state", "closed_at"}, ...]}`` newest
    first (at most 200); ``state`` defaults to ``open``.
``POST /v1/help/{id}/close``
    ``200 {"id": ..., "state": "closed"}`` (also when it was closed already); ``404`` for an
    unknown id.
``GET  /v1/status``
    ``200`` :class:`Status` as JSON.
``GET  /v1/live``
    ``200 {"questions": [...], "updated_at": ...}``: the live questions open now for this agent's
    site (:class:`a2d.livewire.LiveQuestion` as JSON), with an ``ETag`` (``If-None-Match`` gives
    ``304``). ``GET /v1/polls/{poll_id}/results`` also holds ``"town"``: the town-wide counts
    (``{"counts", "total", "at"}``) as the agent last heard them from the server, or ``null``.
``GET  /v1/forecast``
    ``200`` the stored forecasts (see :mod:`a2d.forecastwire`), ``404 {"error": "no forecast
    yet"}`` when there is none.
``POST /v1/display``
    body :class:`DisplayReport`: what the kiosk's screen shows (page, frames drawn, a hash of
    the picture, when the hash last changed) → ``204``. The agent keeps the latest report of
    each kiosk (the token's) and forwards them with its heartbeat. ``400`` for a bad body.
``GET  /v1/display``
    ``200 {"displays": [{"kiosk_id", "page", "frames", "hash", "changed_at", "mode", "wall",
    "at", "reported_at"}, ...]}``: the latest report of each kiosk of this agent, newest first.

``POST /v1/usage``
    body :class:`UsageReport`: one kiosk's anonymous counters of one day (sessions started,
    screens shown, languages chosen) → ``201 {"id": ..., "stored": true}`` (``200`` for a
    repeat). The agent stores it as a record of the stream ``usage`` and syncs it like others.

Errors are ``{"error": "<one sentence>"}`` with a 4xx/5xx status: ``404`` for an unknown path,
``405`` (with ``Allow``) for a method the path does not take, ``413`` for a body over
:data:`MAX_BODY_BYTES`, ``503`` when a write could not be committed (send it again later).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

VERSION = "1"
SERVICE_TYPE = "_a2d-edge._tcp.local."
DEFAULT_PORT = 8780
MAX_BODY_BYTES = 64 * 1024
PREFIX = "/v1"
#: the header that carries a kiosk's token: ``Authorization: Bearer <token>``
AUTHORIZATION = "Authorization"
#: the zeroconf TXT property saying whether the API speaks ``http`` or ``https``
TXT_SCHEME = "scheme"


class LocalApiError(ValueError):
    """A body does not follow this API; the message names the field."""


def _text(body: dict[str, Any], key: str, *, required: bool = True, limit: int = 200) -> str:
    value = body.get(key, "")
    if not isinstance(value, str) or (required and not value) or len(value) > limit:
        raise LocalApiError(f"{key!r} must be a string of 1-{limit} characters")
    return value


@dataclass(frozen=True, slots=True)
class Vote:
    """One answer to one poll from one kiosk session; no personal data."""

    id: str
    kiosk_id: str
    poll_id: str
    choice: str
    at: str
    lang: str = "de"

    @classmethod
    def from_json(cls, body: Any) -> Vote:
        if not isinstance(body, dict):
            raise LocalApiError("the body must be a JSON object")
        return cls(
            id=_text(body, "id", limit=64),
            kiosk_id=_text(body, "kiosk_id", required=False, limit=64),
            poll_id=_text(body, "poll_id", limit=64),
            choice=_text(body, "choice", limit=64),
            at=_text(body, "at", limit=40),
            lang=_text(body, "lang", required=False, limit=8) or "de",
        )

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class HelpRequest:
    """A citizen asked for a Lotse at this kiosk; ``topic`` is a service id or empty."""

    id: str
    kiosk_id: str
    at: str
    topic: str = ""

    @classmethod
    def from_json(cls, body: Any) -> HelpRequest:
        if not isinstance(body, dict):
            raise LocalApiError("the body must be a JSON object")
        return cls(
            id=_text(body, "id", limit=64),
            kiosk_id=_text(body, "kiosk_id", required=False, limit=64),
            at=_text(body, "at", limit=40),
            topic=_text(body, "topic", required=False, limit=64),
        )

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Status:
    """What a Lotse needs to see about the agent behind this kiosk."""

    device_id: str
    online: bool  #: the last sync attempt reached the server (False without a sync server)
    last_sync: str | None  #: time of the last successful upload, ISO 8601 UTC
    pending: dict[str, int] = field(default_factory=dict)  #: outbox depth per stream ({} without sync)
    open_help_requests: int = 0
    version: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Status:
        return cls(
            device_id=str(body.get("device_id", "")),
            online=bool(body.get("online", False)),
            last_sync=body.get("last_sync"),
            pending={str(k): int(v) for k, v in dict(body.get("pending", {})).items()},
            open_help_requests=int(body.get("open_help_requests", 0)),
            version=str(body.get("version", "")),
        )


#: what a kiosk's screen may be doing, as the kiosk says (``night``: dimmed or blank on purpose)
DISPLAY_MODES = ("open", "closed", "night")
#: the picture hash: 1-64 lower-case hex digits
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class DisplayReport:
    """What a kiosk (or wall) really shows: ``POST /v1/display``. No picture, only its hash.

    ``frames`` counts frames drawn since the kiosk started; ``hash`` is a small hash of the picture
    on screen when ``at`` (see :mod:`kiosk.displayproof`); ``changed_at`` is when that hash last
    changed. ``mode`` is the kiosk's mode (:data:`DISPLAY_MODES`), ``wall`` whether it is a wall.
    """

    page: str
    frames: int
    hash: str
    changed_at: str
    at: str
    mode: str = "open"
    wall: bool = False

    @classmethod
    def from_json(cls, body: Any) -> DisplayReport:
        if not isinstance(body, dict):
            raise LocalApiError("the body must be a JSON object")
        frames = body.get("frames")
        if not isinstance(frames, int) or isinstance(frames, bool) or not 0 <= frames < 2**53:
            raise LocalApiError("'frames' must be a whole number from 0")
        digest = _text(body, "hash", limit=64)
        if not set(digest) <= _HEX:
            raise LocalApiError("'hash' must be lower-case hex digits")
        mode = body.get("mode", "open")
        if mode not in DISPLAY_MODES:
            raise LocalApiError(f"'mode' must be one of {', '.join(DISPLAY_MODES)}")
        wall = body.get("wall", False)
        if not isinstance(wall, bool):
            raise LocalApiError("'wall' must be true or false")
        page = _text(body, "page", limit=40)
        if not page.isprintable():
            raise LocalApiError("'page' must be printable text")
        return cls(
            page=page, frames=frames, hash=digest, changed_at=_text(body, "changed_at", limit=40),
            at=_text(body, "at", limit=40), mode=mode, wall=wall,
        )  # fmt: skip

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


#: usage counters: names (a screen, a language) are short slugs; a report holds at most this many
USAGE_MAX_NAMES = 40
USAGE_MAX_COUNT = 1_000_000
_USAGE_NAME = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")


def _counters(body: dict[str, Any], key: str) -> dict[str, int]:
    raw = body.get(key, {})
    if not isinstance(raw, dict) or len(raw) > USAGE_MAX_NAMES:
        raise LocalApiError(f"{key!r} must be an object of at most {USAGE_MAX_NAMES} counters")
    out: dict[str, int] = {}
    for name, n in raw.items():
        if not isinstance(name, str) or not 0 < len(name) <= 32 or not set(name) <= _USAGE_NAME:
            raise LocalApiError(f"{key!r}: {name!r:.40} is no short name (a-z, 0-9, _ and -)")
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= USAGE_MAX_COUNT:
            raise LocalApiError(f"{key!r}: the count of {name!r} must be a whole number 0-{USAGE_MAX_COUNT}")
        out[name] = n
    return out


@dataclass(frozen=True, slots=True)
class UsageReport:
    """A kiosk's anonymous counters of one day (the day in the town's time, ``YYYY-MM-DD``):
    counters only, nothing finer than the day, nothing about a visit or a citizen."""

    id: str
    kiosk_id: str
    day: str
    sessions: int
    screens: dict[str, int] = field(default_factory=dict)
    languages: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_json(cls, body: Any) -> UsageReport:
        if not isinstance(body, dict):
            raise LocalApiError("the body must be a JSON object")
        day = _text(body, "day", limit=10)
        try:
            if len(day) != 10 or date.fromisoformat(day).isoformat() != day:
                raise ValueError(day)
        except ValueError:
            raise LocalApiError("'day' must be a date YYYY-MM-DD") from None
        sessions = body.get("sessions", 0)
        if (
            isinstance(sessions, bool)
            or not isinstance(sessions, int)
            or not 0 <= sessions <= USAGE_MAX_COUNT
        ):
            raise LocalApiError(f"'sessions' must be a whole number 0-{USAGE_MAX_COUNT}")
        return cls(
            id=_text(body, "id", limit=64), kiosk_id=_text(body, "kiosk_id", required=False, limit=64),
            day=day, sessions=sessions, screens=_counters(body, "screens"),
            languages=_counters(body, "languages"),
        )  # fmt: skip

    def as_json(self) -> dict[str, Any]:
        return asdict(self)
