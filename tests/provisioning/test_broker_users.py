"""First boot gives the Pi's own Mosquitto its users: the password and ACL files Mosquitto reads,
each app's password as a 0600 secret its config names, the network server's login for the admin,
and the same passwords again when it runs a second time. Then a real Mosquitto with the
appliance's configuration lets the agent in with the written secret (and not with a wrong one),
and the agent started from the written edge.toml stores an uplink the network server's user
published."""

from __future__ import annotations

import dataclasses
import grp
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from a2d import brokerconf
from devtools.uplinks import encode_ws101
from provisioning import firstboot as fb
from tests.conftest import free_port, wait_for, wait_port
from tests.provisioning.test_firstboot import bundle
from tests.test_ingest import CS_TOPIC, cs_up

PROJECT = Path(__file__).resolve().parents[2]
A2D = [sys.executable, "-m", "a2d.cli"]
EUI = "0808080808080808"
PASSWD = (
    "root:x:0:0:root:/root:/bin/bash\n"
    "a2d-edge:x:991:981::/nonexistent:/usr/sbin/nologin\n"
    "a2d-kiosk:x:992:982::/nonexistent:/usr/sbin/nologin\n"
    "a2d-bridge:x:993:983::/nonexistent:/usr/sbin/nologin\n"
)


def mosquitto_gid() -> int:
    return grp.getgrnam("mosquitto").gr_gid


@pytest.fixture
def root() -> Iterator[Path]:
    """An empty root folder the user mosquitto can reach (pytest's tmp folders are root's alone),
    with the service users and mosquitto in its etc/passwd."""
    if os.geteuid() != 0:
        pytest.fail("run as root (make test does): only root can give files to the service users")
    path = Path(tempfile.mkdtemp(prefix="a2d-root-"))
    path.chmod(0o755)
    (path / "etc").mkdir()
    (path / "etc").chmod(0o755)
    gid = mosquitto_gid()
    (path / "etc/passwd").write_text(
        PASSWD + f"mosquitto:x:{gid + 5000}:{gid}::/var/lib/mosquitto:/usr/sbin/nologin\n"
    )
    yield path
    shutil.rmtree(path)


def login(root: Path, name: str) -> str:
    return (root / "etc/a2d" / name).read_text().strip()


def test_firstboot_writes_the_broker_users_their_secrets_and_keeps_them(root: Path) -> None:
    b = bundle("edge+kiosk+bridge")
    notes = fb.install(b, root)
    etc, broker = root / "etc/a2d", root / "etc/a2d/broker"
    for name, mode, owner in (
        ("broker/a2d.passwd", 0o640, (0, mosquitto_gid())),
        ("broker/a2d.acl", 0o640, (0, mosquitto_gid())),
        ("mqtt-agent.password", 0o600, (991, 981)),
        ("mqtt-bridge.password", 0o600, (993, 983)),
        ("network-server-mqtt.txt", 0o600, (0, 0)),
    ):
        st = (etc / name).stat()
        assert (st.st_mode & 0o777, (st.st_uid, st.st_gid)) == (mode, owner), name
    assert broker.stat().st_mode & 0o777 == 0o751  # mosquitto reaches its files, lists nothing
    agent, bridge = login(root, "mqtt-agent.password"), login(root, "mqtt-bridge.password")
    network = tomllib.loads((etc / "network-server-mqtt.txt").read_text())
    assert network["username"] == "a2d-network-server" and len(network["password"]) >= 32
    assert len({agent, bridge, network["password"]}) == 3 and min(len(agent), len(bridge)) >= 32
    passwd = (broker / "a2d.passwd").read_text()
    assert sorted(line.split(":")[0] for line in passwd.splitlines()) == [
        "a2d-agent", "a2d-bridge", "a2d-network-server"]  # fmt: skip
    assert agent not in passwd and all(line.split(":")[1].startswith("$7$") for line in passwd.splitlines())
    acl = (broker / "a2d.acl").read_text()
    assert "user a2d-bridge\ntopic write a2d/v1/buttons/gpio\n" in acl  # the bridge's own source only
    # the configs name the user and the secret's file, never the password itself
    edge = tomllib.loads((etc / "edge.toml").read_text())["mqtt"]
    assert edge == {"host": "127.0.0.1", "port": 1883, "username": "a2d-agent",
                    "password_file": "/etc/a2d/mqtt-agent.password"}  # fmt: skip
    assert tomllib.loads((etc / "bridge.toml").read_text())["mqtt"]["password_file"] == (
        "/etc/a2d/mqtt-bridge.password"
    )
    assert any("network-server-mqtt.txt" in n and "ChirpStack" in n for n in notes)
    # a second install (a new bundle, or the claim after a card's bundle) keeps every password
    fb.install(b, root)
    assert (login(root, "mqtt-agent.password"), login(root, "mqtt-bridge.password")) == (agent, bridge)
    assert tomllib.loads((etc / "network-server-mqtt.txt").read_text())["password"] == network["password"]


def test_a_role_without_the_bridge_has_no_bridge_user(root: Path) -> None:
    fb.install(bundle("edge+kiosk"), root)
    assert "a2d-bridge" not in (root / "etc/a2d/broker/a2d.passwd").read_text()
    assert not (root / "etc/a2d/mqtt-bridge.password").exists()
    fb.install(bundle("kiosk"), root / "kiosk-only")
    assert not (root / "kiosk-only/etc/a2d/broker").exists()  # no agent: no broker of its own


class Broker:
    """A real Mosquitto with the appliance's configuration, reading first boot's files below ``root``
    (started as root, it reads them as the user mosquitto, as Debian's service does)."""

    def __init__(self, root: Path) -> None:
        self.port = free_port()
        data = root / "var/lib/mosquitto"
        data.mkdir(parents=True)
        shutil.chown(data, "mosquitto", "mosquitto")
        conf = root / "a2d.conf"
        conf.write_text(
            brokerconf.appliance_conf_text(root / "etc/a2d/broker", port=self.port, persistence_dir=data)
        )
        # the folders on the way must let the user mosquitto through, as / and /etc do on a Pi
        (root / "etc/a2d").chmod(0o751)
        self.proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def pub(self, topic: str, message: bytes, user: str, password: str) -> int:
        args = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port), "-t", topic, "-s", "-q", "1"]
        done = subprocess.run(
            [*args, "-u", user, "-P", password], input=message, capture_output=True, timeout=10
        )
        return done.returncode

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture
def broker(root: Path) -> Iterator[Broker]:
    b = bundle("edge+kiosk")
    edge = b.configs["edge.toml"].replace(
        'trusted_keys = ["k"]', "trusted_keys = []"
    )  # the agent checks keys
    fb.install(dataclasses.replace(b, configs={**b.configs, "edge.toml": edge}), root)
    b = Broker(root)
    yield b
    b.stop()


def test_the_appliance_broker_lets_in_the_written_secret_and_not_a_wrong_one(
    root: Path, broker: Broker
) -> None:
    agent = login(root, "mqtt-agent.password")
    assert broker.pub("a2d/v1/buttons/x", b"{}", "a2d-agent", agent) == 0
    assert broker.pub("a2d/v1/buttons/x", b"{}", "a2d-agent", agent[:-1] + "x") != 0
    assert broker.pub("a2d/v1/buttons/x", b"{}", "a2d-agent", "") != 0


def test_the_agent_from_the_written_config_stores_what_the_network_server_publishes(
    root: Path, broker: Broker, tmp_path: Path
) -> None:
    etc = root / "etc/a2d"
    # the files the config names, found below the root (on the Pi they are at /etc/a2d)
    env = {**os.environ, "A2D_DEVICE_DATA_DIR": str(tmp_path / "data"), "A2D_MQTT_PORT": str(broker.port),
           "A2D_MQTT_PASSWORD_FILE": str(etc / "mqtt-agent.password"),
           "A2D_SYNC_TOKEN_FILE": str(etc / "sync.token"), "A2D_API_PORT": str(free_port())}  # fmt: skip
    status = [*A2D, "edge", "status", "--config", str(etc / "edge.toml"), "--json"]
    with (tmp_path / "edge.log").open("wb") as log:
        agent = subprocess.Popen([*A2D, "edge", "run", "--config", str(etc / "edge.toml")], cwd=PROJECT, env=env,
                                 stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:

        def connected() -> bool:
            r = subprocess.run(status, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=60)
            return r.returncode == 0 and json.loads(r.stdout)["sources"][0]["connected"]

        wait_for(connected, 30, "the agent logged in to the secured broker", 0.2)
        ns = tomllib.loads((etc / "network-server-mqtt.txt").read_text())
        body = cs_up(EUI, 7, 85, encode_ws101("short"), "broker-users-7")
        assert broker.pub(CS_TOPIC.format(eui=EUI, event="up"), body, ns["username"], ns["password"]) == 0
        events = [*A2D, "edge", "events", "--config", str(etc / "edge.toml"), "--json", "--dev-eui", EUI]

        def stored() -> bool:
            r = subprocess.run(events, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=60)
            return r.returncode == 0 and any(
                json.loads(x)["f_cnt"] == 7 for x in r.stdout.splitlines() if x.strip()
            )

        wait_for(stored, 30, "the uplink in the agent's store", 0.2)
    finally:
        agent.terminate()
        agent.wait(30)
