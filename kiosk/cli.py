"""`a2d kiosk`: run the touchscreen kiosk, render its selftest, or make a Lotsen PIN hash.

    a2d kiosk --config kiosk.toml         # the kiosk (a window on a desktop, full screen on a Pi)
    a2d kiosk --selftest out/             # every screen to PNG + report.json (the demo: config and pack)
    a2d kiosk --selftest out/ --at 2026-06-07T12:00:00+02:00   # ... as they look at that moment
    a2d kiosk --fake-agent                # no edge agent: an agent in memory serves the demo pack
    a2d kiosk hash-pin                    # asks for a PIN twice, prints the hash for kiosk.pin_hash
    a2d kiosk --wall                      # the wall: a large display without touch (docs/wall.md)
    a2d kiosk --wall --selftest out/      # every wall view to PNG at 1080p and 4K + report.json

Kivy is configured through environment variables and ``kivy.config`` before it is first imported
(window size, full screen, no Kivy config file or log file in the home directory).
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from a2d import logs
from a2d.errors import KnownError

from . import config as kiosk_config

if TYPE_CHECKING:
    from a2d.contentpack import ContentPack

    from .fakeagent import FakeAgent
    from .ports import Backlight

EXAMPLES = (
    "examples:\n  a2d kiosk --config kiosk.toml\n  a2d kiosk --selftest /tmp/kiosk-shots\n"
    "  a2d kiosk --selftest /tmp/sunday --at 2026-06-07T12:00:00+02:00\n"
    "  a2d kiosk --fake-agent\n  a2d kiosk hash-pin\n  a2d kiosk --wall --fake-agent\n"
    "  a2d kiosk --wall --selftest /tmp/wall-shots"
)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="a2d kiosk",
        description="The touchscreen kiosk (Kivy). `a2d kiosk hash-pin` makes a Lotsen PIN hash.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--config", help="the kiosk's kiosk.toml (default: the demo, with its configuration and content pack)"
    )
    p.add_argument(
        "--selftest", metavar="OUT_DIR", help="render every screen to PNG files and report.json, then exit"
    )
    p.add_argument(
        "--at",
        metavar="TIME",
        help="with --selftest: render every screen as it looks at TIME (ISO 8601, e.g."
        " 2026-06-07T12:00:00+02:00; without a zone: the site's local time), open or after hours;"
        f" default: {DEFAULT_AT_TEXT}, when the demo's office is open",
    )
    p.add_argument(
        "--fake-agent",
        action="store_true",
        help="run without an edge agent: an agent in memory serves the demo content pack and keeps"
        " votes and help requests until the kiosk ends (nothing is sent, nothing is stored)",
    )
    p.add_argument(
        "--wall",
        action="store_true",
        help='run as a wall (as kiosk.role = "wall"): a large display without touch that cycles through'
        " results, the forecast and a transparency notice (docs/wall.md)",
    )
    return p


#: the selftest's moment without --at (kiosk.selftest.DEFAULT_AT, written out: no Kivy here)
DEFAULT_AT_TEXT = "2026-06-09T10:00:00+02:00"


def _at(text: str | None) -> datetime | None:
    """``--at``: an ISO 8601 time, or a one-line error."""
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise KnownError(
            f"--at {text[:40]!r} is no ISO 8601 time such as 2026-06-07T12:00:00+02:00"
        ) from None


def prepare_kivy(cfg: kiosk_config.KioskConfig, *, offscreen: bool = False) -> None:
    """Set Kivy's environment and window config; must run before ``kivy`` is imported."""
    env = os.environ
    env.setdefault("KIVY_NO_ARGS", "1")
    env.setdefault("KIVY_NO_FILELOG", "1")
    env.setdefault("KIVY_LOG_MODE", "PYTHON")
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        env.setdefault("KCFG_KIVY_LOG_LEVEL", "warning")
    if "KIVY_HOME" not in env:
        env.setdefault("KIVY_NO_CONFIG", "1")  # never write ~/.kivy
    if offscreen:
        env.setdefault("SDL_VIDEODRIVER", "offscreen")
    elif cfg.fullscreen and not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        env.setdefault("SDL_VIDEODRIVER", "kmsdrm")  # a Pi without a desktop: straight to the display
    elif not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or env.get("SDL_VIDEODRIVER")):
        logging.getLogger(__name__).warning(
            "no display: the kiosk window will not be visible (set display.fullscreen = true on a Pi "
            "without a desktop, or use --selftest OUT_DIR for screenshots)"
        )
    from kivy.config import Config

    Config.set("graphics", "width", str(cfg.width))
    Config.set("graphics", "height", str(cfg.height))
    Config.set("graphics", "fullscreen", "auto" if cfg.fullscreen and not offscreen else "0")
    Config.set("graphics", "resizable", "0")
    Config.set("input", "mouse", "mouse,disable_multitouch")
    Config.set("kivy", "exit_on_escape", "0" if cfg.fullscreen else "1")
    if cfg.fullscreen:
        Config.set("graphics", "show_cursor", "0")


def _hash_pin(argv: Sequence[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        sys.stdout.write("usage: a2d kiosk hash-pin\n\nAsks for a PIN (6-12 digits) twice and prints the\n"
                         "hash for kiosk.pin_hash in kiosk.toml. Reads the PIN from stdin when it is no terminal.\n")  # fmt: skip
        return 0
    from .lotsen import hash_pin

    if sys.stdin.isatty():
        pin = getpass.getpass("Lotsen PIN (6-12 digits): ")
        if getpass.getpass("again: ") != pin:
            raise KnownError("the two PINs differ")
    else:
        pin = sys.stdin.readline().strip()
    sys.stdout.write(hash_pin(pin) + "\n")
    return 0


def _say_demo(selftest: bool) -> None:
    """Without ``--config`` the kiosk runs the demo: say so where an admin looks (stderr, the log)."""
    what = "the selftest renders" if selftest else "this is"
    text = (
        f"no --config: {what} the demo configuration (the Offenburg demo content pack, the demo Lotsen"
        " PIN, not paired with an agent); a kiosk in an office runs with a2d kiosk --config kiosk.toml"
    )
    sys.stderr.write(f"a2d kiosk: {text}\n")
    logging.getLogger(__name__).warning("%s", text)


def _demo_pack() -> ContentPack:
    """The demo's content pack, from the developer tools: taken only when the kiosk runs as the demo.

    A kiosk with a ``kiosk.toml`` shows its agent's pack, its cached one, or "no content yet".
    """
    from devtools.demopack import demo_pack

    return demo_pack()


def _fake_agent(cfg: kiosk_config.KioskConfig, demo: ContentPack | None) -> FakeAgent:
    """The agent in memory of ``--fake-agent``, serving the demo pack (said on stderr and in the log);
    ``demo``: the demo pack if it was read already."""
    from .fakeagent import FakeAgent

    text = (
        "--fake-agent: no edge agent; an agent in memory serves the demo content pack, votes and help"
        " requests end with the kiosk"
    )
    sys.stderr.write(f"a2d kiosk: {text}\n")
    logging.getLogger(__name__).warning("%s", text)
    from .fakeagent import demo_live

    return FakeAgent(demo if demo is not None else _demo_pack(), kiosk_id=cfg.kiosk_id, live=[demo_live()])


def _backlight(cfg: kiosk_config.KioskConfig, fake: bool) -> Backlight | None:
    """The night screen's adapter for a kiosk.toml; None (the screen stays on) for the demo and
    ``--fake-agent`` (a laptop's screen does not go dark because the demo office closed)."""
    from .backlight import for_display

    if cfg.demo or fake:
        return None
    return for_display(cfg.backlight, cfg.backlight_device, cfg.dim_percent)


def uses_demo_pin(cfg: kiosk_config.KioskConfig) -> bool:
    """The demo configuration, or a kiosk.toml whose pin_hash is the demo PIN's."""
    if cfg.demo:
        return True
    if not cfg.pin_hash:
        return False
    from .lotsen import verify_pin

    return verify_pin(kiosk_config.DEMO_PIN, cfg.pin_hash)


def main(argv: Sequence[str]) -> int:
    started = time.monotonic()
    if argv and argv[0] == "hash-pin":
        return _hash_pin(argv[1:])
    args = _parser().parse_args(argv)
    at = _at(args.at)
    if at is not None and not args.selftest:
        raise KnownError("--at works with --selftest only (a running kiosk keeps the time of its clock)")
    logs.setup("info")
    cfg = kiosk_config.load(args.config)
    pack = _demo_pack() if cfg.demo else None
    if cfg.demo:
        _say_demo(bool(args.selftest))
    if args.wall or cfg.role == "wall":
        return _wall(cfg, args, pack, started)
    if args.selftest:
        prepare_kivy(cfg, offscreen=True)
        from .selftest import run

        out = Path(args.selftest)
        report = run(cfg, out, pack, agent=_fake_agent(cfg, pack) if args.fake_agent else None, at=at)
        s = report["summary"]
        shown = {"agent": "the agent's content", "demo": "the demo content", "none": "no content yet"}
        target = (
            f"{s['smallest_target_dp']} dp" if s["smallest_target_dp"] is not None else "none (no buttons)"
        )
        sys.stdout.write(
            f"{s['screenshots']} screenshots of {shown[report['content']]} in {out}/ (report.json): smallest"
            f" touch target {target}, lowest text contrast {s['lowest_contrast']}:1,"
            f" {s['clipped_labels']} clipped labels\n"
            f"shown as at {report['at']}{' (the default: the demo office is open then)' if report['at_default'] else ''}:"
            f" {report['mode']}{' (after hours: no help requests)' if report['mode'] == 'closed' else ''},"
            f" site {report['site'] or 'none (no device.site)'}\n"
        )
        return 0 if s["clipped_labels"] == 0 else 1
    if cfg.fullscreen and uses_demo_pin(cfg):
        raise KnownError(
            "the kiosk does not run full screen with the demo Lotsen PIN: give it its own kiosk.toml"
            " (a2d kiosk --config kiosk.toml) with a pin_hash from `a2d kiosk hash-pin`"
        )
    prepare_kivy(cfg)
    from .app import Kiosk, KioskApp

    agent = (lambda: _fake_agent(cfg, pack)) if args.fake_agent else None
    KioskApp(Kiosk(cfg, pack=pack, backlight=_backlight(cfg, args.fake_agent)), started=started,
             agent=agent).run()  # fmt: skip
    return 0


def _wall(
    cfg: kiosk_config.KioskConfig, args: argparse.Namespace, pack: ContentPack | None, started: float
) -> int:
    """``a2d kiosk --wall``: the wall, or its selftest (``--selftest``)."""
    import dataclasses

    from .wall.settings import WallSettings

    settings = WallSettings.from_raw(cfg.raw)
    demo = cfg.demo or args.fake_agent
    if cfg.demo and not settings.register_url:
        from .wall.demo import DEMO_REGISTER_URL

        settings = dataclasses.replace(settings, register_url=DEMO_REGISTER_URL)
    if demo:
        sys.stderr.write(
            "a2d kiosk: the wall shows demo data (sample votes, a sample live question and forecast)\n"
        )

    def agent() -> Any:
        if demo:
            from .wall.demo import demo_agent

            return demo_agent(pack if pack is not None else _demo_pack(), kiosk_id=cfg.kiosk_id)
        from .client import AgentClient

        return AgentClient.from_config(
            cfg, **({"discover": False, "timeout": 1.0, "send": False} if args.selftest else {})
        )

    if args.selftest:
        prepare_kivy(cfg, offscreen=True)
        from .wall.selftest import passed, run

        out = Path(args.selftest)
        source = agent()
        if not demo:
            source.refresh()
        report = run(cfg, out, source, data="demo" if demo else "agent", settings=settings, at=_at(args.at))
        s = report["summary"]
        sys.stdout.write(
            f"{s['views']} wall views at 1920x1080 ({s['pictures']} pictures with 4K) in {out}/ (report.json):"
            f" smallest text {report['smallest_text_px']} px, lowest contrast {s['lowest_contrast']}:1,"
            f" {s['clipped_labels']} clipped labels\n"
        )
        return 0 if passed(report) else 1
    prepare_kivy(cfg)
    from .wall.app import WallApp

    logging.getLogger(__name__).info("wall starting after %.3f s", time.monotonic() - started)
    WallApp(cfg, agent, settings=settings, backlight=_backlight(cfg, demo)).run()
    return 0
