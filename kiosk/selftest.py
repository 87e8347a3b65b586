"""``a2d kiosk --selftest OUT_DIR``: every screen in every language and both themes, as PNG files.

Renders with the real app (Kivy, offscreen when there is no display) with an agent client that
reads the configured agent (if any) but never sends to it, or with the fake agent
(``--fake-agent``), in a throw-away cache directory, so a selftest never touches a kiosk's outbox
nor the town's data. The screens show the agent's content pack; without one, the pack the selftest
is given (``a2d kiosk --selftest`` without ``--config``: the demo pack); without either, the "no
content yet" page is all there is to render. For each
screenshot ``report.json`` holds what a reviewer checks: the smallest touch target in dp, the
lowest contrast ratio of any text drawn, labels that do not fit their box, and the text
"Vorlesen" would speak.

Time stands still in a selftest: every screen shows the kiosk as it is at one moment, ``at`` (``a2d
kiosk --selftest OUT --at 2026-06-07T12:00:00+02:00``), by its site's opening hours; without
``--at``, :data:`DEFAULT_AT`, a Tuesday morning when the demo's Bürgerbüro is open. ``report.json``
says ``"mode"``: ``open`` or ``closed`` (after hours: no "Hilfe holen", the notice when the office
is back). The night screen's backlight is a :class:`kiosk.backlight.FakeBacklight`: a selftest never
dims the machine's screen. Lotsen mode, when the configuration has it, is unlocked with a PIN of
the selftest's own (its hash replaces ``pin_hash`` in the throw-away copy of the configuration), so
the Lotsen view shows what a Lotse sees: the agent's status and its open help requests.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from a2d import claimwire

from .config import KioskConfig
from .controller import Page

if TYPE_CHECKING:
    from a2d.contentpack import ContentPack

    from .app import Kiosk
    from .ports import Agent

log = logging.getLogger(__name__)

#: (shot name, page, params); "prompt" is the idle prompt over the home screen, "thanks" a vote's thanks
SCREENS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("attract", "attract", {}),
    ("home", "home", {}),
    ("forecast", "home", {}),  # the home screen scrolled to the "Wann ist es voll?" chart
    ("service", "service", {}),
    ("poll-smiley", "feedback", {"index": 0}),
    ("poll-choice", "feedback", {"index": 1}),
    ("thanks", "thanks", {}),
    ("transparency", "transparency", {}),
    ("help", "help", {}),
    ("settings", "settings", {}),
    ("prompt", "prompt", {}),
    ("wiped", "wiped", {}),
    ("lotsen-pin", "lotsen_pin", {}),
    ("lotsen", "lotsen", {}),
    ("claim", "claim", {}),
)
#: what a kiosk without a content pack shows (every page is this one, and the claim code)
NO_CONTENT: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("nocontent", "nocontent", {}),
    ("claim", "claim", {}),
)
#: the moment a selftest without ``--at`` shows: a Tuesday morning, the demo's Bürgerbüro is open
DEFAULT_AT = datetime.fromisoformat("2026-06-09T10:00:00+02:00")
#: how long one query of the selftest's agent client may take (a busy agent, e.g. in ``a2d demo``)
CLIENT_TIMEOUT_S = 5.0
#: the Lotsen PIN of the selftest's copy of a configuration with Lotsen mode (never a kiosk's own)
SELFTEST_PIN = "90817263"
#: the claim notice the "claim" shot shows (a made-up code and serial)
SAMPLE_CLAIM = claimwire.ClaimNotice("493027", "10000000a1b2c3d4")
_PAGES = {shot: (page, params) for shot, page, params in SCREENS + NO_CONTENT}
#: extra shots (normal theme): every screen in Leichte Sprache but the attract screen (which shows
#: German, French and English only), and large text
EXTRA: tuple[tuple[str, str, bool], ...] = (
    *((shot, "ls", False) for shot, _page, _params in SCREENS if shot != "attract"),
    ("home", "de", True),
    ("service", "de", True),
    ("poll-choice", "fr", True),
    ("transparency", "de", True),
    ("settings", "en", True),
    ("prompt", "de", True),
    ("poll-smiley", "de", True),
    ("lotsen", "fr", True),
)


def run(
    cfg: KioskConfig,
    out_dir: Path,
    pack: ContentPack | None = None,
    *,
    agent: Agent | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Render everything into ``out_dir`` and return the report (also written as report.json).

    ``pack`` is shown when the agent serves none (the demo pack when run as the demo).
    ``agent``: the agent client to read from (``--fake-agent``: a :class:`kiosk.fakeagent.FakeAgent`);
    None reads the configured agent, if any, and never sends it anything. ``at``: the moment shown
    (:data:`DEFAULT_AT` when None; a time without a zone is the site's local time)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="a2d-kiosk-selftest-"))
    try:
        # the claim shot shows a sample notice, never the machine's own (claim_file)
        cfg = dataclasses.replace(cfg, cache_dir=tmp, lotsen_log=tmp / "lotsen.log", claim_file=None)
        if cfg.pin_hash and not cfg.demo:  # a kiosk's own PIN is not known here: one of our own
            from .lotsen import hash_pin

            cfg = dataclasses.replace(cfg, pin_hash=hash_pin(SELFTEST_PIN))
        return _run(cfg, out_dir, pack, agent, at)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run(
    cfg: KioskConfig, out_dir: Path, pack: ContentPack | None, agent: Agent | None, at: datetime | None
) -> dict[str, Any]:
    from kivy.base import EventLoop
    from kivy.core.window import Window

    from .app import Kiosk
    from .backlight import FakeBacklight
    from .measure import measure

    EventLoop.ensure_window()
    Window.size = (cfg.width, cfg.height)
    moment = at if at is not None else DEFAULT_AT
    kiosk = Kiosk(cfg, pack=pack, wall_clock=lambda: _aware(moment, kiosk), backlight=FakeBacklight())
    ctl = kiosk.ctl
    Window.add_widget(kiosk.root)
    if agent is None:
        from .client import AgentClient

        # reads the agent's content, never sends it the selftest's votes, help requests or closings
        client = AgentClient.from_config(cfg, discover=False, timeout=CLIENT_TIMEOUT_S, send=False)
        client.refresh()
        agent = client
    ctl.go(Page.ATTRACT)
    _pump()
    kiosk.after_first_frame(agent, report=False)  # its screens are no screen in a hall
    _settle(kiosk)  # the site's hours are read on the worker
    ctl.check_hours()
    forecast_from = "agent"
    if agent.forecast() is None:
        ctl.sample_forecast, forecast_from = sample_forecast(), "sample"
    shown = ctl.content()
    # where the screens' content comes from: the agent (or the fake one), the pack run() was given
    # (the demo), or none
    content = "agent" if agent.content() is not None else "demo" if shown is not None else "none"
    report: dict[str, Any] = {"window": list(Window.size), "pack": shown.town if shown else None,
                              "content": content, "forecast": forecast_from, **_moment(ctl, at is None),
                              "screens": {}}  # fmt: skip
    started = time.monotonic()
    try:
        for shot, lang, large, high in _plan(shown.languages if shown else None):
            name = f"{shot}-{lang}-{'high_contrast' if high else 'normal'}{'-large' if large else ''}"
            spoken = _stage(kiosk, shot, lang, large, high)
            png = out_dir / f"{name}.png"
            kiosk.root.export_to_png(str(png))
            entry = measure(kiosk.root, Window.size)
            entry.update({"png": png.name, "language": lang, "theme": "high_contrast" if high else "normal",
                          "large_text": large, "spoken": spoken})  # fmt: skip
            report["screens"][name] = entry
    finally:
        Window.remove_widget(kiosk.root)
        kiosk.stop()
    screens = report["screens"].values()
    report["summary"] = {
        "screenshots": len(report["screens"]),
        "smallest_target_dp": min(
            (s["min_target_dp"] for s in screens if s["min_target_dp"] is not None), default=None
        ),  # None: no button anywhere (a kiosk without content)
        "lowest_contrast": min(s["min_contrast"] for s in screens),
        "clipped_labels": sum(len(s["clipped"]) for s in screens),
        "broken_words": sorted({w for s in screens for w in s["broken_words"]}),
        "seconds": round(time.monotonic() - started, 1),
    }
    (out_dir / "report.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return report


def _plan(languages: tuple[str, ...] | None) -> Iterator[tuple[str, str, bool, bool]]:
    """Every shot; ``languages`` of the pack, ``None`` for a kiosk without one (only "nocontent")."""
    for high in (False, True):
        for lang in ("de", "fr", "en"):
            for shot, _page, _params in SCREENS if languages is not None else NO_CONTENT:
                yield shot, lang, False, high
    if languages is None:
        return
    for shot, lang, large in EXTRA:
        if lang in ("de", "fr", "en") or lang in languages:
            yield shot, lang, large, False


def _aware(moment: datetime, kiosk: Kiosk) -> datetime:
    """``moment`` with a zone: a naive one is the site's local time."""
    return kiosk.ctl.schedule.local(moment) if moment.tzinfo is None else moment


def _moment(ctl: Any, default: bool) -> dict[str, Any]:
    """What report.json says about the moment shown: when, which site, open or closed."""
    now = ctl.now()
    reopens = ctl.schedule.reopens(now)
    return {"at": now.isoformat(), "at_default": default, "site": ctl.schedule.site or None,
            "mode": ctl.mode.value, "reopens": None if reopens is None else reopens.isoformat(),
            "screen": ctl.schedule.screen(now).value}  # fmt: skip


def _pump(frames: int = 6) -> None:
    from kivy.base import EventLoop

    for _ in range(frames):
        EventLoop.idle()


def _stage(kiosk: Kiosk, shot: str, lang: str, large: bool, high: bool) -> str:
    """Put the kiosk into the state of one screenshot; returns what Vorlesen would say there."""
    ctl = kiosk.ctl
    ctl.claim_changed(SAMPLE_CLAIM if shot == "claim" else None, speak=False)
    ctl.session.wipe()
    ctl.keep_going()
    ctl.session.touch()
    visit = ctl.session.visit
    visit.lang, visit.large_text, visit.high_contrast = lang, large, high
    page, params = _PAGES[shot][0], dict(_PAGES[shot][1])
    spoken = ""
    if page == "attract":
        params["index"] = ("de", "fr", "en").index(lang) if lang in ("de", "fr", "en") else 0
    if page == "service":
        params["service"] = ctl.pack.services[0].id
    if page == "thanks":
        poll = ctl.pack.polls[0]
        ctl.go(Page.FEEDBACK, index=0)
        ctl.vote(poll.id, poll.choices[-1].id)
        _settle(kiosk)
    elif page == "prompt":
        ctl.go(Page.HOME)
        _pump(2)
        ctl.ask_more_time()
        spoken = ctl.prompt_spoken()
    elif page == "lotsen" and ctl.lock is not None:
        from .config import DEMO_PIN

        ctl.go(Page.LOTSEN_PIN)
        ctl.lotsen_unlock(DEMO_PIN if ctl.cfg.demo else SELFTEST_PIN)
        _settle(kiosk)
    elif page != "claim":  # claim_changed showed it
        ctl.go(page, **params)
    _pump()
    if shot == "forecast":
        for _ in range(2):  # once more after the texts found their heights
            spoken = _scroll_to(kiosk.root, "forecast-chart")
            _pump()
    return spoken or ctl.spoken


def _settle(kiosk: Kiosk) -> None:
    """Let the worker finish its queries and their results reach the page."""
    if kiosk.worker is not None:
        kiosk.worker.idle(5)
    _pump(2)


def _scroll_to(root: Any, name: str) -> str:
    """Scroll the widget named ``name`` into view; what Vorlesen says about it ("" if it is not shown)."""
    from kivy.uix.scrollview import ScrollView

    stack = [root]
    while stack:
        w = stack.pop()
        if getattr(w, "name", None) == name:
            parent = w.parent
            while parent is not None and not isinstance(parent, ScrollView):
                parent = parent.parent
            if parent is not None:
                parent.scroll_to(w, padding=20, animate=False)
            return str(getattr(w, "spoken", ""))
        stack.extend(w.children)
    return ""


def sample_forecast() -> dict[str, Any]:
    """A made-up forecast for today, marked as a sample, that the chart shows ONLY in the selftest
    when no agent has a forecast: a typical day at 9:30 with its busy hours around noon.

    Its ``today`` is what an agent says about this curve at 9:30 with a busy threshold of 330
    (tests check it against the agent's own summary): busy from 11 until 14, busiest at 12.
    """
    from datetime import UTC, datetime

    from a2d import forecastwire, hourgrid

    tz = "Europe/Berlin"
    z = hourgrid.zone(tz)
    day = datetime.now(UTC).astimezone(z).date()
    midnight = hourgrid.epoch_hour(datetime(day.year, day.month, day.day, tzinfo=z))
    now = datetime(day.year, day.month, day.day, 9, 30, tzinfo=z).astimezone(UTC)
    hours = []
    for i in range(24):
        ts, local = forecastwire.hour_stamps(midnight + i, tz)
        p50 = _sample_p50(datetime.fromisoformat(local).hour)
        hours.append(forecastwire.HourForecast(ts, local, p50 * 0.75, p50, p50 * 1.3))
    today = {"date": day.isoformat(), "now_local_hour": 9, "chart_hours": [8, 20], "busy_from_local_hour": 11,
             "busy_until_local_hour": 14, "busy_earlier": False, "peak_local_hour": 12,
             "peak_p50": round(_sample_p50(12), 2)}  # fmt: skip
    doc = forecastwire.forecast_doc(
        series="sample", location="", tz=tz, generated_at=now.isoformat(), origin=hours[0].ts,
        model_version="sample", model_type="gradient boosting", trained_at="",
        transparency={"record": "besucherprognose", "inputs": ["counts", "calendar"], "personal_data": "none",
                      "accountable": "the town"},
        busy_threshold=330.0, nowcast={"factor": 1.0}, hours=hours, today=today,
    )  # fmt: skip
    doc["sample"] = True
    return doc


def _sample_p50(hour: int) -> float:
    """The sample's people per local hour: a peak at noon and a smaller one at 17:00."""
    from math import exp

    return 15 + 380 * exp(-((hour - 12) ** 2) / 6) + 260 * exp(-((hour - 17) ** 2) / 5)
