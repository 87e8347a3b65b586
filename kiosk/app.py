"""The Kivy side of the kiosk: the window, the pages drawn from the controller's state, the clock.

Everything the kiosk decides is in :class:`kiosk.controller.Controller`; this module only
- draws: :class:`KivyDisplay` builds the page the controller names (``kiosk/screens/``), the
  header and the idle prompt, and sends every touch to the controller first;
- schedules: the controller's tick twice a second, the background refresh every 30 s, the proof
  of display (:mod:`kiosk.displayproof`: frames counted at each flip, a report when due), and the
  results of :class:`Worker` (one thread, ``a2d-kiosk-ui``, for calls that may wait on the
  network) back on the Kivy thread through ``Clock.schedule_once``.

Start-up is lean: the attract screen is drawn with nothing but Kivy and the translations (the
town's name is filled in once the pack is read); the agent client (HTTP, maybe zeroconf), speech and the Lotsen lock come after the
first frame (:meth:`Kiosk.after_first_frame`), and qrcode is imported in the background.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.metrics import dp
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.widget import Widget

from a2d.contentpack import ContentPack
from a2d.sdnotify import Watchdog

from .config import KioskConfig
from .controller import Controller, Page
from .opening import ScreenState
from .screens import page_class
from .screens.base import Page as Screen
from .screens.widgets import Box, Ui, rgba
from .theme import RGB, theme

if TYPE_CHECKING:
    from .displayproof import DisplayReporter, Picture
    from .ports import Agent, Backlight
    from .screens.chrome import IdlePrompt

log = logging.getLogger(__name__)

#: what the attract screen must not wait for (checked and logged at the first frame)
HEAVY_MODULES = ("qrcode", "zeroconf", "kiosk.client", "kiosk.speech", "urllib.request", "sqlite3")
TICK_S = 0.5
REFRESH_S = 30.0
#: seconds between checks whether a display report is due while the screen draws nothing
DISPLAY_POLL_S = 5.0
#: a window narrower or lower than this (dp) gets the narrow layout (800 x 480, 1024 x 600, 1280 x 720)
NARROW_BELOW_DP = (1100, 760)
WORKER_THREAD = "a2d-kiosk-ui"
T = TypeVar("T")


class Worker:
    """One background thread for calls that may wait on the network; results return on the Kivy thread."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[tuple[Callable[[], Any], Callable[[Any], None] | None] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=WORKER_THREAD, daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], T], done: Callable[[T], None] | None = None) -> None:
        self._jobs.put((job, done))

    def call_soon(self, fn: Callable[[], None]) -> None:
        Clock.schedule_once(lambda _dt: fn(), 0)

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
    (the idle prompt). Every touch goes to the controller first."""

    def __init__(self, touched: Callable[[], bool]) -> None:
        super().__init__()
        self._touched = touched
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
        if self._touched():
            return True
        return bool(super().on_touch_down(touch))


class KivyDisplay:
    """The controller's :class:`~kiosk.ports.Display` in a Kivy window."""

    def __init__(self) -> None:
        self.ctl: Controller | None = None
        self.root = Root(lambda: self.ctl is not None and self.ctl.user_touch())
        self.page: Screen | None = None  #: the screen on show
        self.prompt_widget: IdlePrompt | None = None

    def ui(self) -> Ui:
        assert self.ctl is not None
        visit = self.ctl.session.visit
        self.ctl.translator.lang = visit.lang
        narrow = Window.width < dp(NARROW_BELOW_DP[0]) or Window.height < dp(NARROW_BELOW_DP[1])
        return Ui(
            theme(visit.high_contrast), visit.lang, visit.large_text, self.ctl.translator, self.ctl, narrow
        )

    def show(self, page: Page, params: Mapping[str, Any]) -> str:
        from .screens.chrome import header

        assert self.ctl is not None
        ui = self.ui()
        screen = page_class(page.value)(ui, **params)
        body = screen.build()
        self.page = screen
        head = header(ui, can_go_back=self.ctl.can_go_back, speaking=False) if page.chrome else None
        self.root.show(head, body, ui.theme.background)
        return screen.spoken

    def prompt(self, seconds_left: float | None) -> None:
        from .screens.chrome import IdlePrompt

        if seconds_left is None:
            self.prompt_widget = None
            self.root.set_overlay(None)
        elif self.prompt_widget is None:
            self.prompt_widget = IdlePrompt(self.ui(), seconds_left)
            self.root.set_overlay(self.prompt_widget)
        else:
            self.prompt_widget.update(seconds_left)

    def speaking(self, on: bool) -> None:
        """Draw the header again, its Vorlesen button now saying "Stopp" (or back)."""
        from .screens.chrome import header

        frame = self.root.frame
        if self.ctl is None or not self.ctl.page.chrome or len(frame.children) < 2:
            return
        frame.remove_widget(frame.children[-1])  # the header was added first
        frame.add_widget(header(self.ui(), can_go_back=self.ctl.can_go_back, speaking=on),
                         index=len(frame.children))  # fmt: skip

    def tick(self) -> None:
        if self.page is not None:
            self.page.update()


class Kiosk:
    """A controller and the Kivy display that shows it (the app, the selftest, the UI tests)."""

    def __init__(
        self,
        cfg: KioskConfig,
        *,
        pack: ContentPack | None = None,
        clock: Callable[[], float] = time.monotonic,
        speech_dir: Path | None = None,
        wall_clock: Callable[[], datetime] | None = None,
        backlight: Backlight | None = None,
    ) -> None:
        self.display = KivyDisplay()
        self.ctl = Controller(cfg, pack=pack, clock=clock, display=self.display, speech_dir=speech_dir,
                              wall_clock=wall_clock, backlight=backlight)  # fmt: skip
        self.display.ctl = self.ctl
        self.root = self.display.root
        self.worker: Worker | None = None
        self._events: list[Any] = []
        self._unbind: list[Callable[[], None]] = []
        self.reporter: DisplayReporter | None = None  #: proof of display, once the agent client is there

    @property
    def page(self) -> Screen | None:
        """The screen on show (its ``name``, ``params`` and ``spoken``)."""
        return self.display.page

    @property
    def prompt(self) -> IdlePrompt | None:
        return self.display.prompt_widget

    def after_first_frame(self, client: Agent | None = None, *, report: bool = True) -> None:
        """Everything the attract screen did not need: the worker, the agent client, speech, Lotsen;
        and, unless ``report`` is False (the selftest's screens are no screen in a hall), the proof of display."""
        self.worker = Worker()
        if client is None:
            from .client import AgentClient

            client = AgentClient.from_config(self.ctl.cfg)
            client.start()
        self.ctl.attach(client, self.worker)
        pack = self.ctl.content()
        shown = f"content pack {pack.town} {pack.version}" if pack is not None else "no content pack yet"
        log.info("kiosk ready: %s, %s", type(client).__name__, shown)
        self.worker.submit(_warm_imports)
        watchdog = Watchdog()  # under systemd: ready once the first frame is up, fed while the UI turns
        watchdog.ready()
        self._events.append(Clock.schedule_interval(lambda _dt: self._tick(watchdog), TICK_S))
        self._events.append(Clock.schedule_interval(lambda _dt: self.ctl.refresh_background(), REFRESH_S))
        if report:
            self.report_display(client)

    def display_mode(self) -> str:
        """What the report says the screen is meant to do: ``night`` while the backlight is off by
        the site's schedule (an unchanged picture is then no fault), else the office's mode."""
        return "night" if self.ctl.lit is ScreenState.OFF else self.ctl.mode.value

    def report_display(self, client: Agent) -> None:
        """Proof of display (:mod:`kiosk.displayproof`): count every frame the window draws, and
        report the page and a hash of the picture to the agent every ``kiosk.display_report_s``."""
        from .displayproof import DisplayReporter

        if self.ctl.cfg.display_report_s <= 0:
            return
        reporter = DisplayReporter(client, interval_s=self.ctl.cfg.display_report_s, mode=self.display_mode)
        self.reporter = reporter

        def flipped(*_: Any) -> None:
            reporter.frame(self.ctl.page.value, lambda: read_window(Window.width, Window.height))

        Window.bind(on_flip=flipped)
        self._unbind.append(lambda: Window.unbind(on_flip=flipped))
        poll = Clock.schedule_interval(lambda _dt: reporter.poll(Window.canvas.ask_update), DISPLAY_POLL_S)
        self._events.append(poll)

    def _tick(self, watchdog: Watchdog) -> None:
        self.ctl.tick()
        watchdog.kick()

    def stop(self) -> None:
        for event in self._events:
            event.cancel()
        self._events.clear()
        for unbind in self._unbind:
            unbind()
        self._unbind.clear()
        if self.worker is not None:
            self.worker.stop()
        self.ctl.stop()


def read_window(width: int, height: int) -> Picture:
    """The window's current (back) buffer, read with ``glReadPixels``: call it inside ``on_flip``,
    before the buffers are swapped (:mod:`kiosk.displayproof`)."""
    from kivy.graphics.opengl import GL_RGBA, GL_UNSIGNED_BYTE, glReadPixels

    from .displayproof import Picture

    return Picture(width, height, glReadPixels(0, 0, width, height, GL_RGBA, GL_UNSIGNED_BYTE))


def _warm_imports() -> None:
    """Import what the first service page needs while the citizen still looks at the home screen."""
    import qrcode  # noqa: F401
    import qrcode.image.pil  # noqa: F401


class KioskApp(App):
    """The Kivy App: builds the root with the attract screen and reports the first frame."""

    title = "analog2digital Kiosk"

    def __init__(
        self,
        kiosk: Kiosk,
        *,
        started: float | None = None,
        agent: Callable[[], Agent] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.kiosk = kiosk
        self.started = started if started is not None else time.monotonic()
        self.first_frame_at: float | None = None
        self._agent = agent  #: makes the agent client after the first frame (None: the one kiosk.toml names)

    def build(self) -> Widget:
        self.kiosk.ctl.go(Page.ATTRACT)
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
            Clock.schedule_once(lambda _dt: self._after_first_frame(), 0)

    def _after_first_frame(self) -> None:
        self.kiosk.after_first_frame(self._agent() if self._agent is not None else None)

    def on_stop(self) -> None:
        self.kiosk.stop()
