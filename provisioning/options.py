"""Options that several ``a2d provision`` commands share: the sync server's (``enroll``, ``claim``, the
fleet's) and what goes into a device's bundle (``enroll``, ``claim``), and what is made from them.

The admin token may come from the environment variable :data:`ADMIN_TOKEN_ENV` instead of
``--admin-token``: other users on the laptop see a command line in the process list, not another
user's environment.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from a2d.errors import KnownError

from . import enroll
from .adminapi import AdminApi

ADMIN_TOKEN_ENV = "A2D_ADMIN_TOKEN"


def add_server(p: argparse.ArgumentParser, *, required: bool = True, timeout: str = "--timeout") -> None:
    """``--server``, ``--admin-token``, ``--pin``, ``--ca-file``, the request timeout, ``--allow-insecure``."""
    p.add_argument("--server", required=required, default="",
                   help="the sync server, e.g. https://sync.offenburg.de")  # fmt: skip
    p.add_argument("--admin-token", default="",
                   help=f"the admin token (a2d server admin-token made it); default: ${ADMIN_TOKEN_ENV}, which"
                   " the process list does not show")  # fmt: skip
    p.add_argument(
        "--pin", default="", help="SHA-256 pin of the server's certificate, when it is self-signed"
    )
    p.add_argument(
        "--ca-file", default="", help="CA bundle to verify the server with (default: the system's)"
    )
    p.add_argument(timeout, dest="server_timeout", type=float, default=15.0,
                   help="seconds each request to the server may take (default 15)")  # fmt: skip
    p.add_argument(
        "--allow-insecure", action="store_true",
        help="allow a plain http:// server on another machine (a test server only: tokens cross unencrypted)",
    )  # fmt: skip


def admin_token(args: argparse.Namespace) -> str:
    """``--admin-token``, else :data:`ADMIN_TOKEN_ENV`; a clear message when neither is there."""
    token = str(args.admin_token or os.environ.get(ADMIN_TOKEN_ENV, "")).strip()
    if not token:
        raise KnownError(
            f"no admin token: set {ADMIN_TOKEN_ENV} (not shown in the process list) or give --admin-token"
        )
    return token


def api(args: argparse.Namespace) -> AdminApi:
    return AdminApi(args.server, admin_token(args), pin=args.pin, ca_file=args.ca_file,
                    timeout=args.server_timeout, allow_insecure=args.allow_insecure)  # fmt: skip


def add_bundle(p: argparse.ArgumentParser) -> None:
    """What goes into the device's configs besides its name, site and role."""
    p.add_argument("--trusted-key", action="append", default=[], metavar="KEY",
                   help="a bundle public key (base64) to trust besides the server's (repeatable)")  # fmt: skip
    p.add_argument("--source", default="chirpstack", choices=("chirpstack", "tts", "none"),
                   help="the network server whose uplinks the agent reads from the local broker")  # fmt: skip
    p.add_argument("--lotsen-pin-hash", default="", help="kiosk.pin_hash (a2d kiosk hash-pin makes it)")
    p.add_argument("--agent", default="", help="role kiosk: the device id of the agent it is paired with")
    p.add_argument("--agent-url", default="", help="role kiosk: that agent's address (default: zeroconf)")
    p.add_argument("--agent-pin", default="", help="role kiosk: the pin of that agent's certificate")
    p.add_argument("--kiosk-token-file", type=Path, help="role kiosk: the token `a2d edge kiosk add` printed")


def request(args: argparse.Namespace, out: Path | None) -> enroll.Request:
    """The :class:`enroll.Request` the options describe."""
    kiosk_token = ""
    if args.kiosk_token_file is not None:
        try:
            kiosk_token = args.kiosk_token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise KnownError(f"cannot read {args.kiosk_token_file}: {exc.strerror or exc}") from None
    return enroll.Request(
        name=args.name, site=args.site, role=args.role, out=out, server_pin=args.pin,
        trusted_keys=tuple(args.trusted_key), allow_insecure=args.allow_insecure,
        source="" if args.source == "none" else args.source, pin_hash=args.lotsen_pin_hash,
        agent=args.agent, agent_url=args.agent_url, agent_pin=args.agent_pin, kiosk_token=kiosk_token,
    )  # fmt: skip
