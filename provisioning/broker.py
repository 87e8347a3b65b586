"""First boot's part for the Pi's own Mosquitto: its users, their ACLs and each app's password.

The package installs a broker configuration (``a2d.brokerconf.appliance_conf_text``) whose
password and ACL files in ``/etc/a2d/broker`` are empty, so nobody gets in until this runs. For a
role with the edge agent, :func:`install` makes the users of :func:`a2d.brokerconf.local_users`
(the agent; the bridge when the role has one; the network server, for ChirpStack's or The
Things Stack's MQTT integration) and writes, below the root:

- ``etc/a2d/broker/a2d.passwd`` (hashes only) and ``a2d.acl``: ``root:mosquitto`` 0640, as
  Mosquitto reads them after dropping to its user (the folder 0751, so that user reaches them);
- each app's password to ``etc/a2d/<file>`` of :data:`a2d.firstboot.BROKER_LOGINS`, 0600 and
  owned by the app's service user; its config names the file (``mqtt.password_file``) and its
  unit hands it over as a systemd credential;
- the network server's user and password to ``etc/a2d/network-server-mqtt.txt`` (0600, root's),
  for the admin to enter in the network server.

Passwords already written by an earlier run are kept, so running first boot again (or a claim
after it) never locks out a network server the admin has set up; only the salted hashes change.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path

from a2d import brokerconf
from a2d.firstboot import APPS, BROKER_LOGINS, ETC, NETWORK_SERVER_LOGIN, FirstbootBundle

from . import rootfs

#: the broker's files as the device sees them (``brokerconf.APPLIANCE_DIR``)
BROKER_DIR = str(brokerconf.APPLIANCE_DIR)
PASSWORD_FILE = f"{BROKER_DIR}/a2d.passwd"
ACL_FILE = f"{BROKER_DIR}/a2d.acl"
NETWORK_SERVER_USER = "a2d-network-server"


def bridge_sources(bridge_toml: str) -> list[str]:
    """The source ids the bridge publishes for, as far as ``bridge.toml`` names them: ``gpio.source``
    and the source part of each ``[[gpio.buttons]] id``. Serial boxes carry their id in their
    firmware, so a box's source must be added to the ACL when the box is (docs/provisioning.md)."""
    doc = tomllib.loads(bridge_toml)
    gpio = doc.get("gpio", {}) if isinstance(doc.get("gpio"), dict) else {}
    default = str(gpio.get("source", "gpio"))
    found = [default]
    for button in gpio.get("buttons", []) if isinstance(gpio.get("buttons"), list) else []:
        bid = str(button.get("id", "")) if isinstance(button, dict) else ""
        source = bid.split("/", 1)[0] if "/" in bid else default
        if source not in found:
            found.append(source)
    return found


def _kept(path: Path) -> str:
    """The password an earlier first boot wrote to ``path`` ("" when there is none)."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    if path.name == NETWORK_SERVER_LOGIN:
        try:
            value = tomllib.loads(text).get("password", "")
        except tomllib.TOMLDecodeError:
            return ""
        return value if isinstance(value, str) else ""
    return text.splitlines()[0].strip() if text else ""


def _network_server_text(user: brokerconf.BrokerUser) -> str:
    return (
        "# The Pi's own MQTT broker, for the network server's MQTT integration (ChirpStack v4:\n"
        "# [integration.mqtt] in chirpstack.toml, JSON encoding; docs/provisioning.md, docs/mqtt.md).\n"
        "# This user may publish uplink events only. Written by a2d provision firstboot; kept when it runs again.\n"
        f"server = {json.dumps('tcp://127.0.0.1:1883')}\n"
        f"username = {json.dumps(user.name)}\n"
        f"password = {json.dumps(user.password)}\n"
    )


def install(bundle: FirstbootBundle, root: Path, users: Mapping[str, tuple[int, int]]) -> list[str]:
    """Write the broker's users below ``root`` for ``bundle``'s role (nothing without the agent).
    ``users`` is ``root/etc/passwd`` (name -> uid, gid). Returns what was done, one line each."""
    if "edge" not in bundle.apps:
        return []
    owners = {app: users.get(APPS[app][3]) for app in BROKER_LOGINS}
    notes: list[str] = []
    has_bridge = "bridge" in bundle.apps
    sources = bridge_sources(bundle.configs["bridge.toml"]) if has_bridge else ["gpio"]
    made = brokerconf.local_users(sources)
    files = {
        "edge": rootfs.under(root, f"{ETC}/{BROKER_LOGINS['edge'][1]}"),
        "bridge": rootfs.under(root, f"{ETC}/{BROKER_LOGINS['bridge'][1]}"),
        "network": rootfs.under(root, f"{ETC}/{NETWORK_SERVER_LOGIN}"),
    }
    chosen = {"edge": made.agent, "bridge": made.bridge, "network": made.network_server}
    kept = []
    for key, path in files.items():
        old = _kept(path)
        if old:
            user = chosen[key]
            chosen[key] = brokerconf.BrokerUser(user.name, old, user.read, user.write)
            kept.append(key)
    broker_users = [chosen["edge"], *([chosen["bridge"]] if has_bridge else []), chosen["network"]]
    for app in ("edge", "bridge"):
        if app == "edge" or has_bridge:
            rootfs.write_file(files[app], chosen[app].password.encode() + b"\n", 0o600, owners.get(app))
            notes.append(
                f"wrote {ETC}/{BROKER_LOGINS[app][1]} (mode 0600): {chosen[app].name}'s broker password"
            )
    rootfs.write_file(files["network"], _network_server_text(chosen["network"]).encode(), 0o600)
    mosquitto = users.get("mosquitto")
    broker_owner = (0, mosquitto[1]) if mosquitto else None
    rootfs.make_dir(rootfs.under(root, BROKER_DIR), 0o751)
    rootfs.write_file(rootfs.under(root, PASSWORD_FILE), brokerconf.password_file_text(broker_users).encode(),
                      0o640, broker_owner)  # fmt: skip
    rootfs.write_file(
        rootfs.under(root, ACL_FILE), brokerconf.acl_text(broker_users).encode(), 0o640, broker_owner
    )
    names = ", ".join(u.name for u in broker_users)
    notes.append(f"wrote the local broker's users ({names}) to {PASSWORD_FILE} and {ACL_FILE}")
    if mosquitto is None:
        notes.append(
            f"{root / 'etc/passwd'} lacks mosquitto (not installed?): the broker's files stay owned by"
            " whoever runs firstboot (mode 0640), which Mosquitto cannot read once it drops to its user"
        )
    if kept:
        notes.append("kept the broker passwords an earlier first boot wrote")
    notes.append(
        f"the network server's MQTT user and password are in {ETC}/{NETWORK_SERVER_LOGIN}:"
        " enter them in ChirpStack's MQTT integration (docs/provisioning.md)"
    )
    return notes
