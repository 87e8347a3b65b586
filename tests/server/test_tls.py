"""`a2d server run --tls-cert --tls-key` serves HTTPS; a half or unusable pair is a one-line error."""

from __future__ import annotations

import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from a2d.cli import main as a2d
from tests.conftest import free_port
from tests.tlscert import make_self_signed

from .conftest import PROJECT


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A real ``a2d server run`` over HTTPS on a free loopback port: (port, certificate)."""
    cert, key = make_self_signed(tmp_path)
    port = free_port()
    argv = [sys.executable, "-m", "a2d.cli", "server", "run", "--db", f"sqlite:///{tmp_path / 's.db'}",
            "--host", "127.0.0.1", "--port", str(port), "--tls-cert", str(cert), "--tls-key", str(key)]  # fmt: skip
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=PROJECT, stdout=out, stderr=subprocess.STDOUT)
    try:
        trust = ssl.create_default_context(cafile=str(cert))
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server exited with {proc.returncode}:\n{log.read_text()}")
            try:
                httpx.get(f"https://127.0.0.1:{port}/api/v1/healthz", verify=trust, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    pytest.fail(f"the server did not answer within 30 s:\n{log.read_text()}")
                time.sleep(0.05)
        yield port, cert
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)


def test_serves_https_that_verifies_against_its_certificate(tls_server: tuple[int, Path]) -> None:
    port, cert = tls_server
    url = f"https://127.0.0.1:{port}/api/v1/healthz"
    r = httpx.get(url, verify=ssl.create_default_context(cafile=str(cert)), timeout=5)
    assert r.status_code == 200
    with pytest.raises(httpx.ConnectError):  # not signed by a CA the system trusts
        httpx.get(url, timeout=5)
    with pytest.raises(httpx.RemoteProtocolError):  # plain HTTP on the TLS port is refused
        httpx.get(f"http://127.0.0.1:{port}/api/v1/healthz", timeout=5)


def run_fails(capsys: pytest.CaptureFixture[str], tmp_path: Path, *tls: str) -> str:
    port = free_port()
    code = a2d(["server", "run", "--db", f"sqlite:///{tmp_path / 's.db'}", "--port", str(port), *tls])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("a2d server: ") and err.count("\n") == 1, err
    assert not (tmp_path / "s.db").exists()  # refused before opening the database
    return err


@pytest.mark.parametrize("given", ["--tls-cert", "--tls-key"])
def test_one_without_the_other_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, given: str
) -> None:
    cert, _ = make_self_signed(tmp_path)
    assert "both --tls-cert and --tls-key" in run_fails(capsys, tmp_path, given, str(cert))


def test_the_setting_pairs_with_the_flag(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, _ = make_self_signed(tmp_path)
    monkeypatch.setenv("A2D_SERVER_TLS_KEY", str(tmp_path / "missing.pem"))
    err = run_fails(capsys, tmp_path, "--tls-cert", str(cert))
    assert "cannot read the TLS key" in err and "No such file" in err


def test_unreadable_or_unusable_files_are_one_line_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cert, key = make_self_signed(tmp_path)
    missing = str(tmp_path / "nope.pem")
    err = run_fails(capsys, tmp_path, "--tls-cert", missing, "--tls-key", str(key))
    assert f"cannot read the TLS certificate {missing}: No such file" in err
    err = run_fails(capsys, tmp_path, "--tls-cert", str(cert), "--tls-key", str(tmp_path))
    assert "cannot read the TLS key" in err

    other = ec.generate_private_key(ec.SECP256R1())
    wrong = tmp_path / "other.pem"
    wrong.write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    assert "cannot use the TLS certificate" in run_fails(
        capsys, tmp_path, "--tls-cert", str(cert), "--tls-key", str(wrong)
    )
    locked = tmp_path / "locked.pem"
    locked.write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    assert "is encrypted" in run_fails(capsys, tmp_path, "--tls-cert", str(cert), "--tls-key", str(locked))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    assert "cannot use the TLS certificate" in run_fails(
        capsys, tmp_path, "--tls-cert", str(garbage), "--tls-key", str(key)
    )
