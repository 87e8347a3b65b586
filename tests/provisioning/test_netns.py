"""The claim across a LAN: the device in one network namespace, the admin's laptop in another, a
veth pair between them (10.231.0.1 and .2). Zeroconf multicast crosses the veth, so ``discover`` and
``claim`` find the device by its advert, as they would in an office; the sync server runs beside the
admin (in its namespace, on loopback), so the claim registers the device there and the device
installs the real bundle into a temporary root. Needs root (``ip netns``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from a2d import claimwire

from ..conftest import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
A2D = [sys.executable, "-m", "a2d.cli"]
SERIAL = "10000000feed0001"
DEVICE_IP, ADMIN_IP = "10.231.0.1", "10.231.0.2"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None, reason="network namespaces need root and iproute2 (ip)"
)


@dataclass
class Lan:
    device_ns: str
    admin_ns: str

    def run(self, ns: str, *args: str, **kw) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        return subprocess.run(["ip", "netns", "exec", ns, *A2D, *args], capture_output=True, text=True,
                              env=env, timeout=60, **kw)  # fmt: skip

    def listens(self, ns: str, port: int) -> bool:
        probe = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=1).close()"
        return subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", probe], capture_output=True,
                              timeout=20).returncode == 0  # fmt: skip

    def start(self, ns: str, *args: str) -> subprocess.Popen:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        return subprocess.Popen(["ip", "netns", "exec", ns, *A2D, *args], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, env=env)  # fmt: skip


def sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=20)


@pytest.fixture
def lan() -> Iterator[Lan]:
    tag = f"a2dc{os.getpid() % 100000}"
    dev_ns, adm_ns, dev_if, adm_if = f"{tag}-dev", f"{tag}-adm", f"{tag}d", f"{tag}a"
    try:
        sh("ip", "netns", "add", dev_ns)
        sh("ip", "netns", "add", adm_ns)
        sh("ip", "link", "add", dev_if, "type", "veth", "peer", "name", adm_if)
        sh("ip", "link", "set", dev_if, "netns", dev_ns)
        sh("ip", "link", "set", adm_if, "netns", adm_ns)
        for ns, ifname, addr in ((dev_ns, dev_if, DEVICE_IP), (adm_ns, adm_if, ADMIN_IP)):
            sh("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", ifname)
            sh("ip", "-n", ns, "link", "set", ifname, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        yield Lan(dev_ns, adm_ns)
    finally:
        for ns in (dev_ns, adm_ns):  # deleting a namespace deletes its end of the veth, and so the pair
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)


def test_discover_and_claim_between_two_namespaces(lan, tmp_path):
    notice = tmp_path / "run" / "claim.json"
    root = tmp_path / "root"
    db, port = f"sqlite:///{tmp_path / 'server.db'}", free_port()
    server = lan.start(lan.admin_ns, "server", "run", "--db", db, "--host", "127.0.0.1", "--port", str(port))
    wait_for(lambda: lan.listens(lan.admin_ns, port), 30, "the sync server in the admin's namespace", 0.2)
    admin = json.loads(lan.run(lan.admin_ns, "server", "admin-token", "--db", db, "--json").stdout)[
        "admin_token"
    ]
    options = ("--server", f"http://127.0.0.1:{port}", "--admin-token", admin, "--interface", ADMIN_IP)
    device = lan.start(lan.device_ns, "provision", "await-claim", "--serial", SERIAL, "--host", DEVICE_IP,
                       "--advertise-on", DEVICE_IP, "--notice", str(notice),
                       "--lock-file", str(tmp_path / "lib" / "claim-lock.json"), "--root", str(root))  # fmt: skip
    try:
        wait_for(notice.exists, 20, "the device's claim notice")
        code = claimwire.read(notice).code  # what the kiosk shows

        found = lan.run(
            lan.admin_ns, "provision", "discover", "--json", "--timeout", "4", "--interface", ADMIN_IP
        )
        assert found.returncode == 0, found.stderr
        assert {"serial": SERIAL, "address": DEVICE_IP, "port": claimwire.DEFAULT_PORT} in json.loads(
            found.stdout
        )

        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        refused = lan.run(lan.admin_ns, "provision", "claim", SERIAL, "--code", wrong, "--name", "kiosk-rathaus-1",
                          "--site", "rathaus", "--role", "edge+kiosk", *options)  # fmt: skip
        assert refused.returncode == 1 and "wrong code (4 more tries" in refused.stderr
        assert not (root / "etc").exists()

        claimed = lan.run(lan.admin_ns, "provision", "claim", SERIAL, "--code", code, "--name", "kiosk-rathaus-1",
                          "--site", "rathaus", "--role", "edge+kiosk", "--json", *options)  # fmt: skip
        assert claimed.returncode == 0, claimed.stderr
        said = json.loads(claimed.stdout)
        assert (said["device_id"], said["address"]) == (
            "kiosk-rathaus-1",
            f"{DEVICE_IP}:{claimwire.DEFAULT_PORT}",
        )
        assert device.wait(20) == 0  # the device is claimed and stops waiting
        done = json.loads((root / "etc/a2d/device.json").read_text())
        assert (done["device_id"], done["site"], done["role"]) == ("kiosk-rathaus-1", "rathaus", "edge+kiosk")
        assert oct((root / "etc/a2d/sync.token").stat().st_mode & 0o777) == "0o600"
        assert (root / "etc/systemd/system/multi-user.target.wants/a2d-kiosk.service").is_symlink()
        assert not notice.exists()  # the kiosk stops showing the code
        listed = lan.run(lan.admin_ns, "server", "device", "list", "--db", db, "--json")
        assert [json.loads(line)["device_id"] for line in listed.stdout.splitlines()] == ["kiosk-rathaus-1"]
    finally:
        for proc in (device, server):
            if proc.poll() is None:
                proc.terminate()
                proc.wait(20)
