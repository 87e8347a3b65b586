"""The kiosk app: the controller every screen talks to, and the Kivy App around it.

Start-up is lean: the attract screen is drawn with nothing but Kivy, the translations and the
content pack; the agent client (HTTP, maybe zeroconf), speech and the Lotsen lock come after the
first frame (:meth:`Kiosk.after_first_frame`), and qrcode is imported in the background.
Nothing here blocks the Kivy thread on the network: queries to the agent run on one worker thread
(``a2d-kiosk-ui``) and come back through ``Clock.schedule_once``; votes and help requests only
touch the kiosk's own SQLite outbox.
"""

from __future__ import annotations

import logging
import math
import queue
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.metrics import dp
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.widget import Widget

from a2d.contentpack import ContentPack, TransparencyRecord

from .config import KioskConfig
from .i18n import Translator
from .screens import page_class
from .screens.base import Page
from .screens.widgets import Box, Ui, rgba
from .session import Phase, Session
from .theme import RGB, theme

if TYPE_CHECKING:
    from a2d.localapi import Status

    from .client import AgentClient
    from .lotsen import LotsenLock
    from .speech import Speaker

log = logging.getLogger(__name__)

#: what the attract screen must not wait for (checked and logged at the first frame)
HEAVY_MODULES = ("qrcode", "zeroconf", "kiosk.client", "kiosk.speech", "urllib.request", "sqlite3")
TICK_S = 0.5
REFRESH_S = 30.0
#: a window narrower or lower than this (dp) gets the narrow layout (800 x 480, 1024 x 600, 1280 x 720)
NARROW_BELOW_DP = (1100, 760)
WORKER_THREAD = "a2d-kiosk-ui"


class Worker:
    """One background thread for calls that may wait on the network; results return on the Kivy thread."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[tuple[Callable[[], Any], Callable[[Any], None] | None] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=WORKER_THREAD, daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], Any], done: Callable[[Any], None] | None = None) -> None:
        self._jobs.put((job, done))

    def _run(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            job, done = item
            try:
                result = job()
            except Exception:  # noqa: BLE001 - a failing query must not end the worker
                log.exception("background job failed")
                continue
            if done is not None:
                Clock.schedule_once(lambda _dt, d=done, r=result: d(r), 0)

    def idle(self, timeout: float) -> bool:
        """Wait until every submitted job ran (tests, selftest)."""
        done = threading.Event()
        self._jobs.put((done.set, None))
        return done.wait(timeout)

    def stop(self) -> None:
        self._jobs.put(None)
        self._thread.join(5)


class Root(FloatLayout):
    """The window's content: header + page on the theme's background, and an overlay layer
    (the idle prompt)."""

    def __init__(self, kiosk: Kiosk) -> None:
        super().__init__()
        self.kiosk = kiosk
        self.frame = Box(orientation="vertical")
        self.add_widget(self.frame)
        self.overlay: Widget | None = None

    def show(self, header: Widget | None, body: Widget, background: RGB) -> None:
        self.frame.bg = rgba(background)
        self.frame.clear_widgets()
        if header is not None:
            self.frame.add_widget(header)
        self.frame.add_widget(body)

    def set_overlay(self, widget: Widget | None) -> None:
        if self.overlay is not None:
            self.remove_widget(self.overlay)
        self.overlay = widget
        if widget is not None:
            self.add_widget(widget)

    def on_touch_down(self, touch: Any) -> bool:
        if self.kiosk.user_touch():
            return True
        return bool(super().on_touch_down(touch))


class Kiosk:
    """Navigation, the visit, and every action a screen can ask for (screens call ``ui.act.*``)."""

    def __init__(
        self,
        cfg: KioskConfig,
        *,
        pack: ContentPack | None = None,
        clock: Callable[[], float] = time.monotonic,
        speech_dir: Path | None = None,
    ) -> None:
        self.cfg = cfg
        self.session = Session(cfg.default_language, idle_s=cfg.idle_s, prompt_s=cfg.prompt_s, clock=clock)
        self._clock = clock
        self.translator = Translator(cfg.default_language, cfg.cache_dir)
        self.client: AgentClient | None = None
        self.speaker: Speaker | None = None
        self.lock: LotsenLock | None = None
        self.worker: Worker | None = None
        self.speech_dir = speech_dir
        self._pack = pack
        self._records: list[TransparencyRecord] | None = None
        self._forecast: dict[str, Any] | None = None
        #: what the chart shows while the agent has no forecast: only the selftest sets it (a marked sample)
        self.sample_forecast: dict[str, Any] | None = None
        self._lotsen: dict[str, Any] = {}
        self.root = Root(self)
        self.page: Page | None = None
        self.history: list[tuple[str, dict[str, Any]]] = []
        self.prompt: Any = None
        self.last_spoken = ""
        self._speaking_shown = False
        self._events: list[Any] = []

    # --- start and stop ------------------------------------------------------------------------

    @property
    def pack(self) -> ContentPack:
        """The pack on screen; only pages shown while there is one read it (see :meth:`content`)."""
        pack = self.content()
        if pack is None:
            raise LookupError("the kiosk has no content pack yet")
        return pack

    def content(self) -> ContentPack | None:
        """The agent's or the cached pack, else the one the kiosk was started with (the demo pack
        when it runs as the demo); ``None``: no content yet. The first frame's attract screen is
        drawn before the pack is read (without the town's name, which it shows once read); once
        the agent client is there and has none, every page is "nocontent"."""
        if self._pack is None and self.client is not None:
            self._pack = self.client.content()
        return self._pack

    def after_first_frame(self, client: AgentClient | None = None) -> None:
        """Everything the attract screen did not need: the worker, the agent client, speech, Lotsen."""
        from .client import AgentClient
        from .lotsen import STATE_FILE as LOCK_STATE_FILE
        from .lotsen import LotsenLock
        from .speech import Speaker

        self.worker = Worker()
        if client is None:
            client = AgentClient.from_config(self.cfg)
            client.start()
        self.client = client
        client.on_content = lambda pack: Clock.schedule_once(lambda _dt: self._new_pack(pack), 0)
        self._pack = client.content() or self._pack  # the agent's or the cached pack wins
        self.speaker = Speaker(
            enabled=self.cfg.speech, volume_default=self.cfg.volume, wav_dir=self.speech_dir
        )
        if self.cfg.pin_hash:
            self.lock = LotsenLock(
                self.cfg.pin_hash,
                session_s=self.cfg.lotsen_session_s,
                log_path=self.cfg.lotsen_log,
                clock=self._clock,
                state_path=self.cfg.cache_dir / LOCK_STATE_FILE,
            )
        self.worker.submit(_warm_imports)
        self.refresh_background()
        self._events.append(Clock.schedule_interval(lambda _dt: self.tick(), TICK_S))
        self._events.append(Clock.schedule_interval(lambda _dt: self.refresh_background(), REFRESH_S))

    def stop(self) -> None:
        for event in self._events:
            event.cancel()
        self._events.clear()
        if self.lock is not None and self.lock.active:
            self.lock.end("exit")
        if self.speaker is not None:
            self.speaker.close()
        if self.worker is not None:
            self.worker.stop()
        if self.client is not None:
            self.client.stop()

    def refresh_background(self) -> None:
        client, worker = self.client, self.worker
        if client is None or worker is None:
            return

        def fetch() -> tuple[list[TransparencyRecord], dict[str, Any] | None]:
            return client.transparency(), client.forecast()

        def done(result: tuple[list[TransparencyRecord], dict[str, Any] | None]) -> None:
            records, forecast = result
            changed = (forecast is None) != (self._forecast is None)
            self._records, self._forecast = records, forecast
            if changed and self.page is not None and self.page.name == "home":
                self.refresh()

        worker.submit(fetch, done)

    def _new_pack(self, pack: ContentPack) -> None:
        self._pack = pack
        if self.page is not None and self.page.name == "nocontent":
            self._show("attract", {}, speak=False)
        elif self.page is not None and self.page.name in ("home", "service", "feedback", "transparency"):
            if self.page.name == "service" and pack.service(self.page.params.get("service", "")) is None:
                self.go("home")
            else:
                self.refresh()

    # --- what screens read ---------------------------------------------------------------------

    def ui(self) -> Ui:
        visit = self.session.visit
        self.translator.lang = visit.lang
        narrow = Window.width < dp(NARROW_BELOW_DP[0]) or Window.height < dp(NARROW_BELOW_DP[1])
        return Ui(theme(visit.high_contrast), visit.lang, visit.large_text, self.translator, self, narrow)

    def text_in(self, msgid: str, lang: str) -> str:
        return self.translator.text(msgid, lang)

    def town(self) -> str:
        """The pack's town; "" on the first frame of a kiosk whose pack is read after it."""
        pack = self.content()
        return pack.town if pack is not None else ""

    def transparency_records(self) -> list[TransparencyRecord]:
        return self._records if self._records is not None else list(self.pack.transparency)

    def forecast_data(self) -> dict[str, Any] | None:
        return self._forecast if self._forecast is not None else self.sample_forecast

    def speech_available(self) -> bool:
        return self.cfg.speech

    def lotsen_available(self) -> bool:
        return bool(self.cfg.pin_hash)

    def volume(self) -> int:
        return self.speaker.volume if self.speaker is not None else self.cfg.volume

    # --- navigation ----------------------------------------------------------------------------

    def go(self, name: str, **params: Any) -> None:
        if (
            self.page is not None
            and self.page.in_history
            and (self.page.name, self.page.params) != (name, params)
        ):
            self.history.append((self.page.name, dict(self.page.params)))
            del self.history[:-20]
        self._show(name, params)

    def back(self) -> None:
        while self.history:
            name, params = self.history.pop()
            if name not in ("attract", "wiped"):
                self._show(name, params)
                return
        self._show("home", {})

    def refresh(self, **params: Any) -> None:
        """Rebuild the current page (language, text size or contrast changed, new data arrived)."""
        if self.page is not None:
            self._show(self.page.name, {**self.page.params, **params}, speak=False)

    def _show(self, name: str, params: dict[str, Any], speak: bool = True) -> None:
        if self.content() is None and (self.client is not None or name != "attract"):
            name, params = "nocontent", {}
        self.stop_speaking()
        ui = self.ui()
        page = page_class(name)(ui, **params)
        body = page.build()
        self.page = page
        self.session.visit.screen = name
        if name in ("attract", "wiped"):
            self.history.clear()
        from .screens.chrome import header

        head = header(ui, can_go_back=bool(self.history), speaking=False) if page.chrome else None
        self.root.show(head, body, ui.theme.background)
        if speak and self.session.visit.read_aloud:
            self.read(page.spoken)

    # --- touches and time ----------------------------------------------------------------------

    def user_touch(self) -> bool:
        """Every touch lands here first; True swallows it (the touch that ends the idle prompt)."""
        if self.page is not None and self.page.name == "nocontent":
            return True  # nothing to visit yet: no visit begins, no idle prompt follows
        was = self.session.phase
        self.session.touch()
        if was is Phase.PROMPT:
            self.keep_going()
            return True
        return False

    def tapped(self, widget: Any) -> None:
        """A button was pressed: speech stops on user action (except the Vorlesen button itself)."""
        if getattr(widget, "name", "") != "vorlesen":
            self.stop_speaking()

    def tick(self) -> None:
        if self.page is not None and self.page.name == "attract" and self.client is not None:
            if self.content() is None:  # the first frame's attract screen, and no pack came: say so
                self._show("nocontent", {}, speak=False)
        change = self.session.tick()
        if change is Phase.PROMPT:
            self.show_prompt()
        elif change is Phase.WIPED:
            self._after_wipe()
        elif change is Phase.ATTRACT:
            self.go("attract")
        if self.prompt is not None:
            self.prompt.update(self.session.prompt_left())
        if self.page is not None:
            self.page.update()
        if self.lock is not None:
            self.lock.check()  # a Lotsen session ends by itself after lotsen_session_s
            if self.page is not None and self.page.name == "lotsen" and not self.lock.active:
                self.history.clear()
                self._show("home", {}, speak=False)
        speaking = self.speaker is not None and self.speaker.speaking
        if speaking != self._speaking_shown and self.page is not None and self.page.chrome:
            self._speaking_shown = speaking
            self._redraw_header(speaking)

    def _redraw_header(self, speaking: bool) -> None:
        from .screens.chrome import header

        if self.page is None or not self.root.frame.children:
            return
        frame = self.root.frame
        old = frame.children[-1]
        if old is self.root.frame.children[0]:
            return
        frame.remove_widget(old)
        frame.add_widget(
            header(self.ui(), can_go_back=bool(self.history), speaking=speaking), index=len(frame.children)
        )

    def show_prompt(self) -> None:
        from .screens.chrome import IdlePrompt

        self.stop_speaking()
        self.root.set_overlay(None)
        self.prompt = IdlePrompt(self.ui(), self.session.prompt_left())
        self.root.set_overlay(self.prompt)
        if self.session.visit.read_aloud:
            self.read(self.prompt.spoken)

    def keep_going(self) -> None:
        if self.session.phase is Phase.PROMPT:
            self.session.touch()
        self.prompt = None
        self.root.set_overlay(None)
        self.stop_speaking()

    def _after_wipe(self) -> None:
        """The visit is gone: no prompt, no speech, default volume, no Lotsen, the wiped notice."""
        self.prompt = None
        self.root.set_overlay(None)
        if self.speaker is not None:
            self.speaker.reset()
        if self.lock is not None and self.lock.active:
            self.lock.end("wipe")
        self._lotsen = {}
        self.history.clear()
        self._show("wiped", {}, speak=False)

    def start(self, lang: str | None = None, read: bool = False) -> None:
        """A touch on the attract or wiped screen: begin a visit on the home screen."""
        self.session.touch()
        if lang is not None:
            self.session.visit.lang = lang
        self.history.clear()
        self._show("home", {}, speak=False)
        if read or self.session.visit.read_aloud:
            self.read(self.page.spoken if self.page else "")

    # --- settings ------------------------------------------------------------------------------

    def set_lang(self, lang: str) -> None:
        self.session.visit.lang = lang
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
        if on and self.page is not None:
            self.read(self.page.spoken)

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
        elif self.page is not None:
            self.read(self.prompt.spoken if self.prompt is not None else self.page.spoken)
        self._speaking_shown = self.speaker is not None and self.speaker.speaking
        self._redraw_header(self._speaking_shown)

    # --- citizen actions -----------------------------------------------------------------------

    def vote(self, poll_id: str, choice: str) -> str | None:
        """Keep the vote (durably, before the "Danke") and show the thanks; None if already voted."""
        if not self.session.record_vote(poll_id, choice):
            return None
        vote_id = self.client.vote(poll_id, choice, self.session.lang) if self.client is not None else None
        index = next((i for i, p in enumerate(self.pack.polls) if p.id == poll_id), 0)
        self._show("feedback", {"index": index, "just_voted": True}, speak=True)
        poll = self.pack.poll(poll_id)
        if (
            poll is not None
            and poll.results == "after_vote"
            and self.client is not None
            and self.worker is not None
        ):
            client, page = self.client, self.page

            def done(counts: dict[str, int] | None) -> None:
                if self.page is page and counts is not None:
                    self.refresh(counts=counts)

            def fetch() -> dict[str, int] | None:
                client.flush(1.5)  # deliver this vote first, so that the result includes it
                return client.results(poll_id)

            self.worker.submit(fetch, done)
        return vote_id

    def call_help(self, topic: str) -> None:
        again = self.session.visit.help_id is not None
        if not again and self.client is not None:
            self.session.visit.help_id = self.client.help(topic)
        self.go("help", again=again)

    # --- Lotsen --------------------------------------------------------------------------------

    def lotsen_unlock(self, pin: str) -> str:
        """The PIN pad's OK; returns the message to show ("" when unlocked)."""
        if self.lock is None:
            return ""
        result = self.lock.unlock(pin)
        tr = self.translator
        if result.outcome == "ok":
            self._lotsen = {}
            self.go("lotsen")
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
        return {"pending": self.client.pending() if self.client is not None else 0, **self._lotsen}

    def lotsen_refresh(self) -> None:
        client, worker = self.client, self.worker
        if client is None or worker is None:
            return

        def fetch() -> dict[str, Any]:
            status: Status | None = client.status()
            return {"status": status, "help": client.help_requests("open"), "agent": client.online,
                    "paired": client.paired}  # fmt: skip

        def done(data: dict[str, Any]) -> None:
            self._lotsen = data
            if self.page is not None and self.page.name == "lotsen" and self.lotsen_active():
                self.refresh()

        worker.submit(fetch, done)

    def lotsen_close_help(self, help_id: str) -> None:
        client, worker = self.client, self.worker
        if client is not None and worker is not None:
            worker.submit(lambda: client.close_help(help_id), lambda _ok: self.lotsen_refresh())

    def lotsen_set_language(self, lang: str) -> None:
        """Set the language for the citizen and hand the kiosk over on the home screen."""
        self.lotsen_end("lotse")
        self.session.visit.lang = lang
        self.go("home")

    def lotsen_reset_session(self) -> None:
        self.lotsen_end("reset")
        self.session.wipe()
        self._after_wipe()

    def lotsen_end(self, reason: str) -> None:
        if self.lock is not None and self.lock.active:
            self.lock.end(reason)
        self._lotsen = {}
        if self.page is not None and self.page.name == "lotsen":
            self.history.clear()
            self._show("home", {}, speak=False)


def _warm_imports() -> None:
    """Import what the first service page needs while the citizen still looks at the home screen."""
    import qrcode  # noqa: F401
    import qrcode.image.pil  # noqa: F401


class KioskApp(App):
    """The Kivy App: builds the root with the attract screen and reports the first frame."""

    title = "analog2digital Kiosk"

    def __init__(self, kiosk: Kiosk, *, started: float | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kiosk = kiosk
        self.started = started if started is not None else time.monotonic()
        self.first_frame_at: float | None = None

    def build(self) -> Widget:
        self.kiosk.go("attract")
        Window.bind(on_flip=self._flipped)
        return self.kiosk.root

    def _flipped(self, *_: Any) -> None:
        if self.first_frame_at is None:
            self.first_frame_at = time.monotonic()
            early = [m for m in HEAVY_MODULES if m in sys.modules]
            log.info(
                "first frame after %.3f s (epoch %.6f); heavy modules loaded before it: %s",
                self.first_frame_at - self.started, time.time(), ", ".join(early) or "none",
            )  # fmt: skip
            Window.unbind(on_flip=self._flipped)
            Clock.schedule_once(lambda _dt: self.kiosk.after_first_frame(), 0)

    def on_stop(self) -> None:
        self.kiosk.stop()
