"""The wall as a Kivy app (``a2d kiosk --wall``, or ``role = "wall"`` in ``kiosk.toml``): the
screen's first frame at once, then the agent client and the feed (the kiosk's lean start)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.uix.widget import Widget

from a2d.sdnotify import Watchdog

from ..config import KioskConfig
from ..i18n import Translator
from .feed import Feed, WallSource
from .nights import WallNights
from .screen import WallScreen
from .settings import WallSettings

if TYPE_CHECKING:
    from ..ports import Backlight

log = logging.getLogger(__name__)
#: how often the wall looks at its site's night schedule
NIGHTS_S = 30.0


class WallApp(App):
    title = "analog2digital Wand"

    def __init__(self, cfg: KioskConfig, agent: Callable[[], WallSource], *, settings: WallSettings | None = None,
                 site: str = "", backlight: Backlight | None = None, **kwargs: Any) -> None:  # fmt: skip
        super().__init__(**kwargs)
        #: the site's night schedule through the backlight (:mod:`kiosk.wall.nights`)
        self.nights = WallNights(backlight, site or cfg.site, demo=cfg.demo)
        self.cfg = cfg
        self.settings = settings or WallSettings.from_raw(cfg.raw)
        self._make_agent = agent
        self.screen = WallScreen(
            self.settings, site=site or cfg.site, translator=Translator(cache_dir=cfg.cache_dir)
        )
        self.agent: WallSource | None = None
        self.feed: Feed | None = None
        self._watchdog = Watchdog()
        self._first = False
        self.reporter: Any = None  #: the proof-of-display reporter, once the agent is there

    def build(self) -> Widget:
        Window.bind(on_flip=self._flipped)
        return self.screen.root

    def _flipped(self, *_: Any) -> None:
        if not self._first:
            self._first = True
            Window.unbind(on_flip=self._flipped)
            Clock.schedule_once(lambda _dt: self._start(), 0)

    def _start(self) -> None:
        self.agent = self._make_agent()
        start = getattr(self.agent, "start", None)
        if callable(start):
            start()
        self.feed = Feed(self.agent, poll_s=self.settings.poll_s)
        self.screen.start(self.feed)
        self._report_display()
        source = self.agent
        self.nights.check(source.content())
        Clock.schedule_interval(lambda _dt: self.nights.check(source.content()), NIGHTS_S)
        self._watchdog.ready()
        Clock.schedule_interval(lambda _dt: self._watchdog.kick(), 1.0)
        log.info("wall ready: %s, a view every %g s, reading the agent every %g s", type(self.agent).__name__,
                 self.settings.view_s, self.settings.poll_s)  # fmt: skip

    def _report_display(self) -> None:
        """Proof of display (:mod:`kiosk.displayproof`), as the kiosk does it, marked as a wall:
        frames counted at each flip, the view and a hash of the picture reported to the agent."""
        from ..app import DISPLAY_POLL_S, read_window
        from ..displayproof import DisplayReporter

        if self.cfg.display_report_s <= 0 or not callable(getattr(self.agent, "display", None)):
            return
        reporter = DisplayReporter(self.agent, interval_s=self.cfg.display_report_s, wall=True)  # type: ignore[arg-type]
        self.reporter = reporter

        def flipped(*_: Any) -> None:
            reporter.frame(f"wall-{self.screen.page}"[:40], lambda: read_window(Window.width, Window.height))

        Window.bind(on_flip=flipped)
        Clock.schedule_interval(lambda _dt: reporter.poll(Window.canvas.ask_update), DISPLAY_POLL_S)

    def on_stop(self) -> None:
        self.screen.stop()
        if self.feed is not None:
            self.feed.stop()
        stop = getattr(self.agent, "stop", None)
        if callable(stop):
            stop()
