"""The claim code on the Pi's own console: large digits drawn with block characters, no kiosk needed.

A fresh Pi has no kiosk unit enabled yet (firstboot or the claim enables it), so ``a2d-claim.service``
hands ``await-claim`` the first console (``/dev/tty1``) as its stdout. When that is a terminal,
:class:`Console` clears it and draws the :class:`~a2d.claimwire.ClaimNotice`: the six digits in the
5x7 :data:`FONT` below, scaled to the screen, then the serial, the lock (if any) and the command to
type on the laptop, in German and English. It draws again whenever the responder publishes a new
notice (the lock engaged or ran out) and clears the screen once the device is claimed.

:func:`render` is the pure part (text in, text out), so tests can check that the digits are really
there by reading the pixels back with :func:`decode`.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, tzinfo
from typing import TextIO

from a2d import claimwire

log = logging.getLogger(__name__)

#: each digit 5 pixels wide and 7 high; ``#`` lit, ``.`` dark (drawn for this project)
FONT: dict[str, tuple[str, ...]] = {
    "0": (".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."),
    "1": ("..#..", ".##..", "#.#..", "..#..", "..#..", "..#..", "#####"),
    "2": (".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"),
    "3": ("####.", "....#", "....#", ".###.", "....#", "....#", "####."),
    "4": ("...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."),
    "5": ("#####", "#....", "####.", "....#", "....#", "#...#", ".###."),
    "6": ("..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."),
    "7": ("#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."),
    "8": (".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."),
    "9": (".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."),
}
WIDTH, HEIGHT = 5, 7
#: a lit pixel (two cells per pixel at scale 1: console cells are about twice as high as wide)
LIT = "\u2588"
#: dark columns between two digits, in pixels
GAP = 1
CLEAR = "\x1b[H\x1b[2J\x1b[3J"
HIDE_CURSOR, SHOW_CURSOR = "\x1b[?25l", "\x1b[?25h"


def big_width(digits: int, scale: int = 1) -> int:
    """Columns the big digits take."""
    return (digits * WIDTH + (digits - 1) * GAP) * 2 * scale


def scale_for(columns: int, rows: int, digits: int = claimwire.CODE_DIGITS) -> int:
    """The largest scale at which the digits and six lines of text fit the screen (at least 1)."""
    by_width = columns // big_width(digits)
    by_height = (rows - 8) // HEIGHT
    return max(1, min(by_width, by_height))


def big_rows(code: str, scale: int = 1) -> list[str]:
    """The digits of ``code`` as ``HEIGHT * scale`` lines of block characters and spaces."""
    cell = 2 * scale
    rows: list[str] = []
    for y in range(HEIGHT):
        parts = []
        for digit in code:
            parts.append("".join((LIT if px == "#" else " ") * cell for px in FONT[digit][y]))
        line = (" " * cell * GAP).join(parts)
        rows.extend([line] * scale)
    return rows


def decode(lines: list[str], scale: int = 1) -> str:
    """Read the digits back from a screen's lines (what a test sees): the lines holding block
    characters are :func:`big_rows`' (every glyph lights its first column, so the leftmost lit cell
    is where the first digit starts); ``?`` for a glyph that is none of :data:`FONT`'s."""
    art = [line for line in lines if LIT in line]
    if not art:
        return ""
    left = min(line.index(LIT) for line in art)
    pixels = [line[left:] for line in art[::scale]]  # one line per pixel row
    cell, pitch = 2 * scale, (WIDTH + GAP) * 2 * scale
    count = (max(len(line.rstrip()) for line in pixels) + GAP * cell) // pitch
    found = []
    for i in range(count):
        glyph = tuple(
            "".join(
                "#" if line[i * pitch + x * cell : i * pitch + x * cell + 1] == LIT else "."
                for x in range(WIDTH)
            )
            for line in pixels
        )
        found.append(next((d for d, g in FONT.items() if g == glyph), "?"))
    return "".join(found)


def _until(notice: claimwire.ClaimNotice, tz: tzinfo | None) -> str:
    try:
        until = datetime.fromisoformat(notice.locked_until or "")
    except ValueError:
        return "?"
    if until.tzinfo is None:
        until = until.replace(tzinfo=UTC)
    return until.astimezone(tz).strftime("%H:%M")


def text_lines(notice: claimwire.ClaimNotice, tz: tzinfo | None = None) -> list[str]:
    """The lines under the digits: serial, the lock if any, the command in German and English."""
    command = f"a2d provision claim {notice.serial} --code {notice.code} …"
    lines = [f"Seriennummer / serial number: {notice.serial}", ""]
    if notice.locked_until is not None:
        until = _until(notice, tz)
        lines += [
            f"GESPERRT nach 5 falschen Codes bis {until} Uhr: bitte warten.",
            f"LOCKED after 5 wrong codes until {until}: please wait.",
            "",
        ]
    lines += [f"Code am Laptop eingeben: {command}", f"Enter the code on the laptop: {command}"]
    return lines


def render(notice: claimwire.ClaimNotice, columns: int = 80, rows: int = 24, tz: tzinfo | None = None) -> str:
    """The whole screen for ``notice``: clear, the big digits, the text; centred on ``columns``."""
    scale = scale_for(columns, rows)
    body = ["", *big_rows(notice.code, scale), "", *text_lines(notice, tz)]
    left = " " * max(0, (columns - big_width(len(notice.code), scale)) // 2)
    top = max(0, (rows - len(body)) // 2)
    out = [CLEAR + HIDE_CURSOR, "\n" * top]
    out += [f"{left}{line}\n" if line else "\n" for line in body]
    return "".join(out)


class Console:
    """Draws notices on ``stream`` (a terminal); ``show(None)`` clears it. A write that fails (the
    console hung up) is logged once and the claim goes on without the screen."""

    def __init__(self, stream: TextIO, tz: tzinfo | None = None) -> None:
        self.stream, self.tz = stream, tz
        self._broken = False

    def _size(self) -> tuple[int, int]:
        try:
            size = os.get_terminal_size(self.stream.fileno())
        except (OSError, ValueError):
            return 80, 24
        return size.columns or 80, size.lines or 24

    def show(self, notice: claimwire.ClaimNotice | None) -> None:
        if self._broken:
            return
        try:
            if notice is None:
                self.stream.write(CLEAR + SHOW_CURSOR)
            else:
                self.stream.write(render(notice, *self._size(), tz=self.tz))
            self.stream.flush()
        except OSError as exc:
            self._broken = True
            log.warning("cannot draw the claim code on the console any more: %s", exc)
