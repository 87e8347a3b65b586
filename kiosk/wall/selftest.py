"""``a2d kiosk --wall --selftest OUT_DIR``: every wall view as a PNG at 1920 x 1080
(``wall-<view>.png``) and at 3840 x 2160 (``wall-<view>-4k.png``), and ``report.json``.

The views show the demo data (:mod:`.demo`) in the demo configuration or with ``--fake-agent``,
else what the configured agent serves (read only, nothing is sent). For each picture the report
holds its size, ``smallest_text_px`` (the smallest text really drawn, :mod:`.measure`), the lowest
text contrast and any clipped label; the top level ``"role": "wall"`` and the smallest text of all
1080p views (the 4K ones must be twice that: the text scales with the screen).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from ..config import KioskConfig
from ..i18n import Translator
from ..theme import NORMAL
from .feed import Feed, WallSource
from .settings import WallSettings
from .widgets import BASE_LINES, MIN_TEXT_PX

log = logging.getLogger(__name__)

#: (file suffix, window size)
SIZES: tuple[tuple[str, tuple[int, int]], ...] = (("", (1920, 1080)), ("-4k", (3840, 2160)))


def view_name(key: str) -> str:
    """``results:zufriedenheit`` → ``results-zufriedenheit``."""
    return key.replace(":", "-")


def run(cfg: KioskConfig, out_dir: Path, agent: WallSource, *, data: str,
        settings: WallSettings | None = None, at: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """Render every view at each size into ``out_dir``; returns the report (also report.json).
    ``data`` says where the numbers come from ("demo" or "agent"); ``at`` (``--at``) the moment
    whose current questions are shown (default: now)."""
    from kivy.base import EventLoop
    from kivy.core.window import Window

    from .measure import measure_view
    from .screen import WallScreen

    out_dir.mkdir(parents=True, exist_ok=True)
    settings = dataclasses.replace(settings or WallSettings.from_raw(cfg.raw), fade_s=0.0)
    EventLoop.ensure_window()
    before = tuple(Window.size)
    moment = (
        (at if at.tzinfo is not None else at.astimezone()) if at is not None else datetime.now().astimezone()
    )
    snap = Feed(agent, poll_s=settings.poll_s, now=lambda: moment).read()
    site = cfg.site or (snap.pack.sites[0].id if snap.pack is not None and snap.pack.sites else "")
    screen = WallScreen(settings, site=site, translator=Translator(cache_dir=cfg.cache_dir))
    started = time.monotonic()
    report: dict[str, Any] = {"role": "wall", "content": "agent" if snap.pack is not None else "none",
                              "data": data, "at": moment.isoformat(), "site": site, "register_url": settings.register_url,
                              "theme": NORMAL.name, "views": {}}  # fmt: skip
    Window.add_widget(screen.root)
    try:
        for suffix, size in SIZES:
            Window.size = size
            _pump()
            screen.apply(snap)
            for index, view in enumerate(screen.views):
                screen.show(index)
                _pump()
                name = f"wall-{view_name(view.key)}{suffix}"
                png = out_dir / f"{name}.png"
                screen.root.export_to_png(str(png))
                entry = measure_view(screen.root, (float(size[0]), float(size[1])))
                entry.update(png=png.name, view=view.key, size=list(size))
                report["views"][name] = entry
    finally:
        Window.remove_widget(screen.root)
        Window.size = before
    views = report["views"].values()
    hd = [v for v in views if v["size"] == [1920, 1080]]
    report["smallest_text_px"] = min(
        (v["smallest_text_px"] for v in hd if v["smallest_text_px"]), default=None
    )
    report["summary"] = {
        "views": len(hd),
        "pictures": len(report["views"]),
        "lowest_contrast": min((v["min_contrast"] for v in views), default=None),
        "clipped_labels": sum(len(v["clipped"]) for v in views),
        "too_small": sorted(v["png"] for v in views
                            if (v["smallest_text_px"] or 0) < MIN_TEXT_PX * v["size"][1] / BASE_LINES - 0.5),
        "seconds": round(time.monotonic() - started, 1),
    }  # fmt: skip
    (out_dir / "report.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return report


def passed(report: dict[str, Any]) -> bool:
    """Readable: nothing under 32 px (64 px at 4K), contrast 4.5:1 at least, no label clipped."""
    s = report["summary"]
    return (s["views"] >= 1 and not s["too_small"] and s["clipped_labels"] == 0
            and (s["lowest_contrast"] or 0) >= NORMAL.required_contrast)  # fmt: skip


def _pump(frames: int = 6) -> None:
    from kivy.base import EventLoop

    for _ in range(frames):
        EventLoop.idle()
