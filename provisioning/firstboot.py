"""``a2d provision firstboot``: install a first-boot bundle into a device's root, once or again.

What :func:`install` does, all below ``root`` (``/`` on a Pi, a folder in tests):

1. each config of the role to ``etc/a2d/<app>.toml`` (mode 0644: they hold no secret; one that
   does anyway is written like a secret);
2. each secret to ``etc/a2d/<name>`` with mode 0600, owned by the app's service user when
   ``root/etc/passwd`` has it (else left as it is, and the report says so: the units hand the
   secret over through systemd's credentials, which read it as root);
3. each app's state folder ``var/lib/a2d/<app>``, and the kiosk pairing into the agent's
   ``kiosks.json`` there (entries of other kiosks are kept);
4. each app's unit: the one the package installed (``lib/systemd/system``) or else a copy of
   ``images/systemd`` in ``etc/systemd/system``, enabled as a ``multi-user.target.wants`` link;
5. for a role with the agent, the users of the Pi's own Mosquitto and each app's password
   (:mod:`provisioning.broker`; passwords of an earlier run are kept);
6. ``etc/a2d/device.json``: the bundle without its secrets, so a second run knows it is done.

:func:`run` takes the bundle from the boot partition, installs it and then deletes it there, so
no secret stays on the card's readable FAT partition. Run twice, it installs the same again (or
finds nothing on the boot partition and a device already set up): safe to run on every start.
"""

from __future__ import annotations

import json
import logging
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from a2d import kioskpairing
from a2d.errors import KnownError
from a2d.firstboot import APPS, ETC, FILE, STATE, FirstbootBundle, parse

from . import broker, rootfs

log = logging.getLogger(__name__)

#: where a package installs units on Debian (the device's view)
PACKAGE_UNIT_DIRS = ("/lib/systemd/system", "/usr/lib/systemd/system")
LOCAL_UNIT_DIR = "/etc/systemd/system"
WANTS = "/etc/systemd/system/multi-user.target.wants"
#: the units in a checkout of the project (a package installs its own)
CHECKOUT_UNITS = Path(__file__).resolve().parent.parent / "images" / "systemd"
_SECRET_KEYS = {"token", "password", "secret", "private_key"}


def _holds_secret(text: str) -> bool:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise KnownError(f"the bundle holds a config that is not TOML: {exc}") from None

    def walk(node: Any) -> bool:
        if isinstance(node, dict):
            return any((k in _SECRET_KEYS and isinstance(v, str) and v) or walk(v) for k, v in node.items())
        if isinstance(node, list):
            return any(walk(v) for v in node)
        return False

    return walk(doc)


def _unit_target(root: Path, unit: str, units_dir: Path | None, notes: list[str]) -> str:
    """The unit's path as the device sees it: the package's, else a copy made here."""
    for d in PACKAGE_UNIT_DIRS:
        if rootfs.under(root, f"{d}/{unit}").is_file():
            return f"{d}/{unit}"
    source = (units_dir or CHECKOUT_UNITS) / unit
    try:
        data = source.read_bytes()
    except OSError:
        raise KnownError(
            f"no {unit}: neither installed under the root ({', '.join(PACKAGE_UNIT_DIRS)}) nor in {source.parent}"
            " (give --units DIR)"
        ) from None
    target = f"{LOCAL_UNIT_DIR}/{unit}"
    rootfs.write_file(rootfs.under(root, target), data, 0o644)
    notes.append(f"installed {target}")
    return target


def _pair_kiosks(path: Path, entries: Iterable[Mapping[str, str]], owner: tuple[int, int] | None) -> None:
    """Add the bundle's kiosks to the agent's list, replacing entries of the same id, keeping others."""
    kiosks: list[dict[str, Any]] = []
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if (
            isinstance(doc, dict)
            and doc.get("format") == kioskpairing.FORMAT
            and isinstance(doc.get("kiosks"), list)
        ):
            kiosks = [k for k in doc["kiosks"] if isinstance(k, dict)]
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        log.warning("the kiosk list %s is unreadable (%s): written anew", path, exc)
    new = [dict(e) for e in entries]
    ids = {e["kiosk_id"] for e in new}
    kiosks = [k for k in kiosks if k.get("kiosk_id") not in ids] + new
    data = json.dumps({"format": kioskpairing.FORMAT, "kiosks": kiosks}, ensure_ascii=False, indent=1)
    rootfs.write_file(path, (data + "\n").encode(), 0o600, owner)


def install(bundle: FirstbootBundle | bytes, root: Path, units_dir: Path | None = None) -> list[str]:
    """Install ``bundle`` (or the bytes of one, as the claim receives it) below ``root``; returns what
    was done, one line each (for the log)."""
    if isinstance(bundle, bytes):
        bundle = parse(bundle, "the bundle")
    notes: list[str] = []
    users = rootfs.users(root)
    rootfs.make_dir(rootfs.under(root, ETC), 0o755)
    for app in bundle.apps:
        config, secret, unit, user = APPS[app]
        owner = users.get(user)
        if owner is None:
            notes.append(
                f"no user {user} in {root / 'etc/passwd'}: its files stay owned by whoever runs firstboot"
                " (the unit reads its secret as root through systemd's credentials)"
            )
        text = bundle.configs[config]
        private = _holds_secret(text)
        rootfs.write_file(rootfs.under(root, f"{ETC}/{config}"), text.encode(), 0o600 if private else 0o644,
                          owner if private else None)  # fmt: skip
        notes.append(f"wrote {ETC}/{config}" + (" (mode 0600: it holds a secret)" if private else ""))
        if secret and secret in bundle.secrets:
            rootfs.write_file(rootfs.under(root, f"{ETC}/{secret}"), bundle.secrets[secret].encode() + b"\n",
                              0o600, owner)  # fmt: skip
            notes.append(f"wrote {ETC}/{secret} (mode 0600)")
        rootfs.make_dir(rootfs.under(root, f"{STATE}/{app}"), 0o750, owner)
        if app == "edge" and bundle.kiosks:
            data_dir = tomllib.loads(text).get("device", {}).get("data_dir", f"{STATE}/edge")
            _pair_kiosks(rootfs.under(root, f"{data_dir}/{kioskpairing.FILE}"), bundle.kiosks, owner)
            notes.append(f"paired {', '.join(k['kiosk_id'] for k in bundle.kiosks)} with the agent")
        target = _unit_target(root, unit, units_dir, notes)
        rootfs.link(rootfs.under(root, f"{WANTS}/{unit}"), target)
        notes.append(f"enabled {unit}")
    notes += broker.install(bundle, root, users)
    public = json.dumps({**bundle.public(), "apps": list(bundle.apps)}, ensure_ascii=False, indent=1)
    rootfs.write_file(rootfs.under(root, f"{ETC}/device.json"), (public + "\n").encode(), 0o644)
    return notes


def installed(root: Path) -> dict[str, Any] | None:
    """What ``etc/a2d/device.json`` says of the device set up below ``root``, if it was."""
    try:
        doc = json.loads(rootfs.under(root, f"{ETC}/device.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def run(boot: Path, root: Path, units_dir: Path | None = None) -> list[str]:
    """Install the bundle on the boot partition ``boot`` into ``root`` and delete it from ``boot``."""
    path = boot / FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        done = installed(root)
        if done is None:
            raise KnownError(
                f"no first-boot bundle at {path}, and no device was set up under {root}"
            ) from None
        return [f"nothing to do: set up as {done.get('device_id')} ({done.get('role')}); no bundle at {path}"]
    except OSError as exc:
        raise KnownError(f"cannot read {path}: {exc.strerror or exc}") from None
    bundle = parse(data, str(path))
    notes = install(bundle, root, units_dir)
    rootfs.shred(path)
    notes.append(f"deleted {path}: no secret stays on the boot partition")
    return [f"set up {bundle.device_id} as {bundle.role} (site {bundle.site or '-'})", *notes]
