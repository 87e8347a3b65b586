"""The first-boot bundle: everything a new device needs to join the town's fleet, in one JSON file.

``a2d provision enroll`` writes it to the SD card's boot partition (or a folder), the zero-touch
claim hands the same document over the network, and ``a2d provision firstboot`` installs it under
``/etc/a2d`` and deletes it from the boot partition, because it holds secrets. Format::

    {"format": "a2d-firstboot/1",
     "device_id": "edge-rathaus-1", "name": "Edge Rathaus 1", "site": "rathaus", "role": "edge+kiosk",
     "created_at": "2026-06-02T08:00:00.000000Z",
     "server": {"url": "https://sync.offenburg.de", "pin_sha256": "AB:CD:..."},
     "trusted_keys": ["<Ed25519 public key, base64>"],
     "configs": {"edge.toml": "...", "kiosk.toml": "..."},
     "secrets": {"sync.token": "...", "kiosk.token": "..."},
     "kiosks": [{"kiosk_id": "...", "name": "...", "token_sha256": "...", "added_at": "..."}]}

``configs`` are the TOML files of the role's apps (:data:`ROLES`), ``secrets`` the token files
they name (each goes to ``/etc/a2d/<name>``, mode 0600, owned by the app's service user), and
``kiosks`` the entries of the agent's ``kiosks.json`` (:mod:`a2d.kioskpairing`; hashes only).
:data:`FORMAT` changes with any change a device of the old version could not read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import KnownError

FORMAT = "a2d-firstboot/1"
#: the file's name on the boot partition
FILE = "a2d-firstboot.json"
#: where a Pi mounts its boot partition (Raspberry Pi OS bookworm and later)
BOOT_PARTITION = "/boot/firmware"
#: the one place a device looks for its bundle: the boot partition's root, where an admin sees it
#: when the card is mounted on a laptop (``enroll --boot /media/$USER/bootfs``); the image's
#: first-boot unit and the claim unit's condition name this path
BOOT_BUNDLE = f"{BOOT_PARTITION}/{FILE}"
#: the most bytes a bundle may have (configs and keys are a few KiB; this leaves room, no more)
MAX_BYTES = 256 * 1024

#: role -> the apps it runs, in start order
ROLES: dict[str, tuple[str, ...]] = {
    "edge": ("edge",),
    "kiosk": ("kiosk",),
    "edge+kiosk": ("edge", "kiosk"),
    "edge+kiosk+bridge": ("edge", "kiosk", "bridge"),
    "wall": ("edge", "kiosk"),  # a wall display: the agent and the kiosk app, shown large
}
#: app -> its config file, its secret file (or None), its systemd unit and its service user
APPS: dict[str, tuple[str, str | None, str, str]] = {
    "edge": ("edge.toml", "sync.token", "a2d-edge.service", "a2d-edge"),
    "kiosk": ("kiosk.toml", "kiosk.token", "a2d-kiosk.service", "a2d-kiosk"),
    "bridge": ("bridge.toml", None, "a2d-bridge.service", "a2d-bridge"),
}
#: where a device keeps its configs and secrets (below the root it is installed into)
ETC = "/etc/a2d"
#: app -> its user on the device's own Mosquitto (:func:`a2d.brokerconf.local_users`) and the file
#: below :data:`ETC` holding its password, which first boot writes (mode 0600) and keeps
BROKER_LOGINS: dict[str, tuple[str, str]] = {
    "edge": ("a2d-agent", "mqtt-agent.password"),
    "bridge": ("a2d-bridge", "mqtt-bridge.password"),
}
#: below :data:`ETC`: the broker user and password for the network server's MQTT integration, for
#: the admin to enter in ChirpStack (root's alone, mode 0600)
NETWORK_SERVER_LOGIN = "network-server-mqtt.txt"
#: where each app keeps its data (systemd's StateDirectory=a2d/<app>)
STATE = "/var/lib/a2d"


class BundleError(KnownError):
    """A file that is not a first-boot bundle this version can install; the message says why."""


def config_names() -> set[str]:
    return {a[0] for a in APPS.values()}


def secret_names() -> set[str]:
    return {a[1] for a in APPS.values() if a[1]}


@dataclass(frozen=True)
class FirstbootBundle:
    device_id: str
    name: str
    site: str
    role: str
    created_at: str
    server_url: str
    server_pin: str = ""
    trusted_keys: tuple[str, ...] = ()
    configs: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)
    kiosks: tuple[Mapping[str, str], ...] = ()

    @property
    def apps(self) -> tuple[str, ...]:
        return ROLES[self.role]

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "device_id": self.device_id,
            "name": self.name,
            "site": self.site,
            "role": self.role,
            "created_at": self.created_at,
            "server": {"url": self.server_url, "pin_sha256": self.server_pin},
            "trusted_keys": list(self.trusted_keys),
            "configs": dict(self.configs),
            "secrets": dict(self.secrets),
            "kiosks": [dict(k) for k in self.kiosks],
        }

    def to_bytes(self) -> bytes:
        return (json.dumps(self.as_dict(), ensure_ascii=False, indent=1) + "\n").encode()

    def public(self) -> dict[str, Any]:
        """What may be shown or kept anywhere: the bundle without its secrets and configs."""
        doc = self.as_dict()
        for key in ("configs", "secrets", "kiosks"):
            doc.pop(key)
        return doc


def _text(doc: Mapping[str, Any], key: str, where: str) -> str:
    value = doc.get(key, "")
    if not isinstance(value, str) or any(ord(c) < 32 for c in value):
        raise BundleError(f"{where}: {key} must be one line of text")
    return value


def _files(doc: Mapping[str, Any], key: str, allowed: set[str], where: str) -> dict[str, str]:
    files = doc.get(key, {})
    if not isinstance(files, dict):
        raise BundleError(f"{where}: {key} must be an object of file name -> text")
    for name, text in files.items():
        if name not in allowed:  # never a path: a bundle names only files it may write
            raise BundleError(f"{where}: {key} names {name!r:.60}, not one of {', '.join(sorted(allowed))}")
        if not isinstance(text, str):
            raise BundleError(f"{where}: {key}[{name}] must be text")
    return dict(files)


def parse(data: bytes, where: str = FILE) -> FirstbootBundle:
    """Check and read a bundle; anything else is a :class:`BundleError` naming what is wrong."""
    if len(data) > MAX_BYTES:
        raise BundleError(f"{where}: {len(data)} bytes, more than a bundle may have ({MAX_BYTES})")
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BundleError(f"{where} is not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        got = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise BundleError(f"{where} is not an {FORMAT} bundle (format {got!r:.40})")
    role = _text(doc, "role", where)
    if role not in ROLES:
        raise BundleError(f"{where}: role {role!r:.40} is not one of {', '.join(ROLES)}")
    server = doc.get("server", {})
    keys = doc.get("trusted_keys", [])
    kiosks = doc.get("kiosks", [])
    if not isinstance(server, dict):
        raise BundleError(f"{where}: server must be an object")
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise BundleError(f"{where}: trusted_keys must be a list of keys")
    if not isinstance(kiosks, list) or not all(
        isinstance(k, dict) and all(isinstance(v, str) for v in k.values()) for k in kiosks
    ):
        raise BundleError(f"{where}: kiosks must be a list of objects of text")
    device_id = _text(doc, "device_id", where)
    if not device_id:
        raise BundleError(f"{where}: device_id is missing")
    bundle = FirstbootBundle(
        device_id=device_id,
        name=_text(doc, "name", where),
        site=_text(doc, "site", where),
        role=role,
        created_at=_text(doc, "created_at", where),
        server_url=_text(server, "url", where),
        server_pin=_text(server, "pin_sha256", where),
        trusted_keys=tuple(keys),
        configs=_files(doc, "configs", config_names(), where),
        secrets=_files(doc, "secrets", secret_names(), where),
        kiosks=tuple(kiosks),
    )
    missing = [APPS[a][0] for a in bundle.apps if APPS[a][0] not in bundle.configs]
    if missing:
        raise BundleError(f"{where}: role {role} needs {', '.join(missing)}, which the bundle lacks")
    return bundle
