"""enroll against a real HTTPS server: pinned, refused without the pin, the town's keys in the bundle;
and what it refuses before it registers anything."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from a2d import bundlekeys, firstboot
from a2d.tlspin import fingerprint
from tests.conftest import free_port, wait_port
from tests.tlscert import make_self_signed

ROOT = Path(__file__).resolve().parents[2]
A2D = [sys.executable, "-m", "a2d.cli"]


def a2d(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*A2D, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


class TlsServer:
    def __init__(self, tmp: Path) -> None:
        self.cert, key = make_self_signed(tmp)
        self.db = f"sqlite:///{tmp / 'server.db'}"
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        with (tmp / "server.log").open("wb") as log:
            self.proc = subprocess.Popen(
                [*A2D, "server", "run", "--db", self.db, "--host", "127.0.0.1", "--port", str(self.port),
                 "--tls-cert", str(self.cert), "--tls-key", str(key)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_port(self.port, 30)
        r = a2d("server", "admin-token", "--db", self.db, "--json")
        self.admin = json.loads(r.stdout)["admin_token"]
        self.pin = fingerprint(
            x509.load_pem_x509_certificate(self.cert.read_bytes()).public_bytes(Encoding.DER)
        )

    def devices(self) -> list[dict]:
        out = a2d("server", "device", "list", "--db", self.db, "--json").stdout
        return [json.loads(line) for line in out.splitlines()]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[TlsServer]:
    s = TlsServer(tmp_path)
    yield s
    s.proc.send_signal(signal.SIGTERM)
    s.proc.wait(30)


def enroll(s: TlsServer, out: Path, *extra: str, url: str = "") -> subprocess.CompletedProcess[str]:
    out.mkdir(exist_ok=True)
    return a2d("provision", "enroll", "--server", url or s.url, "--admin-token", s.admin, "--name", "Kiosk Zell",
               "--site", "ov-zell", "--role", "edge+kiosk+bridge", "--out", str(out), "--json", *extra)  # fmt: skip


def test_a_pinned_server_gives_its_pin_and_keys_to_the_device(server: TlsServer, tmp_path: Path) -> None:
    public = bundlekeys.public_key_text(bundlekeys.new_private_key())
    assert a2d("server", "signing-key", "trust", public, "--db", server.db).returncode == 0
    r = enroll(server, tmp_path / "bad")  # a self-signed certificate: not without its pin
    assert (
        r.returncode == 1 and "cannot reach the sync server" in r.stderr and len(r.stderr.splitlines()) == 1
    )
    wrong = "00:" * 31 + "00"
    r = enroll(server, tmp_path / "bad", "--pin", wrong)
    assert r.returncode == 1 and "does not match --pin" in r.stderr
    assert (
        server.devices() == [] and list((tmp_path / "bad").iterdir()) == []
    )  # nothing registered or written

    r = enroll(server, tmp_path / "card", "--pin", server.pin)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["device_id"] == "kiosk-zell" and summary["server"]["pin_sha256"] == server.pin
    path = tmp_path / "card" / firstboot.FILE
    assert path.stat().st_mode & 0o777 == 0o600
    bundle = firstboot.parse(path.read_bytes())
    assert "secrets" not in summary and bundle.secrets["sync.token"] not in r.stdout  # only in the bundle
    assert bundle.trusted_keys == (public,) and set(bundle.configs) == {
        "edge.toml",
        "kiosk.toml",
        "bridge.toml",
    }
    edge = tomllib.loads(bundle.configs["edge.toml"])
    assert edge["sync"] == {"url": server.url, "token_file": "/etc/a2d/sync.token", "trusted_keys": [public],
                            "pin_sha256": server.pin}  # fmt: skip
    kiosk = tomllib.loads(bundle.configs["kiosk.toml"])
    assert kiosk["kiosk"]["trusted_keys"] == [public] and kiosk["kiosk"]["agent_device_id"] == "kiosk-zell"
    assert [d["role"] for d in server.devices()] == ["edge+kiosk+bridge"]
    again = enroll(server, tmp_path / "card", "--pin", server.pin)  # a bundle not yet installed is kept
    assert again.returncode == 1 and "exists already" in again.stderr and len(server.devices()) == 1


def test_refused_before_anything_is_sent(tmp_path: Path) -> None:
    def run(url: str, *extra: str) -> subprocess.CompletedProcess[str]:
        (tmp_path / "out").mkdir(exist_ok=True)
        return a2d("provision", "enroll", "--server", url, "--admin-token", "t", "--name", "n", "--role", "edge",
                   "--out", str(tmp_path / "out"), *extra)  # fmt: skip

    r = run("http://192.0.2.10:8080")  # TEST-NET-1: never contacted, refused first
    assert r.returncode == 1 and "plain http on another machine" in r.stderr
    assert run("ftp://127.0.0.1").returncode == 1
    r = run(f"http://127.0.0.1:{free_port()}")  # nobody listens
    assert r.returncode == 1 and "cannot reach the sync server" in r.stderr
    r = a2d("provision", "enroll", "--server", "http://127.0.0.1:1", "--admin-token", "t", "--name", "n",
            "--role", "kiosk", "--out", str(tmp_path))  # fmt: skip
    assert r.returncode == 1 and "--agent DEVICE_ID" in r.stderr
    assert list((tmp_path / "out").iterdir()) == []
