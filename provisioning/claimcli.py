"""The claim's commands: ``a2d provision await-claim`` (device), ``discover`` and ``claim`` (admin).

:func:`register` adds them to the ``a2d provision`` parser; each sets ``func`` to its handler.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from a2d import claimwire
from a2d.errors import KnownError

from . import claimproto
from .seams import ROLES, admin_bundle_maker, device_installer

log = logging.getLogger(__name__)

DEFAULT_LOCK_FILE = Path("/var/lib/a2d/claim-lock.json")
DEFAULT_BUNDLE_OUT = Path("/var/lib/a2d/claimed-bundle")

EXAMPLES = {
    "await-claim": "a2d provision await-claim            # on a Pi without its bundle (a systemd unit runs it)",
    "discover": "a2d provision discover --timeout 5",
    "claim": "a2d provision claim 10000000a1b2c3d4 --code 493027 --name kiosk-rathaus-1 --site rathaus "
    "--role edge+kiosk --server https://a2d.example.org --admin-token $A2D_ADMIN_TOKEN",
}

Add = Callable[[str, str], argparse.ArgumentParser]


def register(add: Add) -> None:
    p = add(
        "await-claim",
        "wait to be claimed: advertise _a2d-setup._tcp, show a code on the kiosk, take the bundle",
    )
    p.add_argument("--serial", default="", help="this device's serial number (default: the Pi's own)")
    p.add_argument("--host", default="0.0.0.0", help="address to listen on (default: all)")  # noqa: S104
    p.add_argument(
        "--port",
        type=int,
        default=claimwire.DEFAULT_PORT,
        help=f"TCP port (default {claimwire.DEFAULT_PORT})",
    )
    p.add_argument("--notice", type=Path, default=claimwire.DEFAULT_NOTICE,
                   help=f"the file the kiosk shows the code from (default {claimwire.DEFAULT_NOTICE})")  # fmt: skip
    p.add_argument("--lock-file", type=Path, default=DEFAULT_LOCK_FILE,
                   help=f"where wrong codes are counted, kept across restarts (default {DEFAULT_LOCK_FILE})")  # fmt: skip
    p.add_argument("--bundle-out", type=Path, default=DEFAULT_BUNDLE_OUT,
                   help=f"where the received bundle is kept, mode 0600 (default {DEFAULT_BUNDLE_OUT})")  # fmt: skip
    p.add_argument("--advertise-on", action="append", default=[], metavar="ADDR",
                   help="IPv4 address to advertise on (repeatable; default: every non-loopback one)")  # fmt: skip
    p.add_argument("--no-advertise", action="store_true", help="do not advertise (claim by --address only)")
    p.set_defaults(func=cmd_await_claim)

    p = add("discover", "list the devices on the LAN waiting to be claimed (serial, address, port)")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to listen for adverts (default 5)")
    p.add_argument("--interface", action="append", default=[], metavar="ADDR",
                   help="search only from this local IPv4 address (repeatable; default: all)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="one JSON list of {serial, address, port}")
    p.set_defaults(func=cmd_discover)

    p = add("claim", "send a device its bundle, over a channel the code on its screen authenticates")
    p.add_argument("serial", help="the serial number the device's screen shows")
    p.add_argument("--code", required=True, help="the six-digit code the device's screen shows")
    p.add_argument("--name", required=True, help="the device's name, e.g. kiosk-rathaus-1")
    p.add_argument("--site", required=True, help="the site it stands at, e.g. rathaus")
    p.add_argument("--role", required=True, choices=ROLES, help="what it runs")
    p.add_argument("--server", default="", help="the sync server's address (to register the device)")
    p.add_argument("--admin-token", default="", help="the server's admin token")
    p.add_argument("--address", default="", metavar="HOST[:PORT]",
                   help="the device's address, to skip the search (identity is still the serial and code)")  # fmt: skip
    p.add_argument(
        "--timeout", type=float, default=10.0, help="seconds to search for the device (default 10)"
    )
    p.add_argument("--interface", action="append", default=[], metavar="ADDR",
                   help="search only from this local IPv4 address (repeatable)")  # fmt: skip
    p.add_argument("--bundle-file", type=Path, default=None,
                   help="send this prepared bundle instead of making one (testing)")  # fmt: skip
    p.set_defaults(func=cmd_claim)


def cmd_await_claim(args: argparse.Namespace) -> int:
    from .claimd import Responder, await_claim, new_code
    from .lockout import Lockout
    from .serial import read_serial

    serial = read_serial(args.serial)
    responder = Responder(serial, new_code(), Lockout(args.lock_file), device_installer(args.bundle_out),
                          host=args.host, port=args.port, notice=args.notice)  # fmt: skip
    advertise = None
    if not args.no_advertise:
        from .advert import advertise as start_advert

        def advertise(port: int) -> Callable[[], None]:
            return start_advert(serial, port, args.advertise_on or None)

    stop = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    try:
        claimed = await_claim(responder, advertise=advertise, stop=stop)
    except OSError as exc:
        raise KnownError(
            f"cannot wait for a claim on {args.host}:{args.port}: {exc.strerror or exc}"
        ) from None
    if claimed:
        log.info("device %s is claimed", serial)
        return 0
    return 1


def cmd_discover(args: argparse.Namespace) -> int:
    from .discover import discover

    found = discover(args.timeout, args.interface or None)
    if args.json:
        sys.stdout.write(json.dumps([w.as_json() for w in found]) + "\n")
    elif not found:
        sys.stdout.write(f"no device is waiting to be claimed (searched {args.timeout:g} s)\n")
    else:
        sys.stdout.write(f"{'serial':<20} {'address':<16} port\n")
        for w in found:
            sys.stdout.write(f"{w.serial:<20} {w.address:<16} {w.port}\n")
    return 0


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep:
        return text, claimwire.DEFAULT_PORT
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise KnownError(f"--address {text!r}: the port must be a number from 1 to 65535")
    return host, int(port)


def cmd_claim(args: argparse.Namespace) -> int:
    from .claimclient import claim

    serial = args.serial.strip().lower()
    if not claimwire.valid_serial(serial):
        raise KnownError(f"{args.serial!r} is not a serial number (4-64 letters, digits or '-')")
    if not claimwire.valid_code(args.code):
        raise KnownError(f"--code must be the {claimwire.CODE_DIGITS} digits the device's screen shows")
    if args.address:
        host, port = _address(args.address)
    else:
        from .discover import discover

        waiting = [
            w for w in discover(args.timeout, args.interface or None, serial=serial) if w.serial == serial
        ]
        if not waiting:
            raise KnownError(f"no device {serial} is waiting to be claimed on this network "
                             f"(searched {args.timeout:g} s; try --address)")  # fmt: skip
        host, port = waiting[0].address, waiting[0].port
    bundle = admin_bundle_maker(args.server, args.admin_token, args.bundle_file)(
        args.name, args.site, args.role
    )
    if len(bundle) > claimproto.MAX_BUNDLE_BYTES:
        raise KnownError(
            f"the bundle is {len(bundle)} bytes; a device takes at most {claimproto.MAX_BUNDLE_BYTES}"
        )
    claim(host, port, serial, args.code, bundle)
    sys.stdout.write(f"claimed {serial} at {host}:{port} as {args.name} ({args.role}, site {args.site})\n")
    return 0
