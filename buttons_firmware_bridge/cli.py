"""`a2d bridge`: run the buttons bridge, look into its spool, or simulate a serial button box."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from a2d import logs
from a2d.commandline import app_parser
from a2d.errors import KnownError

from . import config as bridge_config

EXAMPLES = {
    "run": "a2d bridge run --config bridge.toml",
    "status": "a2d bridge status --config bridge.toml",
    "simulate-box": "a2d bridge simulate-box --port /tmp/ttyBox --box box7 --presses 20",
}


def _parser() -> argparse.ArgumentParser:
    p, add = app_parser(
        "a2d bridge",
        "GPIO buttons and serial button boxes onto the local MQTT bus (a2d/v1/buttons/...).",
        EXAMPLES,
        "run",
    )

    add("run", "run the bridge until SIGTERM / Ctrl-C").add_argument(
        "--config", required=True, help="the bridge's bridge.toml"
    )
    st = add("status", "show the spool: events waiting for the broker, and each serial box's counter")
    st.add_argument("--config", required=True, help="the bridge's bridge.toml")
    st.add_argument("--json", action="store_true", help="as one JSON object")
    sim = add("simulate-box", "a simulated serial button box: presses resent until acknowledged")
    sim.add_argument("--port", required=True, help="serial device (e.g. one end of a socat pty pair)")
    sim.add_argument("--box", default="box1", help="the box id (default box1)")
    sim.add_argument("--presses", type=int, default=10, help="how many presses; 0 = until Ctrl-C")
    sim.add_argument("--interval", type=float, default=1.0, help="seconds between presses (default 1)")
    sim.add_argument("--first-seq", type=int, default=1, help="counter of the first press (0-65535)")
    sim.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the last ACKs")
    return p


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(argv)
    if args.command == "simulate-box":
        from a2d.buttons import valid_name

        from .simulate import run

        if not valid_name(args.box):
            raise KnownError(f"box id {args.box!r} must be 1-40 of A-Z a-z 0-9 _ . : -")
        if not 0 <= args.first_seq <= 65535:
            raise KnownError("--first-seq must be 0-65535")
        return run(args.port, args.box, args.presses, args.interval, args.first_seq, args.timeout)
    cfg = bridge_config.load(args.config)
    if args.command == "run":
        logs.setup(cfg.get("log.level"))
        from .bridge import Bridge
        from .gpio import default_pin_factory

        pins = default_pin_factory() if cfg.buttons else None  # gpiozero's pins, only for [[gpio.buttons]]
        Bridge(cfg, pin_factory=pins).run_until_signal()
        return 0
    from .status import status, text

    st = status(cfg.db_path)
    sys.stdout.write(json.dumps(st, indent=2) + "\n" if args.json else text(st))
    return 0
