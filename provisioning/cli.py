"""`a2d provision`: enroll a device (register it and write its first-boot bundle), install the bundle
on the device (firstboot), list, revoke and re-key the fleet; the zero-touch claim's commands come
from :mod:`.claimcli`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from a2d import logs
from a2d.commandline import app_parser
from a2d.firstboot import BOOT_PARTITION, FILE, ROLES

from . import claimcli, enroll, fleet, options
from . import firstboot as device_side

EXAMPLES = {
    "enroll": 'a2d provision enroll --server https://sync.offenburg.de --admin-token "$A2D_ADMIN_TOKEN" '
    "--name edge-rathaus-1 --site rathaus --role edge+kiosk --boot /media/$USER/bootfs",
    "firstboot": "a2d provision firstboot --boot /boot/firmware",
    "list": 'a2d provision list --server https://sync.offenburg.de --admin-token "$A2D_ADMIN_TOKEN"',
    "revoke": 'a2d provision revoke edge-rathaus-1 --server https://sync.offenburg.de --admin-token "$A2D_ADMIN_TOKEN"',
    "rotate-token": "a2d provision rotate-token edge-rathaus-1 --server https://sync.offenburg.de "
    '--admin-token "$A2D_ADMIN_TOKEN" --json',
    **claimcli.EXAMPLES,
}


def _server(p: argparse.ArgumentParser) -> None:
    options.add_server(p)
    p.add_argument("--json", action="store_true", help="print JSON")


def parser() -> argparse.ArgumentParser:
    p, add = app_parser(
        "a2d provision", "Provision devices: enroll or claim, first boot, and the fleet from the admin's side.", EXAMPLES,
        "enroll",
    )  # fmt: skip
    en = add("enroll", "register a device at the sync server and write its first-boot bundle")
    _server(en)
    en.add_argument("--name", required=True, help="a name staff recognise; the device id is its slug")
    en.add_argument("--site", default="", help="the site it stands at, e.g. rathaus")
    en.add_argument("--role", required=True, choices=tuple(ROLES), help="what it runs: " + ", ".join(ROLES))
    where = en.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", type=Path, help="write the bundle into this folder")
    where.add_argument("--boot", type=Path, help="write the bundle onto the SD card's mounted boot partition")
    options.add_bundle(en)

    fb = add("firstboot", "install the first-boot bundle from the boot partition (on the device, as root)")
    fb.add_argument("--boot", type=Path, default=Path(BOOT_PARTITION),
                    help=f"the boot partition, holding {FILE} (default {BOOT_PARTITION})")  # fmt: skip
    fb.add_argument("--root", type=Path, default=Path("/"), help="the root to install into (default /)")
    fb.add_argument(
        "--units", type=Path, help="folder of the a2d-*.service units (default: the installed ones)"
    )
    fb.add_argument("--json", action="store_true", help="print {device_id, role, done: [...]} as JSON")

    _server(
        add(
            "list", "the fleet: name, site, role, last seen, versions, outbox depth, kiosk screens and alerts"
        )
    )
    for name, text in (("revoke", "revoke a device: its token stops working at once"),
                       ("rotate-token", "give a device a new token (shown once); reinstates a revoked one")):  # fmt: skip
        sp = add(name, text)
        sp.add_argument("device", metavar="NAME", help="the device's id or the name it was enrolled with")
        _server(sp)
    claimcli.register(add)
    return p


def _emit(as_json: bool, doc: Any, text: str) -> None:
    sys.stdout.write((json.dumps(doc, ensure_ascii=False) if as_json else text) + "\n")


def _enroll(args: argparse.Namespace) -> None:
    req = options.request(args, args.out or args.boot)
    bundle, path = enroll.enroll(req, options.api(args))
    doc = {**bundle.public(), "bundle": str(path), "files": sorted([*bundle.configs, *bundle.secrets])}
    text = (
        f"enrolled {bundle.device_id} ({bundle.name}) as {bundle.role}, site {bundle.site or '-'}\n"
        f"first-boot bundle: {path} (holds the device's token: keep the card safe until its first start)\n"
        f"it trusts {len(bundle.trusted_keys)} bundle key(s); server {bundle.server_url}"
        + (f" pinned to {bundle.server_pin}" if bundle.server_pin else "")
    )
    _emit(args.json, doc, text)


def main(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)
    logs.setup("info")
    if getattr(args, "func", None) is not None:  # the claim's commands
        return int(args.func(args))
    if args.command == "enroll":
        _enroll(args)
    elif args.command == "firstboot":
        done = device_side.run(args.boot, args.root, args.units)
        _emit(args.json, {"done": done}, "\n".join(done))
    elif args.command == "list":
        found = fleet.rows(options.api(args))
        if args.json:
            sys.stdout.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in found)
        else:
            sys.stdout.write("".join(fleet.line(r) + "\n" for r in found) or "no devices yet\n")
    else:
        api = options.api(args)
        device_id = fleet.resolve(api, args.device)
        if args.command == "revoke":
            doc = api.revoke(device_id)
            _emit(args.json, doc, f"revoked {device_id}: its next upload is refused")
        else:
            doc = api.rotate_token(device_id)
            _emit(args.json, doc, f"new token for {device_id} (shown only now, keep it safe): {doc['token']}")
    return 0
