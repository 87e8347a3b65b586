"""Proof of display: the kiosk tells its agent what its screen really shows.

:class:`DisplayReporter` counts the frames the window draws, keeps the page on show and, every
``interval_s`` (``kiosk.display_report_s``, 120 s by default) and at once when the page changes
after a quiet spell, sends the agent (``POST /v1/display``, :class:`a2d.localapi.DisplayReport`)
the page, the frame count, a small hash of the picture on screen, and when that hash last changed.
The agent forwards it with its heartbeat; the town's server notices a screen that froze or a
kiosk that is gone.

The hash is never the picture: :func:`picture_hash` samples the frame the window just drew
(:class:`Picture`, RGBA bytes as ``glReadPixels`` gives them), averages it down to a grid of
16 x 9 grey cells and hashes those 144 bytes with BLAKE2b to 64 bits (16 hex digits). Nothing of
what a citizen did on screen can be read back from it; it only says "the same as before" or "not".
Pure Python (the kiosk never loads numpy): a row sum over a ``memoryview`` slice per cell, every
:data:`ROW_STEP`-th row. ``bench/displayhash.py`` measures it.

Where the pixels come from: :func:`kiosk.app.read_window` reads the window's back buffer with
``glReadPixels`` (Kivy's GL wrapper; this module imports no Kivy). The app calls :meth:`DisplayReporter.frame` from the
window's ``on_flip``, after the frame was drawn and before it is shown, so the buffer holds
exactly the picture that goes on screen; pixels are read only when a report is due. A kiosk whose
screen draws nothing for a while still reports on time (:meth:`DisplayReporter.poll`, from a Kivy
clock): with the hash of the last frame drawn, which is still what the screen shows; if frames
came since that hash, it asks for one redraw to hash (``redraw``).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from a2d.localapi import DisplayReport
from a2d.timeutil import utc_now

log = logging.getLogger(__name__)

#: the grey grid the picture is averaged down to before it is hashed
GRID = (16, 9)
#: every how many rows of the picture are read into the grid (all columns of each row are)
ROW_STEP = 4
#: the default seconds between two reports, and the least between two reports a page change sends
INTERVAL_S = 120.0
QUIET_S = 10.0
#: a report waits at most this long for the redraw it asked for, then goes with the hash it has
REDRAW_WAIT_S = 5.0


@dataclass(frozen=True)
class Picture:
    """A frame as ``glReadPixels`` returns it: ``height`` rows of ``width`` RGBA pixels (4 bytes
    each), bottom row first (the order does not matter to the hash as long as it is always the same)."""

    width: int
    height: int
    rgba: bytes | bytearray | memoryview


def grey_grid(picture: Picture, grid: tuple[int, int] = GRID, row_step: int = ROW_STEP) -> bytes:
    """The picture averaged down to ``grid`` cells (columns x rows), one grey byte each, row by row.

    Each cell's value is the mean of the R, G, B and A bytes of its pixels in every ``row_step``-th
    row (alpha is 255 on screen, so it only lifts every cell alike)."""
    cols, rows = grid
    w, h = picture.width, picture.height
    if w < cols or h < rows or len(picture.rgba) < w * h * 4:
        raise ValueError(f"a {w}x{h} picture with {len(picture.rgba)} bytes cannot fill a {cols}x{rows} grid")
    data = memoryview(picture.rgba).cast("B")
    stride = w * 4
    xs = [c * w // cols * 4 for c in range(cols + 1)]
    out = bytearray()
    for r in range(rows):
        y0, y1 = r * h // rows, (r + 1) * h // rows
        sums = [0] * cols
        lines = range(y0, y1, row_step)
        for y in lines:
            base = y * stride
            for c in range(cols):
                sums[c] += sum(data[base + xs[c] : base + xs[c + 1]])
        for c in range(cols):
            count = len(lines) * (xs[c + 1] - xs[c])
            out.append(round(sums[c] / count) if count else 0)
    return bytes(out)


def picture_hash(picture: Picture) -> str:
    """16 hex digits: BLAKE2b (8 bytes) of the picture's :func:`grey_grid`."""
    return hashlib.blake2b(grey_grid(picture), digest_size=8).hexdigest()


class Reports(Protocol):
    """Where reports go: the kiosk's agent client (:meth:`kiosk.client.AgentClient.display`)."""

    def display(self, report: DisplayReport) -> None: ...


class DisplayReporter:
    """Counts frames and reports the screen to the agent; see the module docstring.

    ``clock`` (monotonic seconds) paces the reports, ``now`` (ISO time) stamps them; ``mode`` says
    the kiosk's mode (``open``, ``closed``, ``night``) at each report; ``wall`` marks a video wall.
    """

    def __init__(
        self,
        agent: Reports,
        clock: Callable[[], float] = time.monotonic,
        *,
        interval_s: float = INTERVAL_S,
        quiet_s: float = QUIET_S,
        now: Callable[[], str] = utc_now,
        mode: Callable[[], str] = lambda: "open",
        wall: bool = False,
    ) -> None:
        self.agent = agent
        self.clock = clock
        self.interval_s = interval_s
        self.quiet_s = min(quiet_s, interval_s)
        self.now = now
        self.mode = mode
        self.wall = wall
        self.frames = 0
        self.page = ""
        self.hash = ""  #: the hash of the last frame hashed ("" before the first)
        self.changed_at = ""  #: when :attr:`hash` last changed
        self.last: DisplayReport | None = None  #: the last report sent
        self._sent_at: float | None = None
        self._page_changed = False
        self._drawn_since_hash = False
        self._redraw_asked: float | None = None

    def frame(self, page: str, pixels: Callable[[], Picture]) -> DisplayReport | None:
        """A frame of ``page`` was drawn; ``pixels`` reads it (called only when a report is due).
        Returns the report sent, if one was."""
        self.frames += 1
        if page != self.page:
            self.page, self._page_changed = page, True
        if self._redraw_asked is None and not self._due():
            self._drawn_since_hash = True
            return None
        try:
            picture = pixels()
        except Exception as exc:  # noqa: BLE001 - a failed read must not break drawing; the hash stays
            log.warning("cannot read the screen's pixels for the display report: %s", exc)
            self._drawn_since_hash = True
        else:
            self._hashed(picture_hash(picture))
        return self._send()

    def poll(self, redraw: Callable[[], None] | None = None) -> DisplayReport | None:
        """From a clock, every few seconds: report when one is due even if nothing is drawn. If
        frames were drawn since the last hash, ``redraw`` is asked for a frame to hash first (for at
        most :data:`REDRAW_WAIT_S`). Returns the report sent, if one was."""
        if self.frames == 0 or not self._due():
            return None
        if self._drawn_since_hash and redraw is not None:
            if self._redraw_asked is None:
                self._redraw_asked = self.clock()
                redraw()
                return None
            if self.clock() - self._redraw_asked < REDRAW_WAIT_S:
                return None
        return self._send()

    def _due(self) -> bool:
        if self._sent_at is None:
            return True
        quiet = self.clock() - self._sent_at
        return quiet >= self.interval_s or (self._page_changed and quiet >= self.quiet_s)

    def _hashed(self, digest: str) -> None:
        if digest != self.hash:
            self.hash, self.changed_at = digest, self.now()
        self._drawn_since_hash = False

    def _send(self) -> DisplayReport | None:
        self._redraw_asked = None
        if not self.hash:
            return None  # nothing was hashed yet: nothing true to say
        report = DisplayReport(
            page=self.page, frames=self.frames, hash=self.hash, changed_at=self.changed_at, at=self.now(),
            mode=self.mode(), wall=self.wall,
        )  # fmt: skip
        self._sent_at = self.clock()
        self._page_changed = False
        self.last = report
        try:
            self.agent.display(report)
        except Exception:  # noqa: BLE001 - a reporting problem must never stop the screen
            log.exception("could not hand the display report to the agent client")
        return report
