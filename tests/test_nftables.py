"""The appliance's nftables rule sets (images/nftables/): each one is valid, and the edge role's lets
in only what it names. The second test loads the rules into a network namespace of its own and
knocks on its ports from a second namespace over a veth pair (root and Debian's nftables needed).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import wait_for

NFT = Path(__file__).resolve().parent.parent / "images" / "nftables"
ROLES = ("edge", "kiosk", "edge-kiosk", "edge-kiosk-bridge", "wall", "server")
#: addresses inside the rule set's example kiosk subnet (192.0.2.0/24) and outside it
SERVER_IN, CLIENT_IN = "192.0.2.1", "192.0.2.20"
SERVER_OUT, CLIENT_OUT = "198.51.100.1", "198.51.100.20"
LISTEN = """
import socket, sys, selectors
sel = selectors.DefaultSelector()
for port in map(int, sys.argv[1:]):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(); sel.register(s, selectors.EVENT_READ)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        key.fileobj.accept()[0].close()
"""


def needs_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("the nftables tests load rules into network namespaces: run them as root")


def test_every_role_has_a_valid_rule_set() -> None:
    needs_root()
    assert sorted(p.stem for p in NFT.glob("*.nft")) == sorted(f"a2d-{r}" for r in ROLES)
    for role in ROLES:
        # in a namespace of its own, so the check never touches this machine's rules
        proc = subprocess.run(
            ["unshare", "--net", "nft", "-c", "-f", str(NFT / f"a2d-{role}.nft")],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, f"{role}: {proc.stderr}"
    broken = subprocess.run(
        ["unshare", "--net", "nft", "-c", "-f", "/dev/stdin"],
        input="table inet a2d { chain input { tcp dport 22 acept } }",
        capture_output=True,
        text=True,
    )
    assert broken.returncode != 0  # the check does refuse a bad file


def ns(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", "netns", "exec", name, *args], check=True, capture_output=True, text=True)


@pytest.fixture
def two_hosts() -> Iterator[tuple[str, str]]:
    needs_root()
    server, client = f"a2d-fw-s{os.getpid()}", f"a2d-fw-c{os.getpid()}"
    made: list[str] = []
    try:
        for name in (server, client):
            subprocess.run(["ip", "netns", "add", name], check=True)
            made.append(name)
        subprocess.run(
            [
                "ip",
                "link",
                "add",
                "a2dfws",
                "netns",
                server,
                "type",
                "veth",
                "peer",
                "name",
                "a2dfwc",
                "netns",
                client,
            ],
            check=True,
        )
        for name, dev, addrs in (
            (server, "a2dfws", (SERVER_IN, SERVER_OUT)),
            (client, "a2dfwc", (CLIENT_IN, CLIENT_OUT)),
        ):
            for addr in addrs:
                ns(name, "ip", "addr", "add", f"{addr}/24", "dev", dev)
            ns(name, "ip", "link", "set", dev, "up")
            ns(name, "ip", "link", "set", "lo", "up")
        yield server, client
    finally:
        for name in made:
            subprocess.run(["ip", "netns", "del", name], check=False)


def can_connect(client: str, address: str, port: int) -> bool:
    code = f"import socket; socket.create_connection(({address!r}, {port}), timeout=1).close()"
    return (
        subprocess.run(
            ["ip", "netns", "exec", client, sys.executable, "-c", code], capture_output=True
        ).returncode
        == 0
    )


def test_edge_role_lets_in_only_kiosks_api_and_tls_mqtt(two_hosts: tuple[str, str], tmp_path: Path) -> None:
    server, client = two_hosts
    rules = (
        (NFT / "a2d-edge.nft")
        .read_text()
        .replace("define mqtt_clients = 192.0.2.10", f"define mqtt_clients = {CLIENT_IN}")
    )
    (tmp_path / "edge.nft").write_text(rules)
    listener = subprocess.Popen(
        ["ip", "netns", "exec", server, sys.executable, "-c", LISTEN, "22", "1883", "8780", "8883", "8080"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert listener.stdout is not None and listener.stdout.readline().strip() == "ready"
        # before the rules, everything is open: the probes below do measure the firewall
        wait_for(lambda: can_connect(client, SERVER_IN, 1883), timeout=10, what="the open broker port")
        ns(server, "nft", "-f", str(tmp_path / "edge.nft"))
        assert can_connect(client, SERVER_IN, 8780)  # a kiosk of the subnet reaches the agent's API
        assert can_connect(client, SERVER_IN, 8883)  # the named MQTT client reaches the TLS listener
        assert can_connect(client, SERVER_IN, 22)  # SSH
        assert not can_connect(client, SERVER_IN, 1883)  # plain MQTT is loopback only
        assert not can_connect(client, SERVER_IN, 8080)  # nothing else
        assert not can_connect(client, SERVER_OUT, 8780)  # from outside the kiosk subnet: no API
        assert not can_connect(client, SERVER_OUT, 8883)  # ... and no broker
        assert (
            ns(
                server,
                sys.executable,
                "-c",
                "import socket; socket.create_connection(('127.0.0.1', 1883), timeout=1)",
            ).returncode
            == 0
        )
    finally:
        listener.kill()
        listener.wait()
