"""The ``[wall]`` settings of ``kiosk.toml`` (no Kivy here: the kiosk's config reads them first).

``docs/wall.md`` documents each one; a test checks that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from a2d.config import ConfigError, Setting

#: WCAG 2.2.2 asks that moving or auto-updating content can be paused; a wall has no input, so it
#: holds each view long enough to read it twice and never moves: at least this many seconds a view
MIN_VIEW_S = 10.0
#: the issue's promise: a vote at this site is on the wall within 5 s; reading more often than
#: once a second would only load the agent (its rate limit allows 5 requests a second per token)
POLL_RANGE_S = (1.0, 4.0)
#: the cross-fade between two views: slow, no movement, never a flash (WCAG 2.3.1)
MAX_FADE_S = 3.0
SECOND_LANGUAGE_CHOICES = ("", "none", "de", "fr", "en")

WALL_SETTINGS: tuple[Setting, ...] = (
    Setting("wall.view_s", 20.0, "seconds each wall view stays on screen before the next one fades in (at least 10)", float),
    Setting("wall.fade_s", 1.5, "seconds of the cross-fade between two wall views (0: none, at most 3)", float),
    Setting("wall.poll_s", 2.0, "seconds between the wall's reads of results and live questions from the agent (1-4)", float),
    Setting("wall.register_url", "", "https address of the town's public register for the wall's QR code (<server>/register); empty: the notice shows the pack's contact instead"),
    Setting("wall.second_language", "", "language of the wall's second line under each text: empty: the pack's first other screen language; none: no second line", choices=SECOND_LANGUAGE_CHOICES),
)  # fmt: skip


@dataclass(frozen=True)
class WallSettings:
    view_s: float = 20.0
    fade_s: float = 1.5
    poll_s: float = 2.0
    register_url: str = ""
    second_language: str = ""

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> WallSettings:
        """From the resolved settings of :func:`kiosk.config.parse` (``cfg.raw``)."""
        w = raw.get("wall", {})
        return cls(
            view_s=float(w.get("view_s", 20.0)),
            fade_s=float(w.get("fade_s", 1.5)),
            poll_s=float(w.get("poll_s", 2.0)),
            register_url=str(w.get("register_url", "")).strip(),
            second_language=str(w.get("second_language", "")),
        )


def check_wall(wall: Mapping[str, Any], where: str) -> None:
    """Refuse values that would break the wall's promises (readable, calm, within 5 s)."""
    if wall["view_s"] < MIN_VIEW_S:
        raise ConfigError(f"{where}: wall.view_s must be at least {MIN_VIEW_S:g} s, not {wall['view_s']:g}")
    if not 0 <= wall["fade_s"] <= MAX_FADE_S:
        raise ConfigError(f"{where}: wall.fade_s must be 0-{MAX_FADE_S:g} s, not {wall['fade_s']:g}")
    lo, hi = POLL_RANGE_S
    if not lo <= wall["poll_s"] <= hi:
        raise ConfigError(f"{where}: wall.poll_s must be {lo:g}-{hi:g} s, not {wall['poll_s']:g}")
    url = wall["register_url"].strip()
    if url:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname or any(c.isspace() for c in url) or len(url) > 300:
            raise ConfigError(f"{where}: wall.register_url must be an https:// address, not {url!r:.80}")


def register_url(server_url: str) -> str:
    """The public register's address on the town's server (what provisioning writes for a wall)."""
    return server_url.rstrip("/") + "/register"
