"""The TOML files a new device gets, one per app of its role, written from what enroll knows.

Secrets never go into these files: each names its token file (``/etc/a2d/sync.token``,
``/etc/a2d/kiosk.token``) and the file of its password on the Pi's own broker, which firstboot
writes with mode 0600 and the units hand to their service through systemd's credentials. Everything else keeps its documented default, so an admin
changes a device later with a config bundle, not by editing the card.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from a2d.firstboot import BROKER_LOGINS, ETC, STATE
from a2d.localapi import DEFAULT_PORT


def _s(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def _list(items: Sequence[str]) -> str:
    return "[" + ", ".join(_s(i) for i in items) + "]"


def _broker_login(app: str) -> list[str]:
    """The app's user on the Pi's own broker, and the file first boot writes its password to."""
    user, secret = BROKER_LOGINS[app]
    return [f"username = {_s(user)}", f'password_file = "{ETC}/{secret}"  # written by first boot']


@dataclass(frozen=True)
class Device:
    """What the configs of one device are made of."""

    device_id: str
    name: str
    site: str
    server_url: str
    server_pin: str = ""
    trusted_keys: tuple[str, ...] = ()
    allow_insecure: bool = False
    #: the network server whose uplinks the agent reads from the local broker: chirpstack or tts
    source: str = "chirpstack"


def edge_toml(d: Device, *, api_host: str = "127.0.0.1") -> str:
    lines = [
        f"# edge.toml of {d.name}, written by a2d provision enroll (docs/edge-config.md has every setting)",
        "[device]",
        f"id = {_s(d.device_id)}",
        f"site = {_s(d.site)}",
        f'data_dir = "{STATE}/edge"',
        "",
        "[mqtt]",
        'host = "127.0.0.1"',
        "port = 1883",
        *_broker_login("edge"),
        "",
        "[sync]",
        f"url = {_s(d.server_url)}",
        f'token_file = "{ETC}/sync.token"',
        f"trusted_keys = {_list(d.trusted_keys)}",
    ]
    if d.server_pin:
        lines.append(f"pin_sha256 = {_s(d.server_pin)}")
    if d.allow_insecure:
        lines.append("allow_insecure = true  # enrolled with --allow-insecure: a test server only")
    lines += ["", "[api]", f"host = {_s(api_host)}", f"port = {DEFAULT_PORT}", ""]
    if d.source:
        lines += ["[[sources]]", f"kind = {_s(d.source)}", ""]
    return "\n".join(lines)


@dataclass(frozen=True)
class KioskPairing:
    kiosk_id: str
    agent_device_id: str
    agent_url: str = ""  # "": found with zeroconf
    agent_pin: str = ""


def kiosk_toml(d: Device, pairing: KioskPairing, *, pin_hash: str = "", wall: bool = False) -> str:
    """``wall``: the kiosk app drives a wall display (``kiosk.role = "wall"``, docs/wall.md), whose
    transparency notice links to the public register on the server this device is enrolled with."""
    lines = [
        f"# kiosk.toml of {d.name}, written by a2d provision enroll (docs/kiosk.md has every setting)",
        "[kiosk]",
        f"id = {_s(pairing.kiosk_id)}",
        f"agent_url = {_s(pairing.agent_url)}",
        f"agent_device_id = {_s(pairing.agent_device_id)}",
        f'token_file = "{ETC}/kiosk.token"',
        f'cache_dir = "{STATE}/kiosk"',
        f"trusted_keys = {_list(d.trusted_keys)}",
    ]
    if pairing.agent_pin:
        lines.append(f"agent_pin_sha256 = {_s(pairing.agent_pin)}")
    if pin_hash:
        lines.append(f"pin_hash = {_s(pin_hash)}")
    if wall:
        lines.append('role = "wall"')
    lines += ["", "[device]", f"site = {_s(d.site)}", "", "[display]", "fullscreen = true", ""]
    if wall and d.server_url.startswith("https://"):  # a wall takes only an https register address
        lines += ["[wall]", f"register_url = {_s(d.server_url.rstrip('/') + '/register')}", ""]
    return "\n".join(lines)


def bridge_toml(d: Device) -> str:
    return "\n".join([
        f"# bridge.toml of {d.name}, written by a2d provision enroll (docs/bridge.md has every setting)",
        "[bridge]",
        f"id = {_s(d.device_id + '-bridge')}",
        f'data_dir = "{STATE}/bridge"',
        "",
        "[mqtt]",
        'host = "127.0.0.1"',
        "port = 1883",
        *_broker_login("bridge"),
        "",
        "# add [[gpio.buttons]] and [[serial]] here, or with a config bundle (docs/bridge.md)",
        "",
    ])  # fmt: skip
