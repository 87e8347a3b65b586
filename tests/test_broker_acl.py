"""The local broker with users and ACLs (a2d.brokerconf), as `a2d demo` runs it, against a real Mosquitto.

The bridge's user may publish its own button topics and nothing else, the network server's user
its uplink topics, the agent's user may only read; nobody gets in without a password.
"""

from __future__ import annotations

import base64
import hashlib
import random
import sqlite3
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.subscribeoptions import SubscribeOptions

from a2d import brokerconf
from a2d.buttons import ButtonEvent, WireError
from a2d.errors import KnownError
from devtools.simulate import publish
from devtools.uplinks import chirpstack_up, devices_toml, make_devices, tts_up
from edge_agent import config as edge_config
from tests.conftest import SecuredMosquitto, mqtt_agent, wait_for

NOT_AUTHORIZED = 0x87


# -- the files ---------------------------------------------------------------------------------


def test_password_hash_is_mosquittos_pbkdf2_sha512_format() -> None:
    line = brokerconf.password_hash("geheim")
    tag, iterations, salt, digest = line.split("$")[1:]
    assert tag == "7" and int(iterations) == brokerconf.ITERATIONS
    assert len(base64.b64decode(salt)) == brokerconf.SALT_BYTES
    expected = hashlib.pbkdf2_hmac("sha512", b"geheim", base64.b64decode(salt), int(iterations))
    assert base64.b64decode(digest) == expected
    assert brokerconf.password_hash("geheim") != line  # a new salt every time


def test_the_acl_matches_what_the_agent_and_the_bridge_really_use() -> None:
    users = brokerconf.local_users(["box-1", "gpio"])
    # the agent reads exactly what it subscribes to: each kind's default topic and the buttons bus
    assert set(users.agent.read) == {*edge_config.DEFAULT_TOPICS.values(), edge_config.BRIDGE_TOPIC}
    assert users.agent.write == () and users.bridge.read == () and users.network_server.read == ()
    # the bridge writes the topic of each of its sources, as its events name it
    at = "2026-01-01T00:00:00Z"
    assert users.bridge.write == tuple(ButtonEvent("e", s, "1", "press", at).topic for s in ("box-1", "gpio"))
    assert set(users.network_server.write) == set(edge_config.DEFAULT_TOPICS.values())
    acl = brokerconf.acl_text(users)
    assert "user a2d-bridge\ntopic write a2d/v1/buttons/box-1\ntopic write a2d/v1/buttons/gpio\n" in acl
    assert acl.count("topic read") == 3 and acl.count("topic write") == 4
    assert len({u.password for u in users}) == 3 and all(len(u.password) >= 40 for u in users)


@pytest.mark.parametrize("source", ["+", "#", "a/b", "box 1", "x" * 41, ""])
def test_a_bridge_source_cannot_widen_the_acl(source: str) -> None:
    with pytest.raises((WireError, ValueError)):
        brokerconf.local_users([source])


@pytest.mark.parametrize(
    "user",
    [
        {"name": "bad:name", "password": "p"},
        {"name": "ok", "password": "two\nlines"},
        {"name": "ok", "password": ""},
        {"name": "ok", "password": "p", "read": ("a/#\ntopic write #",)},
    ],
)
def test_a_user_that_would_break_the_files_is_refused(user: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        brokerconf.BrokerUser(**user)


def test_the_files_are_private_and_let_nobody_in_anonymously(tmp_path: Path) -> None:
    files = brokerconf.write(tmp_path / "b", 18830, brokerconf.local_users(["box-1"]))
    for f in (files.conf, files.password_file, files.acl_file):
        assert f.stat().st_mode & 0o777 == 0o600, f
    conf = files.conf.read_text()
    assert "allow_anonymous false" in conf and "listener 18830 127.0.0.1" in conf
    assert f"password_file {files.password_file}" in conf and f"acl_file {files.acl_file}" in conf
    passwd = files.password_file.read_text()
    assert "a2d-agent:$7$" in passwd and all(u.password not in passwd for u in brokerconf.local_users(["x"]))
    # an existing file with wider rights is narrowed as it is written again
    files.conf.chmod(0o644)
    brokerconf.write_private(files.conf, conf)
    assert files.conf.stat().st_mode & 0o777 == 0o600


# -- a real broker -----------------------------------------------------------------------------


class Client:
    """A paho MQTT 5 client logged in as one user; records PUBACK reason codes and messages."""

    def __init__(
        self, broker: SecuredMosquitto, user: brokerconf.BrokerUser | None, password: str = ""
    ) -> None:
        self.acks: dict[int, int] = {}
        self.messages: list[tuple[str, bytes]] = []
        self.connack: Any = None
        self.subscribed = False
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"t-{random.getrandbits(32):08x}", protocol=mqtt.MQTTv5
        )
        if user is not None:
            c.username_pw_set(user.name, password or user.password)
        c.on_connect = lambda c_, u, f, reason, p: setattr(self, "connack", reason)
        c.on_publish = lambda c_, u, mid, reason, p: self.acks.__setitem__(mid, reason.value)
        c.on_message = lambda c_, u, msg: self.messages.append((msg.topic, msg.payload))
        c.on_subscribe = lambda c_, u, mid, codes, p: setattr(self, "subscribed", codes)
        self.client = c
        c.connect("127.0.0.1", broker.port)
        c.loop_start()
        wait_for(lambda: self.connack is not None, 10, "the CONNACK")

    def publish(self, topic: str, payload: bytes) -> int:
        """Publish with QoS 1 and return the broker's PUBACK reason code."""
        info = self.client.publish(topic, payload, qos=1)
        wait_for(lambda: info.mid in self.acks, 10, f"the PUBACK for {topic}")
        return self.acks[info.mid]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def clients(secured_mosquitto: SecuredMosquitto):
    made: list[Client] = []

    def make(user: brokerconf.BrokerUser | None, password: str = "") -> Client:
        made.append(Client(secured_mosquitto, user, password))
        return made[-1]

    yield make
    for c in made:
        c.close()


def _uplink() -> tuple[str, bytes]:
    dev = make_devices(1)[0]
    at = datetime.now(UTC)
    return chirpstack_up(dev, dev.payload(at), at, random.Random(1))


def test_nobody_gets_in_without_the_right_password(secured_mosquitto: SecuredMosquitto, clients) -> None:
    assert clients(None).connack.is_failure
    wrong = clients(secured_mosquitto.users.agent, password="not-the-password")
    assert wrong.connack.is_failure and "authori" in str(wrong.connack).lower()
    assert not clients(secured_mosquitto.users.agent).connack.is_failure


def test_each_user_writes_only_its_own_topics(secured_mosquitto: SecuredMosquitto, clients) -> None:
    users = secured_mosquitto.users
    agent = clients(users.agent)
    agent.client.subscribe([(t, SubscribeOptions(qos=1)) for t in brokerconf.AGENT_READS])
    wait_for(lambda: agent.subscribed, 10, "the agent's subscription")
    assert all(code.value == 1 for code in agent.subscribed)  # granted QoS 1 on each filter
    bridge, network = clients(users.bridge), clients(users.network_server)
    press = ButtonEvent("ev-1", SecuredMosquitto.BRIDGE_SOURCE, "2", "press", "2026-01-01T08:00:00Z", 7)
    topic, body = _uplink()

    # refused by the broker (MQTT 5 PUBACK "not authorized"), so never routed to anyone
    assert bridge.publish(topic, body) == NOT_AUTHORIZED  # the bridge posing as ChirpStack
    assert bridge.publish("a2d/v1/buttons/another-box", press.to_json()) == NOT_AUTHORIZED
    assert network.publish(press.topic, press.to_json()) == NOT_AUTHORIZED  # ChirpStack posing as a box
    assert agent.publish(press.topic, press.to_json()) == NOT_AUTHORIZED  # the agent only reads
    # allowed, and delivered to the agent
    assert bridge.publish(press.topic, press.to_json()) == 0
    assert network.publish(topic, body) == 0
    wait_for(lambda: len(agent.messages) >= 2, 10, "the allowed messages")
    assert sorted(t for t, _ in agent.messages) == sorted([press.topic, topic])


def test_the_agent_with_its_user_stores_what_it_should(
    secured_mosquitto: SecuredMosquitto, clients, tmp_path: Path
) -> None:
    users = secured_mosquitto.users
    devices = make_devices(3)
    (tmp_path / "data").mkdir()
    text = (
        f'[device]\nid = "acl-edge"\ndata_dir = "{tmp_path / "data"}"\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {secured_mosquitto.port}\n'
        f'username = "{users.agent.name}"\npassword = "{users.agent.password}"\n'
        "[api]\nenabled = false\n"  # what this test is about is the broker; the API would take a fixed port
        '[[sources]]\nkind = "chirpstack"\n[[sources]]\nkind = "tts"\n' + devices_toml(devices)
    )
    agent = mqtt_agent(edge_config.parse(tomllib.loads(text), "edge.toml", env={}))
    agent.start()
    db = tmp_path / "data" / "edge.db"
    try:
        wait_for(lambda: all(s.connected for s in agent.sources), 20, "the agent's three subscriptions")
        bridge = clients(users.bridge)
        topic, body = _uplink()
        assert bridge.publish(topic, body) == NOT_AUTHORIZED  # a forged uplink: the broker drops it
        rng = random.Random(3)
        ups = []
        for i in range(6):
            dev, at = devices[i % 3], datetime.now(UTC)
            ups.append((chirpstack_up if i % 2 else tts_up)(dev, dev.payload(at), at, rng))
        ns = users.network_server
        publish("127.0.0.1", secured_mosquitto.port, ups, 6, 0, username=ns.name, password=ns.password)
        press = ButtonEvent("ev-acl", SecuredMosquitto.BRIDGE_SOURCE, "1", "press", "2026-01-01T08:00:00Z", 1)
        assert bridge.publish(press.topic, press.to_json()) == 0

        def count(sql: str) -> int:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
                return int(c.execute(sql).fetchone()[0])

        wait_for(lambda: count("SELECT COUNT(*) FROM events") == 7, 20, "6 uplinks and the press stored")
        assert count("SELECT COUNT(*) FROM events WHERE source = 'bridge'") == 1
        assert count("SELECT COUNT(*) FROM quarantine") == 0
    finally:
        agent.stop()


def test_the_simulator_says_so_when_the_broker_refuses_it(secured_mosquitto: SecuredMosquitto) -> None:
    ns = secured_mosquitto.users.network_server
    with pytest.raises(KnownError, match="refused the connection"):
        publish("127.0.0.1", secured_mosquitto.port, [_uplink()], 1, 0, username=ns.name, password="wrong")
