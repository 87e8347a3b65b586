"""Beyond loopback the API speaks HTTPS with its own certificate, whose pin `kiosk add` prints.

The agents here listen on 0.0.0.0 (that is what turns HTTPS on); the tests talk to them on
127.0.0.1 only.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from collections.abc import Callable
from pathlib import Path

import pytest

from a2d.tlspin import fingerprint, parse_pin, pinned_context
from edge_agent import cli as edge_cli
from edge_agent.localapi.tls import CERT_FILE, KEY_FILE
from tests.localapi.conftest import RunningApi, edge_config_file

TLS = '[api]\nhost = "0.0.0.0"\n'


def served_pin(port: int) -> str:
    return fingerprint(ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", port))))


def get(port: int, path: str, pin: str, token: str) -> tuple[int, str]:
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=pinned_context(parse_pin(pin)))
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        r = conn.getresponse()
        return r.status, r.read().decode()
    finally:
        conn.close()


def kiosk_add(cfg: Path, name: str, capsys: pytest.CaptureFixture[str]) -> dict:
    assert edge_cli.main(["kiosk", "add", name, "--config", str(cfg), "--json"]) == 0
    return dict(json.loads(capsys.readouterr().out))


def test_https_beyond_loopback_with_the_pin_kiosk_add_prints(
    api_factory: Callable[..., RunningApi], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = api_factory(TLS)
    assert run.agent.api is not None
    port = run.agent.api.port
    assert run.agent.api.url.startswith("https://")
    doc = kiosk_add(tmp_path / "edge.toml", "kiosk-foyer", capsys)
    assert doc["pin_sha256"] == served_pin(port)
    assert oct((run.data_dir / KEY_FILE).stat().st_mode & 0o777) == "0o600"
    status, body = get(port, "/v1/status", doc["pin_sha256"], doc["token"])
    assert status == 200 and json.loads(body)["device_id"] == "edge-api-test"
    # the wrong pin: the handshake fails, nothing is sent
    with pytest.raises(ssl.SSLCertVerificationError, match="does not match"):
        get(port, "/v1/status", "00" * 32, doc["token"])
    # plain HTTP gets no answer on this port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /v1/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        try:
            answer = s.recv(100)
        except ConnectionResetError:
            answer = b""
        assert not answer.startswith(b"HTTP/1.1 200")


def test_kiosk_add_before_the_first_start_makes_the_certificate_the_agent_then_serves(
    api_factory: Callable[..., RunningApi], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = edge_config_file(tmp_path, TLS)
    doc = kiosk_add(cfg, "kiosk-eg-2", capsys)
    assert (tmp_path / "data" / CERT_FILE).exists()
    run = api_factory(TLS)
    assert run.agent.api is not None
    assert served_pin(run.agent.api.port) == doc["pin_sha256"]
    # and a second kiosk gets the same pin: the certificate is made once
    assert kiosk_add(cfg, "kiosk-eg-3", capsys)["pin_sha256"] == doc["pin_sha256"]
