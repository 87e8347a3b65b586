"""The local Mosquitto's users and ACLs: who may read and who may write which topics.

Nothing on the office LAN is trusted for being there, and the local broker is no exception: a
process that may publish on it can make the edge agent store whatever it likes. So the broker
knows three users, each with the least it needs (``docs/mqtt.md`` explains the production setup):

==================  ===============================================  ==========================
user                may write                                        may read
==================  ===============================================  ==========================
the edge agent      nothing                                          the network-server topics
                                                                     and ``a2d/v1/buttons/#``
the buttons bridge  ``a2d/v1/buttons/<source>`` for its own sources  nothing
the network server  the network-server topics (ChirpStack v4 and     nothing
                    The Things Stack v3 uplink events)
==================  ===============================================  ==========================

The bridge publishes each event under its source id: a serial box's id (set in the box's
firmware) or the source part of a GPIO button's id (``gpio.source`` by default). The ACL names
each of those topics, so a bridge cannot pose as a box it does not serve.

:func:`local_users` makes the users with fresh random passwords; :func:`write` writes
``mosquitto.conf``, the password file and the ACL file (all mode 0600). ``a2d demo`` and the
tests use both, so the tests check the demo's broker. Passwords are hashed in Mosquitto's own
``$7$`` format (PBKDF2-SHA512), so no password ever appears on a command line.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .buttons import TOPIC_FILTER, topic

#: the topics ChirpStack v4 and The Things Stack v3 publish uplink events on (the agent's
#: default ``[[sources]] topic`` for each kind)
NETWORK_SERVER_TOPICS = ("application/+/device/+/event/+", "v3/+/devices/+/#")
#: what the edge agent subscribes to
AGENT_READS = (*NETWORK_SERVER_TOPICS, TOPIC_FILTER)
#: PBKDF2 rounds in the password file. The passwords made here are 32 random bytes, so the rounds
#: are not what protects them; Mosquitto runs them at every connect.
ITERATIONS = 1000
SALT_BYTES = 12

_USER = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_TOPIC = re.compile(r"^[^\x00-\x1f\x7f]{1,200}$")


@dataclass(frozen=True)
class BrokerUser:
    """One user of the broker: its name, its password and the topic filters it may read and write."""

    name: str
    password: str
    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _USER.match(self.name):
            raise ValueError(f"user name {self.name!r:.70} is not 1-64 of A-Z a-z 0-9 _ . -")
        if not self.password or any(c in self.password for c in "\n\r\x00"):
            raise ValueError(f"the password of {self.name} is empty or spans lines")
        for t in (*self.read, *self.write):
            if not _TOPIC.match(t) or t != t.strip():
                raise ValueError(f"topic filter {t!r:.70} of {self.name} is not one clean line")


@dataclass(frozen=True)
class LocalUsers:
    """The three users of the local broker (see the module's table)."""

    agent: BrokerUser
    bridge: BrokerUser
    network_server: BrokerUser

    def __iter__(self) -> Iterator[BrokerUser]:
        return iter((self.agent, self.bridge, self.network_server))


@dataclass(frozen=True)
class BrokerFiles:
    conf: Path
    password_file: Path
    acl_file: Path


def new_password() -> str:
    return secrets.token_urlsafe(32)


def local_users(bridge_sources: Sequence[str], prefix: str = "a2d-") -> LocalUsers:
    """The agent, the bridge (publishing for ``bridge_sources``) and the network server, each with
    a new random password. A source id that is not a valid topic level raises ``WireError``."""
    if not bridge_sources:
        raise ValueError("the bridge needs at least one source id")
    return LocalUsers(
        agent=BrokerUser(f"{prefix}agent", new_password(), read=AGENT_READS),
        bridge=BrokerUser(f"{prefix}bridge", new_password(), write=tuple(topic(s) for s in bridge_sources)),
        network_server=BrokerUser(f"{prefix}network-server", new_password(), write=NETWORK_SERVER_TOPICS),
    )


def password_hash(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """``password`` in Mosquitto's ``$7$`` password-file format: PBKDF2-HMAC-SHA512 over a random
    salt, ``$7$<iterations>$<base64 salt>$<base64 hash>``.

    >>> password_hash("secret", salt=bytes(12), iterations=101)[:24]
    '$7$101$AAAAAAAAAAAAAAAA$'
    """
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def password_file_text(users: Iterable[BrokerUser]) -> str:
    return "".join(f"{u.name}:{password_hash(u.password)}\n" for u in users)


def acl_text(users: Iterable[BrokerUser]) -> str:
    """The ACL file: per user, ``topic read`` and ``topic write`` lines; anything not listed is denied."""
    out = ["# written by a2d: each user may read and write only what is listed under it\n"]
    for u in users:
        out.append(f"\nuser {u.name}\n")
        out += [f"topic read {t}\n" for t in u.read]
        out += [f"topic write {t}\n" for t in u.write]
    return "".join(out)


def conf_text(port: int, files: BrokerFiles, host: str = "127.0.0.1") -> str:
    """``mosquitto.conf`` for a broker on ``host:port`` that lets in only the users of the password file."""
    return (
        "# written by a2d: a broker with users and ACLs (see docs/mqtt.md)\n"
        "per_listener_settings false\n"
        f"listener {port} {host}\n"
        "allow_anonymous false\n"
        f"password_file {files.password_file}\n"
        f"acl_file {files.acl_file}\n"
        "persistence false\n"
        "max_inflight_messages 1000\n"
        "max_queued_messages 100000\n" + ("user root\n" if os.geteuid() == 0 else "")
        # started as root, Mosquitto would drop to the user mosquitto and could not read the 0600 files
    )


#: where the appliance keeps its broker's password and ACL files: the package makes them empty
#: (so Mosquitto starts and lets nobody in), first boot writes the users
APPLIANCE_DIR = Path("/etc/a2d/broker")


def appliance_conf_text(
    folder: Path = APPLIANCE_DIR,
    port: int = 1883,
    host: str = "127.0.0.1",
    persistence_dir: Path = Path("/var/lib/mosquitto"),
) -> str:
    """The appliance's ``/etc/mosquitto/conf.d/a2d.conf`` (``docs/mqtt.md``, "The local broker on
    the Pi"): loopback only, no anonymous clients, the users and ACLs in ``folder``, and a persistent
    store, so that the agent's session and its queued events survive a broker restart."""
    return (
        "# written by a2d (the package's build, from a2d/brokerconf.py): see docs/mqtt.md\n"
        "per_listener_settings false\n"
        "allow_anonymous false\n"
        f"password_file {folder / 'a2d.passwd'}\n"
        f"acl_file {folder / 'a2d.acl'}\n"
        f"listener {port} {host}\n"
        "persistence true\n"
        f"persistence_location {persistence_dir}/\n"
        "max_queued_messages 100000\n"
    )


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner alone (0600), also when the file existed."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(text)


def write(folder: Path, port: int, users: Iterable[BrokerUser], host: str = "127.0.0.1") -> BrokerFiles:
    """Write ``mosquitto.conf``, ``mosquitto.passwd`` and ``mosquitto.acl`` into ``folder`` (0600 each)."""
    users = list(users)
    folder.mkdir(parents=True, exist_ok=True)
    files = BrokerFiles(folder / "mosquitto.conf", folder / "mosquitto.passwd", folder / "mosquitto.acl")
    write_private(files.password_file, password_file_text(users))
    write_private(files.acl_file, acl_text(users))
    write_private(files.conf, conf_text(port, files, host))
    return files
