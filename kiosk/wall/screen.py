"""The wall on screen: the header, one view at a time, the calm cycle, and the one place a frame
is drawn (:meth:`WallScreen.draw_frame`).

The cycle: each view stays ``wall.view_s`` seconds (20), then the next one cross-fades in over
``wall.fade_s`` (1.5 s; nothing slides, blinks or scrolls). Two things cut the wait short, because
they are what people at this site are looking for:

- a new live question: shown at once (the issue asks for it within 10 s), and so are the first
  questions when the content pack arrives;
- a vote or button press at this site: its question is shown (or its numbers change in place when
  it is on screen already), within one read of the agent (``wall.poll_s``, 2 s) and a fade.

Everything runs on the Kivy thread; the :class:`~kiosk.wall.feed.Feed` hands its snapshots over
through the clock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kivy.clock import Clock
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from ..i18n import Translator
from ..screens.widgets import Box, rgba
from .feed import Snapshot
from .model import Header, ResultsView, Words, header, second_language, views_of
from .settings import WallSettings
from .views import THEME, Panel, View, header_bar, panel
from .widgets import scale_of

if TYPE_CHECKING:
    from .feed import Feed

log = logging.getLogger(__name__)

TICK_S = 0.5
#: the cross-fade's frames a second: a slow fade needs few, and a Pi's GPU (or a test's software
#: renderer) draws each one in time, so a vote after a fade is not kept waiting behind frames
FADE_STEPS_PER_S = 12


class WallScreen:
    """The wall's widgets and its cycle. ``root`` goes into the window; :meth:`apply` takes the
    agent's news, :meth:`tick` turns the cycle (both on the Kivy thread).

    ``frame_hook(page, root)`` is called for every frame the wall draws (proof of display, issue 14
    part 5: the kiosk's ``DisplayReporter.frame`` goes here)."""

    def __init__(self, settings: WallSettings, *, site: str = "", translator: Translator | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.settings = settings
        self.site = site
        self.translator = translator or Translator()
        self._clock = clock
        self.root = Box(orientation="vertical", bg=rgba(THEME.background))
        self.body = BoxLayout()
        self.snapshot = Snapshot()
        self.views: list[View] = []
        self.index = 0
        self.panel: Panel | None = None
        self.head: Widget | None = None
        self.shown_header: Header | None = None
        self._head_scale = 0.0
        self.shown_since = clock()
        self.frames = 0
        self.frame_hook: Callable[[str, Widget], None] | None = None
        self._fading = False
        self._fading_in = False  #: the fade's second half: the new view is drawn
        self._fade: Any = None
        self._pending: str | None = None  #: news that came during a fade
        self._events: list[Any] = []
        self.root.add_widget(self.body)

    # --- what to show --------------------------------------------------------------------------

    @property
    def page(self) -> str:
        """The key of the view on show ("results:<id>", "forecast", "notice"), "" before the first."""
        return self.views[self.index].key if self.views else ""

    def words(self, snap: Snapshot) -> Words:
        pack = snap.pack
        lang = pack.default_language if pack is not None else "de"
        return Words(self.translator, lang, second_language(pack, self.settings.second_language))

    def apply(self, snap: Snapshot) -> None:
        """New answers from the agent: rebuild the cycle's views; draw only if what is on screen
        changed (or switch to the news, :meth:`_news`)."""
        w = self.words(snap)
        before = {v.key: v for v in self.views}
        views = views_of(
            snap.questions, snap.results, snap.forecast, snap.pack, self.settings.register_url, w
        )
        self.snapshot = snap
        current = self.page
        self.views = views
        keys = [v.key for v in views]
        target = self._news(before, views)
        if self._fading:  # news wait for the fade's end; the swap draws the newest views
            self._pending = target or self._pending
            if self._fading_in:  # the new view is up: its numbers change at once
                self.index = self._index_of(current)
                if self.panel is not None and views and views[self.index] != self.panel.view:
                    self.draw_frame()
            return
        if target is not None and target != current:
            self._switch(target)
            return
        self.index = keys.index(current) if current in keys else min(self.index, len(views) - 1)
        on_screen = views[self.index] if views else None
        if self.panel is None or on_screen != self.panel.view or self._header() != self.shown_header:
            self.draw_frame()

    @staticmethod
    def _news(before: dict[str, View], views: list[View]) -> str | None:
        """The view people here should see now: a new live question, or a question whose count at
        this site grew since the last read (a vote, a button press); None: nothing new."""
        if not before:
            return None
        if not any(isinstance(v, ResultsView) for v in before.values()):
            # the first questions (the pack arrived): show them rather than wait out the notice
            return next((v.key for v in views if isinstance(v, ResultsView)), None)
        for v in views:
            if not isinstance(v, ResultsView):
                continue
            old = before.get(v.key)
            if old is None:
                if v.live:
                    return v.key
                continue
            if isinstance(old, ResultsView) and sum(r.here for r in v.rows) > sum(r.here for r in old.rows):
                return v.key
        return None

    # --- the cycle -----------------------------------------------------------------------------

    def start(self, feed: Feed) -> None:
        """Read the agent through ``feed`` and turn the cycle, until :meth:`stop`."""
        feed.start(lambda snap: Clock.schedule_once(lambda _dt: self.apply(snap), 0))
        self._events.append(Clock.schedule_interval(lambda _dt: self.tick(), TICK_S))

    def stop(self) -> None:
        if self._fade is not None:
            self._fade.cancel()
        for e in self._events:
            e.cancel()
        self._events.clear()

    def tick(self) -> None:
        if (
            len(self.views) > 1
            and not self._fading
            and self._clock() - self.shown_since >= self.settings.view_s
        ):
            self._switch(self.views[(self.index + 1) % len(self.views)].key)

    def show(self, index: int) -> None:
        """Show view ``index`` at once, without a fade (the selftest, tests)."""
        self.index = index
        self.draw_frame()

    def _switch(self, key: str) -> None:
        """Cross-fade to the view ``key``: the old view fades out, the new one in, in
        :data:`FADE_STEPS_PER_S` steps a second (calm, and few frames for a small GPU)."""
        half = self.settings.fade_s / 2
        if half <= 0 or self.panel is None:
            self.show(self._index_of(key))
            return
        self._fading = True
        steps = max(1, round(half * FADE_STEPS_PER_S))
        state = {"step": 0}

        def step(_dt: float) -> bool:
            state["step"] += 1
            n = state["step"]
            if n <= steps:  # fading out
                self.body.opacity = 1.0 - n / steps
                if n == steps:
                    self.index = self._index_of(key)
                    self.draw_frame()
                    self._fading_in = True
                return True
            self.body.opacity = min(1.0, (n - steps) / steps)  # fading in
            if n < 2 * steps:
                return True
            self._fading = self._fading_in = False
            pending, self._pending = self._pending, None
            if pending is not None and pending != self.page and pending in [v.key for v in self.views]:
                self._switch(pending)
            elif self.views and (self.panel is None or self.panel.view != self.views[self.index]):
                self.draw_frame()  # numbers that changed while the view faded in
            return False

        self._fade = Clock.schedule_interval(step, 1.0 / FADE_STEPS_PER_S)

    def _index_of(self, key: str) -> int:
        """Where view ``key`` is in the cycle now (the first view if it is gone)."""
        return next((i for i, v in enumerate(self.views) if v.key == key), 0)

    # --- drawing -------------------------------------------------------------------------------

    def draw_frame(self) -> None:
        """The one place the wall changes its picture: the header, and the view at ``index`` drawn
        anew or, when only its numbers changed, updated in place. Then ``frame_hook``."""
        scale = scale_of(self.root.height)
        wanted = self._header()
        if self.head is None or wanted != self.shown_header or self._head_scale != scale:
            head = header_bar(wanted, scale)
            self._head_scale = scale
            if self.head is not None:
                self.root.remove_widget(self.head)
            self.root.add_widget(head, index=len(self.root.children))
            self.head, self.shown_header = head, wanted
        if not self.views:
            return
        view = self.views[self.index]
        if self.panel is None or self.panel.key != view.key or self.panel.scale != scale:
            self._new_panel(view, scale)
        elif not self.panel.update(view):
            self._new_panel(view, scale)
        self.frames += 1
        if self.frame_hook is not None:
            self.frame_hook(self.page, self.root)

    def _header(self) -> Header:
        snap = self.snapshot
        return header(snap.pack, self.site, snap.at, snap.online, self.words(snap))

    def _new_panel(self, view: View, scale: float) -> None:
        if self.panel is None or self.panel.key != view.key:
            self.shown_since = self._clock()
        self.body.clear_widgets()
        self.panel = panel(view, scale)
        self.body.add_widget(self.panel)
