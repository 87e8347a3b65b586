"""The appliance's Mosquitto configuration (a2d.brokerconf.appliance_conf_text, shipped by the
package as /etc/mosquitto/conf.d/a2d.conf) runs a real Mosquitto as Debian's service does: started
as root, reading its files as the user mosquitto. With the package's empty password file nobody
gets in; with first boot's users the agent does, anonymous clients never, and only on loopback.
"""

from __future__ import annotations

import grp
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from a2d import brokerconf
from tests.conftest import free_port, wait_port


@pytest.fixture
def folder() -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.fail("run as root: Mosquitto drops to the user mosquitto as Debian's service does")
    # a folder the user mosquitto can reach (pytest's own tmp folders are root's alone)
    path = Path(tempfile.mkdtemp(prefix="a2d-broker-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def start(folder: Path, users: list[brokerconf.BrokerUser]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    mosquitto_gid = grp.getgrnam("mosquitto").gr_gid
    data = folder / "persist"
    data.mkdir()
    shutil.chown(data, "mosquitto", "mosquitto")
    # the files as the package's postinst and first boot leave them: root:mosquitto 0640
    for name, text in (
        ("a2d.passwd", brokerconf.password_file_text(users)),
        ("a2d.acl", brokerconf.acl_text(users)),
    ):
        (folder / name).write_text(text)
        os.chown(folder / name, 0, mosquitto_gid)
        (folder / name).chmod(0o640)
    conf = folder / "a2d.conf"
    conf.write_text(brokerconf.appliance_conf_text(folder, port=port, persistence_dir=data))
    proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc, port


def pub(port: int, *login: str, host: str = "127.0.0.1") -> int:
    args = ["mosquitto_pub", "-h", host, "-p", str(port), "-t", "a2d/v1/buttons/x", "-m", "{}", "-q", "1"]
    return subprocess.run([*args, *login], capture_output=True, timeout=10).returncode


def test_the_packages_empty_files_start_a_broker_nobody_gets_into(folder: Path) -> None:
    proc, port = start(folder, [])
    try:
        assert proc.poll() is None
        assert pub(port) != 0  # anonymous
        assert pub(port, "-u", "a2d-agent", "-P", "guess") != 0
    finally:
        proc.terminate()
        proc.wait(10)


def test_first_boots_users_get_in_on_loopback_only(folder: Path) -> None:
    users = brokerconf.local_users(["gpio"])
    proc, port = start(folder, list(users))
    try:
        assert pub(port, "-u", users.bridge.name, "-P", users.bridge.password) == 0
        assert pub(port, "-u", users.bridge.name, "-P", "wrong") != 0
        assert pub(port) != 0  # anonymous
        # bound to 127.0.0.1 alone: another address of this machine finds nothing listening
        assert pub(port, "-u", users.bridge.name, "-P", users.bridge.password, host="127.0.0.2") != 0
    finally:
        proc.terminate()
        proc.wait(10)
    # persistence on: the agent's session and queued messages survive a restart
    assert (folder / "persist" / "mosquitto.db").exists()


def test_the_conf_is_the_one_docs_mqtt_describes() -> None:
    text = brokerconf.appliance_conf_text()
    for line in (
        "allow_anonymous false",
        "listener 1883 127.0.0.1",
        "persistence true",
        "password_file /etc/a2d/broker/a2d.passwd",
        "acl_file /etc/a2d/broker/a2d.acl",
    ):
        assert line in text.splitlines()
