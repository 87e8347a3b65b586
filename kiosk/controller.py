"""The kiosk without its window: which page shows, the visit, speech, Lotsen, votes and help.

:class:`Controller` holds every decision the kiosk makes and imports no Kivy. It is given a
:class:`~kiosk.ports.Display` (what shows its state), and, after the first frame, an
:class:`~kiosk.ports.Agent` and a :class:`~kiosk.ports.Runner` (:meth:`Controller.attach`).
The screens call its actions (``ui.act.go(...)``, ``ui.act.vote(...)``) and read its state; the
Kivy app calls :meth:`Controller.tick` twice a second. In a Python shell, with no window and no
agent::

    from devtools.demopack import demo_pack
    from kiosk.config import load as load_config
    from kiosk.controller import Controller, Page
    from kiosk.fakeagent import FakeAgent
    from kiosk.ports import Inline

    agent = FakeAgent(demo_pack())
    ctl = Controller(load_config(None))
    ctl.attach(agent, Inline())
    ctl.start(lang="fr")
    ctl.go(Page.FEEDBACK, index=0)
    ctl.vote("zufriedenheit", "5")   # ctl.page, ctl.params: the thanks, with agent.results(...)

Navigation: every page but the attract and wiped screens and the two Lotsen pages goes into the
history that "Zurück" walks back (at most :data:`HISTORY` pages); the attract and wiped screens
start a new history. The visit itself (language, text size, contrast, votes, help) is
:class:`kiosk.session.Session`'s; the wipe forgets it and this class puts the rest back
(speech, volume, Lotsen, the history).

Content: the pack comes from the agent client (the agent's, or the one it cached), else it is the
one the controller was given (the demo pack, only when the kiosk runs as the demo; never a
silent fallback). The first frame's attract screen is drawn before the pack is read and without
the town's name (its label is filled in once read, no rebuild). A kiosk whose client has no pack
shows :attr:`Page.NOCONTENT` instead of every page, takes no touch as the start of a visit, and
goes to the attract screen when a pack arrives.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from a2d import claimwire
from a2d.contentpack import ContentPack, Poll, TransparencyRecord
from a2d.livewire import LiveQuestion

from .config import KioskConfig
from .i18n import Translator
from .opening import ALWAYS, Mode, ScreenState, SiteSchedule
from .ports import Display, NoDisplay
from .session import Phase, Session
from .usage import UsageCounter
from .views import as_poll, idle_prompt

if TYPE_CHECKING:
    from .afterhours import ClosedNotice
    from .lotsen import LotsenLock
    from .ports import Agent, Backlight, Runner, Voice

log = logging.getLogger(__name__)

#: pages "Zurück" can go back through
HISTORY = 20


class Page(StrEnum):
    """Every page the kiosk shows (the screens in ``kiosk/screens/`` have the same names)."""

    ATTRACT = "attract"
    WIPED = "wiped"
    HOME = "home"
    SERVICE = "service"
    FEEDBACK = "feedback"
    TRANSPARENCY = "transparency"
    HELP = "help"
    SETTINGS = "settings"
    LOTSEN_PIN = "lotsen_pin"
    LOTSEN = "lotsen"
    #: "no content yet": the kiosk has no content pack (its agent served none, none is cached)
    NOCONTENT = "nocontent"
    #: the device waits to be claimed: its code and serial, full screen (``kiosk.claim_file``)
    CLAIM = "claim"

    @property
    def chrome(self) -> bool:
        """Shown under the header bar (Zurück, Start, languages, Vorlesen, Einstellungen)."""
        return self not in (Page.ATTRACT, Page.WIPED, Page.NOCONTENT, Page.CLAIM)

    @property
    def in_history(self) -> bool:
        """A visit may come back here with "Zurück" (never to the PIN pad or the staff view)."""
        return self not in (
            Page.ATTRACT,
            Page.WIPED,
            Page.LOTSEN_PIN,
            Page.LOTSEN,
            Page.NOCONTENT,
            Page.CLAIM,
        )

    @property
    def shows_content(self) -> bool:
        """Drawn from the content pack: rebuilt when a new pack arrives."""
        return self in (Page.HOME, Page.SERVICE, Page.FEEDBACK, Page.TRANSPARENCY)


class Controller:
    """Navigation, the visit, and every action a screen can ask for; see the module docstring."""

    def __init__(
        self,
        cfg: KioskConfig,
        *,
        pack: ContentPack | None = None,
        clock: Callable[[], float] = time.monotonic,
        display: Display | None = None,
        speech_dir: Path | None = None,
        wall_clock: Callable[[], datetime] | None = None,
        backlight: Backlight | None = None,
    ) -> None:
        self.cfg = cfg
        self.session = Session(cfg.default_language, idle_s=cfg.idle_s, prompt_s=cfg.prompt_s, clock=clock)
        self.translator = Translator(cfg.default_language, cfg.cache_dir)
        self.display: Display = display if display is not None else NoDisplay()
        self.client: Agent | None = None
        self.runner: Runner | None = None
        self.speaker: Voice | None = None
        self.lock: LotsenLock | None = None
        self.speech_dir = speech_dir
        self.page = Page.ATTRACT
        self.params: dict[str, Any] = {}
        self.history: list[tuple[Page, dict[str, Any]]] = []
        #: what "Vorlesen" reads on the page shown (the display says), and what was read last
        self.spoken = ""
        self.last_spoken = ""
        #: the idle prompt is on screen
        self.prompting = False
        #: what the chart shows while the agent has no forecast: only the selftest sets it (a marked sample)
        self.sample_forecast: dict[str, Any] | None = None
        self.records: list[TransparencyRecord] | None = None
        self.forecast: dict[str, Any] | None = None
        self._clock = clock
        self._pack = pack
        self._lotsen: dict[str, Any] = {}
        self._speaking_shown = False
        self._shown = 0  # counts the pages shown (a refresh is no new page)
        #: the claim notice on screen (None: the device is not waiting to be claimed)
        self.claim: claimwire.ClaimNotice | None = None
        self._claim_reading = False
        #: the live questions open now, as the agent client last heard (see :meth:`check_live`)
        self.live: list[LiveQuestion] = []
        #: the time of day (``clock`` is monotonic and cannot tell it): office hours, night screen
        self.wall_clock: Callable[[], datetime] = wall_clock or _utc_now
        #: the site's hours and nights (:mod:`kiosk.opening`), read from the pack off the screen's thread
        self.schedule: SiteSchedule = ALWAYS
        #: anonymous counters per day (:mod:`kiosk.usage`), by the site's calendar
        self.usage = UsageCounter(cfg.kiosk_id, lambda: self.schedule.local(self.now()).date())
        self.mode = Mode.OPEN
        self.backlight = backlight
        #: what the backlight was last asked to show (None: not yet)
        self.lit: ScreenState | None = None

    # --- start and stop ------------------------------------------------------------------------

    @property
    def pack(self) -> ContentPack:
        """The pack on screen; only pages shown while there is one read it (see :meth:`content`)."""
        pack = self.content()
        if pack is None:
            raise LookupError("the kiosk has no content pack yet")
        return pack

    def content(self) -> ContentPack | None:
        """The agent's or the cached pack, else the one the controller was given (the demo pack
        when the kiosk runs as the demo); ``None``: no content yet."""
        if self._pack is None and self.client is not None:
            self._pack = self.client.content()
        return self._pack

    def attach(
        self, client: Agent, runner: Runner, *, speaker: Voice | None = None, lock: LotsenLock | None = None
    ) -> None:
        """Everything the attract screen did not need: the agent, the runner, speech and the Lotsen
        lock (made from the config unless given). The controller owns ``client`` from now on."""
        self.client, self.runner = client, runner
        client.on_content = lambda pack: runner.call_soon(lambda: self.content_changed(pack))
        self._pack = client.content() or self._pack  # the agent's or the cached pack wins
        if speaker is None:
            from .speech import Speaker

            speaker = Speaker(
                enabled=self.cfg.speech, volume_default=self.cfg.volume, wav_dir=self.speech_dir
            )
        self.speaker = speaker
        if lock is None and self.cfg.pin_hash:
            from .lotsen import STATE_FILE, LotsenLock

            lock = LotsenLock(
                self.cfg.pin_hash,
                session_s=self.cfg.lotsen_session_s,
                log_path=self.cfg.lotsen_log,
                clock=self._clock,
                state_path=self.cfg.cache_dir / STATE_FILE,
            )
        self.lock = lock
        if self.page is Page.ATTRACT and self.content() is None:
            self._show(Page.NOCONTENT, {}, speak=False)  # the first frame's attract screen: say so
        elif self.page is Page.NOCONTENT and self.content() is not None:
            self._show(Page.ATTRACT, {}, speak=False)  # touched before the cached pack was read
        self.load_schedule()
        self.refresh_background()

    def stop(self) -> None:
        """End a Lotsen session, stop speech and the agent client (stop the runner first)."""
        if self.lock is not None and self.lock.active:
            self.lock.end("exit")
        if self.speaker is not None:
            self.speaker.close()
        if self.client is not None:
            for report in self.usage.everything():
                self.client.usage(report)
            self.client.stop()

    def refresh_background(self) -> None:
        """Ask the agent for its transparency records and forecast (the app: every 30 s)."""
        client, runner = self.client, self.runner
        if client is None or runner is None:
            return

        def fetch() -> tuple[list[TransparencyRecord], dict[str, Any] | None]:
            return client.transparency(), client.forecast()

        def done(result: tuple[list[TransparencyRecord], dict[str, Any] | None]) -> None:
            records, forecast = result
            changed = (forecast is None) != (self.forecast is None)
            self.records, self.forecast = records, forecast
            if changed and self.page is Page.HOME:
                self.refresh()

        runner.submit(fetch, done)

    def content_changed(self, pack: ContentPack) -> None:
        """A new content pack: redraw a page made from it; a service that is gone leads home; a
        kiosk that had none goes to the attract screen."""
        self._pack = pack
        self.load_schedule()
        if self.page is Page.NOCONTENT:
            self._show(Page.ATTRACT, {}, speak=False)
            return
        if not self.page.shows_content:
            return
        if self.page is Page.SERVICE and pack.service(str(self.params.get("service", ""))) is None:
            self._show(Page.HOME, {})
        else:
            self.refresh()

    # --- what screens read ---------------------------------------------------------------------

    def text_in(self, msgid: str, lang: str) -> str:
        return self.translator.text(msgid, lang)

    def town(self) -> str:
        """The pack's town; "" on the first frame of a kiosk whose pack is read after it."""
        pack = self.content()
        return pack.town if pack is not None else ""

    def transparency_records(self) -> list[TransparencyRecord]:
        return self.records if self.records is not None else list(self.pack.transparency)

    def forecast_data(self) -> dict[str, Any] | None:
        return self.forecast if self.forecast is not None else self.sample_forecast

    def speech_available(self) -> bool:
        return self.cfg.speech

    def lotsen_available(self) -> bool:
        return bool(self.cfg.pin_hash)

    def volume(self) -> int:
        return self.speaker.volume if self.speaker is not None else self.cfg.volume

    @property
    def can_go_back(self) -> bool:
        return bool(self.history)

    def prompt_left(self) -> float:
        return self.session.prompt_left()

    # --- navigation ----------------------------------------------------------------------------

    def go(self, page: Page | str, **params: Any) -> None:
        page = Page(page)
        if self.page.in_history and (self.page, self.params) != (page, params):
            self.history.append((self.page, dict(self.params)))
            del self.history[:-HISTORY]
        self._show(page, params)

    def back(self) -> None:
        while self.history:
            page, params = self.history.pop()
            if page.in_history:
                self._show(page, params)
                return
        self._show(Page.HOME, {})

    def refresh(self, **params: Any) -> None:
        """Show the current page again (language, text size or contrast changed, new data arrived)."""
        self._show(self.page, {**self.params, **params}, speak=False, again=True)

    def _show(self, page: Page, params: dict[str, Any], speak: bool = True, again: bool = False) -> None:
        if self.claim is not None or page is Page.CLAIM:
            if self.claim is None or page is not Page.CLAIM:
                return  # while the device waits to be claimed, its code is all the kiosk shows
            params = self._claim_params()
        elif self.content() is None and (self.client is not None or page is not Page.ATTRACT):
            page, params = Page.NOCONTENT, {}  # nothing to show yet (the first frame may be attract)
        elif page is Page.SERVICE and self.pack.service(str(params.get("service", ""))) is None:
            page, params = Page.HOME, {}  # the content changed under the visit
        self.stop_speaking()
        self.page, self.params = page, params
        self.session.visit.screen = page.value
        if not again:
            self._shown += 1
            self.usage.screen(page.value)
        if page in (Page.ATTRACT, Page.WIPED):
            self.history.clear()
        self.translator.lang = self.session.lang
        self.spoken = self.display.show(page, params)
        self._speaking_shown = False
        if page is Page.CLAIM:
            if speak and self.cfg.speech:  # nobody can ask for Vorlesen here: say it when it shows
                self.read(self.spoken)
        elif speak and self.session.visit.read_aloud:
            self.read(self.spoken)

    # --- the zero-touch claim ------------------------------------------------------------------

    def _claim_params(self) -> dict[str, Any]:
        assert self.claim is not None
        return {"code": self.claim.code, "serial": self.claim.serial, "locked_until": self.claim.locked_until}

    def check_claim(self) -> None:
        """Read ``kiosk.claim_file`` on the runner (a file, so not on the screen's thread); called
        every tick. The claim page shows while the file is there and goes when it is gone."""
        path, runner = self.cfg.claim_file, self.runner
        if path is None or runner is None or self._claim_reading:
            return
        self._claim_reading = True

        def read() -> claimwire.ClaimNotice | None:
            try:
                return claimwire.read(path)
            except (OSError, claimwire.NoticeError) as exc:
                log.debug("claim notice %s unreadable: %s", path, exc)
                return None

        def done(notice: claimwire.ClaimNotice | None) -> None:
            self._claim_reading = False
            self.claim_changed(notice)

        runner.submit(read, done)

    def claim_changed(self, notice: claimwire.ClaimNotice | None, *, speak: bool = True) -> None:
        """Show the claim page (again when its notice changed; read aloud when it is new and speech
        is on, unless ``speak`` is False), or leave it when the notice is gone."""
        if notice == self.claim:
            return
        was, self.claim = self.claim, notice
        if notice is not None:
            if was is None:
                log.info("the device waits to be claimed: showing its code")
                self.prompting = False
                self.display.prompt(None)
                self.history.clear()
            self._show(Page.CLAIM, {}, speak=speak and (was is None or was.code != notice.code))
        elif self.page is Page.CLAIM:
            log.info("the claim notice is gone: back to the kiosk's pages")
            self._show(Page.ATTRACT, {}, speak=False)

    # --- touches and time ----------------------------------------------------------------------

    def user_touch(self) -> bool:
        """Every touch lands here first; True swallows it (the touch that ends the idle prompt, and
        every touch while there is no content or the claim code shows: no visit begins, so no idle
        prompt follows)."""
        if self.content() is None or self.claim is not None:
            return True
        was = self.session.phase
        self.session.touch()
        if self.lit is ScreenState.OFF and self.backlight is not None:
            self._light(ScreenState.ON)  # a blank screen wakes for this visit; the touch only wakes it
            return True
        if was is Phase.PROMPT:
            self.keep_going()
            return True
        return False

    def tapped(self, name: str) -> None:
        """A button was pressed: speech stops on user action (except the Vorlesen button itself)."""
        if name != "vorlesen":
            self.stop_speaking()

    # --- live questions --------------------------------------------------------------------------

    def check_live(self) -> None:
        """Every tick: take the client's live questions (in memory, no network); when they changed,
        the home screen is drawn again so an open question shows (or a closed one goes)."""
        if self.client is None:
            return
        found = self.client.live()
        if found == self.live:
            return
        self.live = found
        if self.page is Page.HOME and not self.prompting:
            self.refresh()

    def polls(self) -> tuple[Poll, ...]:
        """The polls a visit can answer: the pack's, then the live questions open now."""
        pack = self.content()
        return (pack.polls if pack is not None else ()) + tuple(as_poll(q) for q in self.live)

    def find_poll(self, poll_id: str) -> Poll | None:
        return next((p for p in self.polls() if p.id == poll_id), None)

    def tick(self) -> None:
        """Twice a second: the claim notice, the live questions, the idle clock, the prompt's
        countdown, the Lotsen session's end, speech."""
        self.check_claim()
        self.check_live()
        self.hand_over_usage()
        change = self.session.tick()
        self.check_hours()
        if change is Phase.PROMPT:
            self.show_prompt()
        elif change is Phase.WIPED:
            self._after_wipe()
        elif change is Phase.ATTRACT:
            self.go(Page.ATTRACT)
        if self.prompting:
            self.display.prompt(self.session.prompt_left())
        self.display.tick()
        if self.lock is not None:
            self.lock.check()  # a Lotsen session ends by itself after lotsen_session_s
            if self.page is Page.LOTSEN and not self.lock.active:
                self.history.clear()
                self._show(Page.HOME, {}, speak=False)
        speaking = self.speaker is not None and self.speaker.speaking
        if speaking != self._speaking_shown and self.page.chrome:
            self._speaking_shown = speaking
            self.display.speaking(speaking)

    def hand_over_usage(self) -> None:
        """The counters of the days gone by to the agent client (kept until there is a client)."""
        if self.client is not None:
            for report in self.usage.finished():
                self.client.usage(report)

    def ask_more_time(self) -> None:
        """Ask "Brauchen Sie mehr Zeit?" now, as if the idle time had run out (selftest)."""
        self.session.prompt_now()
        if self.session.phase is Phase.PROMPT:
            self.show_prompt()

    def show_prompt(self) -> None:
        self.stop_speaking()
        self.prompting = True
        self.display.prompt(None)
        self.display.prompt(self.session.prompt_left())
        if self.session.visit.read_aloud:
            self.read(self.prompt_spoken())

    def prompt_spoken(self) -> str:
        """What "Vorlesen" reads while the prompt shows."""
        return idle_prompt(self.translator, self.session.prompt_left()).spoken

    def keep_going(self) -> None:
        if self.session.phase is Phase.PROMPT:
            self.session.touch()
        self.prompting = False
        self.display.prompt(None)
        self.stop_speaking()

    def _after_wipe(self) -> None:
        """The visit is gone: no prompt, no speech, default volume, no Lotsen, the wiped notice."""
        self.prompting = False
        self.display.prompt(None)
        if self.speaker is not None:
            self.speaker.reset()
        if self.lock is not None and self.lock.active:
            self.lock.end("wipe")
        self._lotsen = {}
        self.history.clear()
        self._show(Page.WIPED, {}, speak=False)

    def start(self, lang: str | None = None, read: bool = False) -> None:
        """A touch on the attract or wiped screen: begin a visit on the home screen (none without
        content: the kiosk says "no content yet")."""
        if self.content() is None:
            self._show(Page.NOCONTENT, {}, speak=False)
            return
        self.session.touch()
        self.usage.session()
        if lang is not None:
            self.session.visit.lang = lang
            self.usage.language(lang)
        self.history.clear()
        self._show(Page.HOME, {}, speak=False)
        if read or self.session.visit.read_aloud:
            self.read(self.spoken)

    # --- settings ------------------------------------------------------------------------------

    def set_lang(self, lang: str) -> None:
        self.session.visit.lang = lang
        self.usage.language(lang)
        self.refresh()

    def set_large(self, on: bool) -> None:
        self.session.visit.large_text = on
        self.refresh()

    def set_contrast(self, on: bool) -> None:
        self.session.visit.high_contrast = on
        self.refresh()

    def set_read_aloud(self, on: bool) -> None:
        self.session.visit.read_aloud = on
        self.refresh()
        if on:
            self.read(self.spoken)

    def change_volume(self, delta: int) -> None:
        if self.speaker is not None:
            self.speaker.volume = self.speaker.volume + delta
            self.refresh()
            self.read(self.translator("Lautstärke"))

    # --- speech --------------------------------------------------------------------------------

    def read(self, text: str) -> None:
        self.last_spoken = text
        if self.speaker is not None and text:
            self.speaker.say(text, self.session.lang)

    def stop_speaking(self) -> None:
        if self.speaker is not None:
            self.speaker.stop()

    def toggle_reading(self) -> None:
        """The Vorlesen button: read the screen (and the prompt on top of it), or stop."""
        if self.speaker is not None and self.speaker.speaking:
            self.speaker.stop()
        else:
            self.read(self.prompt_spoken() if self.prompting else self.spoken)
        self._speaking_shown = self.speaker is not None and self.speaker.speaking
        self.display.speaking(self._speaking_shown)

    # --- citizen actions -----------------------------------------------------------------------

    def vote(self, poll_id: str, choice: str) -> str | None:
        """Keep the vote (durably, before the "Danke") and show the thanks; None if already voted."""
        if not self.session.record_vote(poll_id, choice):
            return None
        client, runner = self.client, self.runner
        vote_id = client.vote(poll_id, choice, self.session.lang) if client is not None else None
        index = next((i for i, p in enumerate(self.polls()) if p.id == poll_id), 0)
        self._show(Page.FEEDBACK, {"index": index, "just_voted": True})
        poll = self.find_poll(poll_id)
        if poll is not None and poll.results == "after_vote" and client is not None and runner is not None:
            shown = self._shown

            def fetch() -> dict[str, int] | None:
                client.flush(1.5)  # deliver this vote first, so that the result includes it
                return client.results(poll_id)

            def done(counts: dict[str, int] | None) -> None:
                if self._shown == shown and counts is not None:
                    self.refresh(counts=counts)

            runner.submit(fetch, done)
        return vote_id

    def call_help(self, topic: str) -> None:
        """The "Hilfe holen" button: one request per visit (kept for delivery at once, offline too).
        After hours no request is taken: the help page says when the office is open again."""
        if self.closed:
            log.info("help asked for after hours: not sent, the help page says when the office opens")
            self.go(Page.HELP)
            return
        again = self.session.visit.help_id is not None
        if not again and self.client is not None:
            self.session.visit.help_id = self.client.help(topic)
        self.go(Page.HELP, again=again)

    # --- Lotsen --------------------------------------------------------------------------------

    def lotsen_unlock(self, pin: str) -> str:
        """The PIN pad's OK; returns the message to show ("" when unlocked)."""
        if self.lock is None:
            return ""
        result = self.lock.unlock(pin)
        tr = self.translator
        if result.outcome == "ok":
            self._lotsen = {}
            self.go(Page.LOTSEN)
            self.lotsen_refresh()
            return ""
        if result.outcome == "locked":
            minutes = max(1, math.ceil(result.locked_for_s / 60))
            return tr.plural(
                "Zu viele falsche Versuche. Bitte warten Sie {minutes} Minute.",
                "Zu viele falsche Versuche. Bitte warten Sie {minutes} Minuten.",
                minutes,
            ).format(minutes=minutes)
        n = result.tries_left
        return tr.plural("Falsche PIN. Noch {n} Versuch.", "Falsche PIN. Noch {n} Versuche.", n).format(n=n)

    def lotsen_active(self) -> bool:
        return self.lock is not None and self.lock.active

    def lotsen_left(self) -> float:
        if self.lock is None or not self.lock.active:
            return 0.0
        return self.lock.remaining_s

    def lotsen_data(self) -> dict[str, Any]:
        """For the staff view: the agent's status, open help requests, whether it answers and
        takes our token (as last fetched), and what waits in this kiosk's outbox."""
        return {"pending": self.client.pending() if self.client is not None else 0, **self._lotsen}

    def lotsen_refresh(self) -> None:
        client, runner = self.client, self.runner
        if client is None or runner is None:
            return

        def fetch() -> dict[str, Any]:
            return {"status": client.status(), "help": client.help_requests("open"), "agent": client.online,
                    "paired": client.paired}  # fmt: skip

        def done(data: dict[str, Any]) -> None:
            self._lotsen = data
            if self.page is Page.LOTSEN and self.lotsen_active():
                self.refresh()

        runner.submit(fetch, done)

    def lotsen_close_help(self, help_id: str) -> None:
        client, runner = self.client, self.runner
        if client is not None and runner is not None:
            runner.submit(lambda: client.close_help(help_id), lambda _ok: self.lotsen_refresh())

    def lotsen_set_language(self, lang: str) -> None:
        """Set the language for the citizen and hand the kiosk over on the home screen."""
        self.lotsen_end("lotse")
        self.session.visit.lang = lang
        self.go(Page.HOME)

    def lotsen_reset_session(self) -> None:
        self.lotsen_end("reset")
        self.session.wipe()
        self._after_wipe()

    def lotsen_end(self, reason: str) -> None:
        if self.lock is not None and self.lock.active:
            self.lock.end(reason)
        self._lotsen = {}
        if self.page is Page.LOTSEN:
            self.history.clear()
            self._show(Page.HOME, {}, speak=False)

    # --- office hours and the night screen (kiosk/opening.py) ------------------------------------

    def load_schedule(self) -> None:
        """Read the site's hours from the pack on the runner (the holidays take a moment to load)."""
        pack, runner = self.content(), self.runner
        if runner is None:
            return

        def read() -> SiteSchedule:
            return SiteSchedule.for_pack(pack, self.cfg.site, demo=self.cfg.demo)

        def done(schedule: SiteSchedule) -> None:
            if pack is self.content():  # a newer pack's read is on its way
                self.schedule = schedule
                self.check_hours()

        runner.submit(read, done)

    @property
    def closed(self) -> bool:
        """After hours: information only, no help requests."""
        return self.mode is Mode.CLOSED

    def now(self) -> datetime:
        """The time of day (UTC unless the wall clock says otherwise)."""
        return self.wall_clock()

    def check_hours(self) -> None:
        """Every tick: open or closed by the site's hours, and the screen by its nights."""
        now = self.now()
        mode = self.schedule.mode(now)
        if mode is not self.mode:
            self.mode = mode
            log.info("the office at site %s is now %s", self.schedule.site or "-", mode.value)
            called = self.session.visit.help_id is not None  # "Hilfe ist unterwegs" stays true
            if self.page in (Page.HOME, Page.SERVICE) or (self.page is Page.HELP and not called):
                self.refresh()
        self._light(self._screen_wanted(now))

    def _screen_wanted(self, now: datetime) -> ScreenState:
        """Bright during a visit, a Lotsen session or the claim code; else the site's schedule."""
        if (
            self.session.phase in (Phase.ACTIVE, Phase.PROMPT)
            or self.claim is not None
            or self.lotsen_active()
        ):
            return ScreenState.ON
        return self.schedule.screen(now)

    def _light(self, state: ScreenState) -> None:
        if state is self.lit:
            return
        self.lit = state
        backlight, runner = self.backlight, self.runner
        if backlight is None:
            return
        log.info("screen %s", state.value)
        if runner is not None:
            runner.submit(lambda: backlight.set(state))
        else:
            backlight.set(state)

    def closed_notice(self) -> ClosedNotice | None:
        """What shows where "Hilfe holen" was, in the visit's language; None while open."""
        if not self.closed:
            return None
        from .afterhours import closed_notice

        now = self.now()
        reopens = self.schedule.reopens(now)
        local = self.schedule.local(now)
        self.translator.lang = self.session.lang
        return closed_notice(None if reopens is None else self.schedule.local(reopens), local,
                             self.session.lang, self.translator)  # fmt: skip


def _utc_now() -> datetime:
    return datetime.now(UTC)
