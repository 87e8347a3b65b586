#!/usr/bin/env python3
"""Proof-of-display hash benchmark: what one report's picture hash costs the kiosk at 1920x1080.

1. The pure-Python part alone (:func:`kiosk.displayproof.picture_hash` on a frame in memory: a
   16 x 9 grey grid from every 4th row, then BLAKE2b), against a reference in the same run:
   BLAKE2b over the whole frame's bytes in C (what hashing without downsampling would cost).
2. With the read-back: an offscreen Kivy window of 1920 x 1080 draws the kiosk's home screen and
   the frame is read with ``glReadPixels`` (:func:`kiosk.app.read_window`) and hashed,
   as the kiosk does at most once per report (every 120 s by default).

    .venv/bin/python bench/display_hash.py [--runs 20]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WIDTH, HEIGHT = 1920, 1080


def timed(fn: object, runs: int) -> float:
    """Median milliseconds of ``fn()``."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()

    from kiosk.displayproof import Picture, picture_hash

    row = bytes(range(256)) * (WIDTH * 4 // 256)
    frame = Picture(WIDTH, HEIGHT, row * HEIGHT)
    ours = timed(lambda: picture_hash(frame), args.runs)
    reference = timed(lambda: hashlib.blake2b(frame.rgba, digest_size=8).hexdigest(), args.runs)
    print(f"hash of a {WIDTH}x{HEIGHT} frame in memory: {ours:.1f} ms (pure Python, grid + BLAKE2b)")
    print(
        f"reference, BLAKE2b of all {len(frame.rgba) >> 20} MiB in C: {reference:.1f} ms; ratio {ours / reference:.2f}"
    )

    for key, value in {"KIVY_NO_ARGS": "1", "KIVY_NO_CONSOLELOG": "1", "KIVY_NO_FILELOG": "1",
                       "SDL_VIDEODRIVER": "offscreen", "KIVY_HOME": tempfile.mkdtemp()}.items():  # fmt: skip
        os.environ.setdefault(key, value)
    from kivy.config import Config

    Config.set("graphics", "width", str(WIDTH))
    Config.set("graphics", "height", str(HEIGHT))
    from kivy.base import EventLoop
    from kivy.core.window import Window

    from devtools.demopack import demo_pack
    from kiosk.app import Kiosk, read_window
    from kiosk.config import parse

    EventLoop.ensure_window()
    Window.size = (WIDTH, HEIGHT)
    cfg = parse({"kiosk": {"cache_dir": tempfile.mkdtemp()}, "display": {"width": WIDTH, "height": HEIGHT}},
                env={})  # fmt: skip
    kiosk = Kiosk(cfg, pack=demo_pack())
    Window.add_widget(kiosk.root)
    kiosk.ctl.go("home")
    for _ in range(3):
        EventLoop.idle()
    size = Window.size
    read = timed(lambda: read_window(*size), args.runs)
    both = timed(lambda: picture_hash(read_window(*size)), args.runs)
    print(f"glReadPixels of the {size[0]}x{size[1]} window: {read:.1f} ms; read + hash: {both:.1f} ms")


if __name__ == "__main__":
    main()
