"""``a2d provision enroll``: register a device at the sync server and write its first-boot bundle.

The server gives the device its id and token; this side adds what the device must trust (the
server's certificate pin, the town's bundle keys) and, where kiosk and agent share the Pi, pairs
them: a kiosk token whose hash goes into the agent's ``kiosks.json``. The result is one file,
:data:`a2d.firstboot.FILE`, in ``--out DIR`` or on the card's boot partition (``--boot PATH``).

The zero-touch claim uses the same steps without a folder: :func:`check`, :func:`with_server_keys`
before it talks to the device, :func:`register` once the device proved the code, and sends
``bundle.to_bytes()``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path

from a2d import kioskpairing
from a2d.errors import KnownError
from a2d.firstboot import APPS, FILE, ROLES, FirstbootBundle
from a2d.localapi import DEFAULT_PORT
from a2d.timeutil import utc_now

from . import configs, rootfs
from .adminapi import AdminApi

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Request:
    """What the admin asked for on the command line."""

    name: str
    site: str
    role: str
    #: the folder the bundle is written to; None when it goes another way (the claim)
    out: Path | None = None
    server_pin: str = ""
    trusted_keys: tuple[str, ...] = ()
    allow_insecure: bool = False
    source: str = "chirpstack"
    pin_hash: str = ""
    #: role kiosk alone: the agent it is paired with, and the token `a2d edge kiosk add` gave there
    agent: str = ""
    agent_url: str = ""
    agent_pin: str = ""
    kiosk_token: str = ""


def check(req: Request) -> None:
    """Refuse what cannot work before anything is registered at the server (``req.out`` when given)."""
    if req.role not in ROLES:
        raise KnownError(f"--role must be one of {', '.join(ROLES)}, not {req.role!r:.40}")
    if req.role == "kiosk" and not (req.agent and req.kiosk_token):
        raise KnownError(
            "a kiosk without its own agent pairs with another device's agent: give --agent DEVICE_ID and"
            " --kiosk-token-file FILE (the token `a2d edge kiosk add` printed there)"
        )
    if req.out is not None:
        check_out(req.out)


def check_out(out: Path) -> None:
    """Refuse a folder the bundle cannot be written to, or that holds one not yet installed."""
    if not out.is_dir():
        raise KnownError(f"{out} is not a folder (for --boot: the SD card's mounted boot partition)")
    if not os.access(out, os.W_OK):
        raise KnownError(f"cannot write to {out}")
    if (out / FILE).exists():
        raise KnownError(
            f"{out / FILE} exists already (a bundle not yet installed): remove it first, or choose another card"
        )


def build(req: Request, api: AdminApi, registered: dict[str, str]) -> FirstbootBundle:
    """The bundle of the device the server just ``registered`` ({device_id, token, ...})."""
    device_id = registered["device_id"]
    device = configs.Device(
        device_id=device_id, name=req.name, site=req.site, server_url=api.url, server_pin=req.server_pin,
        trusted_keys=req.trusted_keys, allow_insecure=req.allow_insecure, source=req.source,
    )  # fmt: skip
    apps = ROLES[req.role]
    files: dict[str, str] = {}
    secrets: dict[str, str] = {}
    kiosks: list[dict[str, str]] = []
    if "edge" in apps:
        files[APPS["edge"][0]] = configs.edge_toml(device)
        secrets["sync.token"] = registered["token"]
    if "kiosk" in apps:
        if "edge" in apps:  # the agent beside it: paired here, talking over loopback
            token = kioskpairing.new_token()
            kiosk_id = f"{device_id}-kiosk"[:64]
            kiosks.append({"kiosk_id": kiosk_id, "name": f"{req.name} (kiosk)",
                           "token_sha256": kioskpairing.token_hash(token), "added_at": utc_now()})  # fmt: skip
            pairing = configs.KioskPairing(kiosk_id, device_id, f"http://127.0.0.1:{DEFAULT_PORT}")
        else:
            token = req.kiosk_token
            pairing = configs.KioskPairing(device_id, req.agent, req.agent_url, req.agent_pin)
        files[APPS["kiosk"][0]] = configs.kiosk_toml(
            device, pairing, pin_hash=req.pin_hash, wall=req.role == "wall"
        )
        secrets["kiosk.token"] = token
    if "bridge" in apps:
        files[APPS["bridge"][0]] = configs.bridge_toml(device)
    return FirstbootBundle(
        device_id=device_id, name=req.name, site=req.site, role=req.role, created_at=utc_now(),
        server_url=api.url, server_pin=req.server_pin, trusted_keys=req.trusted_keys, configs=files,
        secrets=secrets, kiosks=tuple(kiosks),
    )  # fmt: skip


def write(bundle: FirstbootBundle, folder: Path) -> Path:
    """The bundle as ``folder/a2d-firstboot.json``, mode 0600, written whole or not at all."""
    target = folder / FILE
    rootfs.write_file(target, bundle.to_bytes(), 0o600)
    return target


def with_server_keys(req: Request, api: AdminApi) -> Request:
    """``req`` trusting the server's active signing keys too (asks the server: checks address, pin
    and admin token before anything is registered)."""
    keys = tuple(dict.fromkeys([*req.trusted_keys, *api.signing_keys()]))
    if not keys:
        log.warning(
            "the server has no signing key yet (a2d server signing-key): the device fetches no bundles until"
            " its config trusts one"
        )
    return replace(req, trusted_keys=keys)


def registered_without_bundle(
    error: object, device_id: str, again: str = "enroll it again under another name"
) -> KnownError:
    """The error for a device the server registered but that did not get its bundle."""
    return KnownError(
        f"{error}; the device {device_id} is registered without a bundle: revoke it"
        f" (a2d provision revoke {device_id}) or {again}"
    )


def register(req: Request, api: AdminApi) -> FirstbootBundle:
    """Register the device at the server and build its bundle (written nowhere)."""
    registered = api.add_device(req.name, req.site, req.role)
    try:
        return build(req, api, registered)
    except KnownError as exc:
        raise registered_without_bundle(exc, registered["device_id"]) from None


def enroll(req: Request, api: AdminApi) -> tuple[FirstbootBundle, Path]:
    """Register the device and write its bundle into ``req.out``; ``(bundle, path)``."""
    if req.out is None:
        raise ValueError("enroll writes the bundle into a folder: Request.out is needed")
    check(req)
    bundle = register(with_server_keys(req, api), api)
    try:
        return bundle, write(bundle, req.out)
    except KnownError as exc:
        raise registered_without_bundle(exc, bundle.device_id) from None
