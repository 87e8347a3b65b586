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
from a2d.firstboot import ROLES

from . import enroll, options
from .seams import AdminBundle, admin_bundle_maker, device_installer

log = logging.getLogger(__name__)

DEFAULT_LOCK_FILE = Path("/var/lib/a2d/claim-lock.json")

EXAMPLES = {
    "await-claim": "a2d provision await-claim            # on a Pi without its bundle (a systemd unit runs it)",
    "discover": "a2d provision discover --timeout 5",
    "claim": "a2d provision claim 10000000a1b2c3d4 --code 493027 --name kiosk-rathaus-1 --site rathaus "
    "--role edge+kiosk --server https://a2d.example.org   # the admin token from $A2D_ADMIN_TOKEN",
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
    p.add_argument("--root", type=Path, default=Path("/"),
                   help="the root to install the bundle into, as firstboot does (default /)")  # fmt: skip
    p.add_argument(
        "--units", type=Path, help="folder of the a2d-*.service units (default: the installed ones)"
    )
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
    options.add_server(p, required=False, timeout="--server-timeout")
    options.add_bundle(p)
    p.add_argument("--address", default="", metavar="HOST[:PORT]",
                   help="the device's address, to skip the search (identity is still the serial and code)")  # fmt: skip
    p.add_argument(
        "--timeout", type=float, default=10.0, help="seconds to search for the device (default 10)"
    )
    p.add_argument("--interface", action="append", default=[], metavar="ADDR",
                   help="search only from this local IPv4 address (repeatable)")  # fmt: skip
    p.add_argument("--bundle-file", type=Path, default=None,
                   help="send this prepared bundle instead of registering the device (testing)")  # fmt: skip
    p.add_argument(
        "--json", action="store_true", help="print {device_id, name, site, role, serial, ...} as JSON"
    )
    p.set_defaults(func=cmd_claim)


def cmd_await_claim(args: argparse.Namespace) -> int:
    from .claimd import Responder, await_claim, new_code
    from .firstboot import installed
    from .lockout import Lockout
    from .serial import read_serial

    done = installed(args.root)
    if done is not None:
        raise KnownError(f"this device is set up already as {done.get('device_id')} ({done.get('role')}):"
                         f" nothing to claim (see {args.root / 'etc/a2d/device.json'})")  # fmt: skip
    serial = read_serial(args.serial)
    display = None
    if sys.stdout.isatty():  # the unit gives it the Pi's console: the code large on the screen
        from .claimscreen import Console

        display = Console(sys.stdout).show
    responder = Responder(serial, new_code(), Lockout(args.lock_file), device_installer(args.root, args.units),
                          host=args.host, port=args.port, notice=args.notice, display=display)  # fmt: skip
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
    if args.bundle_file is None:
        if not args.server:
            raise KnownError(
                "--server is needed to register the device (or --bundle-file with a prepared bundle)"
            )
        api = options.api(args)
    else:
        api = None
    maker = admin_bundle_maker(options.request(args, None), api, args.bundle_file)
    maker.prepare()  # before the device is contacted: nothing registered if this fails
    host, port = _find(args, serial)
    try:
        claim(host, port, serial, args.code, maker.make)
    except KnownError as exc:
        if maker.made is None:
            raise
        raise enroll.registered_without_bundle(
            exc, maker.made.device_id, "claim it again (the device still waits, under a new id)"
        ) from None
    _summary(args, serial, host, port, maker)
    return 0


def _find(args: argparse.Namespace, serial: str) -> tuple[str, int]:
    if args.address:
        return _address(args.address)
    from .discover import discover

    waiting = [w for w in discover(args.timeout, args.interface or None, serial=serial) if w.serial == serial]
    if not waiting:
        raise KnownError(f"no device {serial} is waiting to be claimed on this network "
                         f"(searched {args.timeout:g} s; try --address)")  # fmt: skip
    return waiting[0].address, waiting[0].port


def _summary(args: argparse.Namespace, serial: str, host: str, port: int, maker: AdminBundle) -> None:
    bundle = maker.made
    doc: dict[str, object] = {"serial": serial, "address": f"{host}:{port}"}
    if bundle is None:  # a prepared file
        doc.update(name=args.name, site=args.site, role=args.role, device_id=None)
        text = f"claimed {serial} at {host}:{port} with the bundle {args.bundle_file}"
    else:
        doc.update(bundle.public())
        doc["files"] = sorted([*bundle.configs, *bundle.secrets])
        text = (
            f"claimed {serial} at {host}:{port} as {bundle.device_id} ({bundle.name}), {bundle.role},"
            f" site {bundle.site or '-'}\n"
            f"it installed its bundle and starts its apps; it trusts {len(bundle.trusted_keys)} bundle key(s);"
            f" server {bundle.server_url}" + (f" pinned to {bundle.server_pin}" if bundle.server_pin else "")
        )
    sys.stdout.write((json.dumps(doc, ensure_ascii=False) if args.json else text) + "\n")
