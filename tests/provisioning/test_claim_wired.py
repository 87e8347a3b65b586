"""The claim wired to enroll and first boot, with real processes on 127.0.0.1: ``a2d provision claim``
registers the device at a running sync server and sends the real bundle; ``a2d provision
await-claim`` installs it into a temporary root exactly as firstboot would, and the token it got
works at the server. A mistyped code registers nothing; a bundle the device refuses leaves the
claim open; the admin token comes from A2D_ADMIN_TOKEN when not on the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from a2d import claimwire, syncwire
from tests.conftest import free_port, wait_for
from tests.test_sync import Server

ROOT = Path(__file__).resolve().parents[2]
A2D = [sys.executable, "-m", "a2d.cli"]
SERIAL = "10000000c1a1e0d1"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    s = Server(tmp_path)
    yield s
    s.kill(signal.SIGTERM)


class Pi:
    """``a2d provision await-claim`` on 127.0.0.1, installing into ``root``."""

    def __init__(self, tmp: Path) -> None:
        self.root, self.notice, self.port = tmp / "root", tmp / "run" / "claim.json", free_port()
        self.root.mkdir()
        self.proc = subprocess.Popen(
            [*A2D, "provision", "await-claim", "--serial", SERIAL, "--host", "127.0.0.1", "--port", str(self.port),
             "--no-advertise", "--notice", str(self.notice), "--lock-file", str(tmp / "lock.json"),
             "--root", str(self.root)],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        wait_for(self.notice.exists, 20, "the claim notice")

    @property
    def code(self) -> str:
        notice = claimwire.read(self.notice)
        assert notice is not None
        return notice.code

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def pi(tmp_path: Path) -> Iterator[Pi]:
    p = Pi(tmp_path)
    yield p
    p.stop()


def claim(
    pi: Pi, server: Server, code: str, *extra: str, token: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("A2D_ADMIN_TOKEN", None)
    if token:
        env["A2D_ADMIN_TOKEN"] = token
    return subprocess.run(
        [*A2D, "provision", "claim", SERIAL, "--code", code, "--name", "Kiosk Weier", "--site", "ov-weier",
         "--role", "edge+kiosk", "--server", f"http://127.0.0.1:{server.port}", "--address",
         f"127.0.0.1:{pi.port}", *extra],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def admin_token(server: Server) -> str:
    return str(json.loads(server.cli("admin-token", "--json"))["admin_token"])


def devices(server: Server) -> list[dict]:
    return [json.loads(line) for line in server.cli("device", "list", "--json").splitlines() if line.strip()]


def heartbeat(server: Server, device_id: str, token: str) -> int:
    body = json.dumps(syncwire.Heartbeat(versions={"a2d": "test"}, uptime_s=1.0, disk_free_bytes=1).as_dict())
    req = urllib.request.Request(f"http://127.0.0.1:{server.port}{syncwire.heartbeat_path(device_id)}",
                                 data=body.encode(), method="POST",
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(req, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_claim_registers_the_device_and_the_pi_is_set_up_as_firstboot_would(pi: Pi, server: Server) -> None:
    done = claim(pi, server, pi.code, "--json", token=admin_token(server))  # the token from the environment
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout)
    assert (said["device_id"], said["name"], said["role"], said["serial"]) == (
        "kiosk-weier", "Kiosk Weier", "edge+kiosk", SERIAL)  # fmt: skip
    assert pi.proc.wait(20) == 0  # claimed: it stops waiting
    assert not pi.notice.exists()

    [row] = devices(server)
    assert (row["device_id"], row["site"], row["role"]) == ("kiosk-weier", "ov-weier", "edge+kiosk")
    etc = pi.root / "etc/a2d"
    edge = tomllib.loads((etc / "edge.toml").read_text())
    assert edge["device"]["id"] == "kiosk-weier"
    assert edge["sync"]["url"] == f"http://127.0.0.1:{server.port}"
    assert (etc / "kiosk.toml").is_file()
    for secret in ("sync.token", "kiosk.token"):
        assert oct((etc / secret).stat().st_mode & 0o777) == "0o600"
    wants = pi.root / "etc/systemd/system/multi-user.target.wants"
    assert sorted(p.name for p in wants.iterdir()) == ["a2d-edge.service", "a2d-kiosk.service"]
    assert (wants / "a2d-edge.service").readlink() == Path("/etc/systemd/system/a2d-edge.service")
    assert json.loads((etc / "device.json").read_text())["device_id"] == "kiosk-weier"
    kiosks = json.loads((pi.root / "var/lib/a2d/edge/kiosks.json").read_text())["kiosks"]
    assert [k["kiosk_id"] for k in kiosks] == ["kiosk-weier-kiosk"]
    # the token the Pi got is the one the server registered
    token = (etc / "sync.token").read_text().strip()
    assert heartbeat(server, "kiosk-weier", token) == 204
    assert heartbeat(server, "kiosk-weier", token + "x") == 401

    again = subprocess.run([*A2D, "provision", "await-claim", "--serial", SERIAL, "--no-advertise",
                            "--root", str(pi.root)], cwd=ROOT, capture_output=True, text=True, timeout=30)  # fmt: skip
    assert again.returncode == 1 and "set up already as kiosk-weier" in again.stderr


def test_a_wrong_code_registers_nothing(pi: Pi, server: Server) -> None:
    wrong = f"{(int(pi.code) + 1) % 1_000_000:06d}"
    refused = claim(pi, server, wrong, "--admin-token", admin_token(server))
    assert refused.returncode == 1 and "wrong code (4 more tries" in refused.stderr
    assert devices(server) == []
    assert pi.proc.poll() is None and not (pi.root / "etc").exists()


def test_a_bundle_the_pi_refuses_leaves_the_claim_open(pi: Pi, server: Server, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "a2d-firstboot/0"}))
    refused = claim(pi, server, pi.code, "--bundle-file", str(bad))
    assert refused.returncode == 1
    assert "the device did not install the bundle" in refused.stderr and "a2d-firstboot/1" in refused.stderr
    assert pi.proc.poll() is None and not (pi.root / "etc/a2d/device.json").exists()
    done = claim(pi, server, pi.code, token=admin_token(server))
    assert done.returncode == 0, done.stderr
    assert "claimed 10000000c1a1e0d1" in done.stdout and "as kiosk-weier" in done.stdout
    assert pi.proc.wait(20) == 0


def test_a_device_registered_but_not_installed_is_named_to_revoke(pi: Pi, server: Server) -> None:
    (pi.root / "etc").write_text("a file where the Pi's /etc should be: the install fails")
    refused = claim(pi, server, pi.code, token=admin_token(server))
    assert refused.returncode == 1 and "the device did not install the bundle" in refused.stderr
    assert "the device kiosk-weier is registered without a bundle" in refused.stderr
    assert "a2d provision revoke kiosk-weier" in refused.stderr
    assert [d["device_id"] for d in devices(server)] == ["kiosk-weier"]
    assert pi.proc.poll() is None  # still waiting to be claimed


def test_without_an_admin_token_it_says_where_to_put_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "A2D_ADMIN_TOKEN"}
    r = subprocess.run([*A2D, "provision", "list", "--server", "http://127.0.0.1:9"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=30)  # fmt: skip
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "no admin token: set A2D_ADMIN_TOKEN" in r.stderr
