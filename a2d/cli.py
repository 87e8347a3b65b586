"""The `a2d` command: one entry point that hands over to each app's own CLI, imported lazily.

    a2d edge run --config edge.toml       # the edge agent
    a2d simulate --mqtt 127.0.0.1:1883    # realistic LoRaWAN traffic
    a2d demo                              # the stack on one machine

Known errors print one line and exit 1; set ``A2D_DEBUG=1`` for the traceback.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

from .errors import KnownError

#: subcommand -> (module with ``main(argv)``, one-line help). Imported only when used, so that
#: ``a2d edge`` never loads Kivy and the apps stay independent of each other.
COMMANDS: dict[str, tuple[str, str]] = {
    "edge": ("edge_agent.cli", "the edge agent: ingest, store, status"),
    "simulate": ("devtools.simulate", "publish realistic ChirpStack / The Things Stack uplinks"),
    "server": ("sync_server.cli", "the sync server: device registry, uploads, heartbeats"),
    "kiosk": ("kiosk.cli", "the touchscreen kiosk (Kivy); --selftest renders every screen to PNG"),
    "bridge": ("buttons_firmware_bridge.cli", "GPIO buttons and serial button boxes onto the local MQTT bus"),
    "provision": (
        "provisioning.cli",
        "enroll or claim devices, install their first-boot bundle, list and revoke them",
    ),
    "demo": ("devtools.demo", "run a broker, the edge agent and simulated devices on this machine"),
}


def usage() -> str:
    lines = ["usage: a2d <command> [options]   (a2d <command> --help for each)", "", "commands:"]
    lines += [f"  {name:<10} {text}" for name, (_, text) in COMMANDS.items()]
    lines += ["", "example:", "  a2d edge run --config edge.toml"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        sys.stdout.write(usage() + "\n")
        return 0 if args else 2
    if args[0] == "--version":
        from . import __version__

        sys.stdout.write(f"a2d {__version__}\n")
        return 0
    if args[0] not in COMMANDS:
        sys.stderr.write(f"a2d: unknown command {args[0]!r}\n\n{usage()}\n")
        return 2
    module = importlib.import_module(COMMANDS[args[0]][0])
    try:
        return int(module.main(args[1:]) or 0)
    except KnownError as exc:
        if os.environ.get("A2D_DEBUG"):
            raise
        sys.stderr.write(f"a2d {args[0]}: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
