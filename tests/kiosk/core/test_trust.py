"""The kiosk and its agent trust each other and nobody else: the token, 401 and 429, the pinned
certificate, and zeroconf adverts that must prove themselves before they get a token or a vote."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from zeroconf import IPVersion, ServiceInfo, Zeroconf

from a2d.localapi import SERVICE_TYPE
from edge_agent.localapi import kiosks
from kiosk.client import OUTBOX_FILE, AgentClient
from kiosk.outbox import Outbox
from tests.conftest import wait_for
from tests.tlscert import make_self_signed

from .conftest import EdgeAgent


def client(edge: EdgeAgent, cache: Path, **kw: Any) -> AgentClient:
    settings: dict[str, Any] = {**edge.client_settings(), "interval_s": 0.1, "timeout": 2.0, **kw}
    return AgentClient(edge.url, cache, "kiosk-demo", discover=False, **settings)


def test_without_a_token_the_kiosk_is_not_paired_and_keeps_its_votes(
    tmp_path: Path, edge: EdgeAgent, caplog: pytest.LogCaptureFixture
) -> None:
    with client(edge, tmp_path / "cache", token="") as unpaired:
        vote_id = unpaired.vote("zufriedenheit", "4", "de")
        assert unpaired.flush(0.5) is False and unpaired.pending() == 1  # kept, not refused
        assert unpaired.paired is False and unpaired.online is True
        assert unpaired.status() is None and unpaired.help_requests() == []
        check = Outbox(tmp_path / "cache" / OUTBOX_FILE)
        assert check.refused_count() == 0
        check.close()
    assert sum("not paired" in r.getMessage() for r in caplog.records) == 1  # logged once
    assert edge.stored_votes() == []
    # paired later (the same outbox, now with the token): the vote arrives
    with client(edge, tmp_path / "cache") as paired:
        assert paired.flush(5) is True and paired.paired is True
    assert [v["id"] for v in edge.stored_votes()] == [vote_id]


def test_a_revoked_kiosk_keeps_its_votes_until_paired_again(tmp_path: Path, edge: EdgeAgent) -> None:
    with client(edge, tmp_path / "cache") as kiosk:
        assert kiosk.status() is not None and kiosk.paired is True
        kiosks.revoke(edge.data_dir, "kiosk-eg")
        kiosk.vote("zufriedenheit", "2", "de")
        wait_for(lambda: kiosk.status() is None and kiosk.paired is False, 5, "the revocation", interval=0.2)
        assert kiosk.flush(0.5) is False and kiosk.pending() == 1


def test_a_429_makes_the_kiosk_wait_its_retry_after(
    tmp_path: Path, edge: EdgeAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    from edge_agent.localapi import guard

    monkeypatch.setattr(guard, "BURST", 3)  # read when the agent starts
    monkeypatch.setattr(guard, "RATE_PER_S", 0.5)
    edge.stop()
    edge.start()
    sent: list[int] = []
    with client(edge, tmp_path / "cache") as kiosk:
        real = kiosk._opener.open

        def counting(req: Any, *a: Any, **kw: Any) -> Any:
            sent.append(1)
            return real(req, *a, **kw)

        monkeypatch.setattr(kiosk._opener, "open", counting)
        for _ in range(6):
            kiosk.vote("zufriedenheit", "5", "de")
        assert kiosk.flush(0.5) is False  # three went in, then 429: the rest wait
        assert kiosk.pending() == 3 and len(edge.stored_votes()) == 3
        tried = len(sent)
        assert kiosk.flush(0.5) is False and len(sent) == tried  # nothing sent before Retry-After
        assert kiosk.flush(10) is True  # and after it, the rest arrive
    assert len(edge.stored_votes()) == 6


@pytest.fixture
def tls_edge(edge_factory: Callable[..., EdgeAgent], pack_file: Path) -> EdgeAgent:
    return edge_factory(pack_file, host="0.0.0.0")  # HTTPS (tests talk to it on 127.0.0.1 only)


def test_the_kiosk_talks_https_to_its_pinned_agent_and_refuses_another_certificate(
    tmp_path: Path, tls_edge: EdgeAgent
) -> None:
    assert tls_edge.url.startswith("https://")
    with client(tls_edge, tmp_path / "a") as kiosk:
        vote_id = kiosk.vote("zufriedenheit", "3", "de")
        assert kiosk.flush(5) is True and kiosk.refresh() is True
    assert [v["id"] for v in tls_edge.stored_votes()] == [vote_id]
    with client(tls_edge, tmp_path / "b", pin_sha256="AB" * 32) as wrong:
        wrong.vote("zufriedenheit", "1", "de")
        assert wrong.flush(0.5) is False and wrong.online is False and wrong.paired is None
    assert [v["id"] for v in tls_edge.stored_votes()] == [vote_id]


# --- zeroconf: a fake advert must not capture the kiosk ---------------------------------------------


class FakeAgent:
    """An HTTP(S) server on 127.0.0.1 that says it is the real agent and records what it is sent."""

    def __init__(self, device_id: str, tls_dir: Path | None = None) -> None:
        self.requests: list[tuple[str, str, str]] = []  # (method, path, Authorization)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                fake.requests.append((self.command, self.path, self.headers.get("Authorization", "")))
                body = json.dumps({"ok": True, "device_id": device_id}).encode()
                self.send_response(200 if self.path == "/v1/healthz" else 201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _any  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls_dir is not None:
            cert, key = make_self_signed(tls_dir)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def zc() -> Iterator[Zeroconf]:
    z = Zeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    yield z
    z.unregister_all_services()
    z.close()


def advertise(zc: Zeroconf, name: str, port: int, device_id: str, scheme: str) -> None:
    info = ServiceInfo(
        SERVICE_TYPE, f"{name}.{SERVICE_TYPE}", addresses=[socket.inet_aton("127.0.0.1")], port=port,
        properties={"device_id": device_id, "api": "1", "scheme": scheme}, server=f"{name}.local.",
    )  # fmt: skip
    zc.register_service(info, allow_name_change=True)


def test_a_fake_advert_registered_first_does_not_capture_the_kiosk(
    tmp_path: Path, edge_factory: Callable[..., EdgeAgent], pack_file: Path, zc: Zeroconf
) -> None:
    device_id = f"edge-real-{id(tmp_path) % 100000}"  # other tests' adverts on the same loopback differ
    (tmp_path / "fake-tls").mkdir()
    # the fakes come first, both claiming the real device id in their advert: a TLS agent that
    # even answers healthz with it (but has another certificate), and a plain-HTTP one whose
    # healthz gives it away
    fakes = [FakeAgent(device_id, tmp_path / "fake-tls"), FakeAgent("edge-impostor")]
    try:
        advertise(zc, "a-fake-tls", fakes[0].port, device_id, "https")
        advertise(zc, "a-fake-http", fakes[1].port, device_id, "http")
        real = edge_factory(pack_file, host="0.0.0.0", advertise=True, device_id=device_id)
        assert real.agent is not None and real.agent.api is not None and real.agent.api.advert is not None
        assert real.agent.api.advert.registered.wait(10), "the real agent did not advertise"
        settings = {**real.client_settings(), "agent_device_id": device_id}
        with AgentClient(None, tmp_path / "cache", "kiosk-demo", zeroconf_interfaces=["127.0.0.1"],
                         discover_timeout=5, interval_s=0.1, **settings) as kiosk:  # fmt: skip
            vote_id = kiosk.vote("zufriedenheit", "5", "de")
            assert kiosk.flush(15) is True
            assert kiosk.base_url == f"https://127.0.0.1:{real.port}"
        assert [v["id"] for v in real.stored_votes()] == [vote_id]
    finally:
        for f in fakes:
            f.close()
    # the TLS fake failed the pin in the handshake: it got no request at all
    assert fakes[0].requests == []
    # the plain-HTTP fake on loopback was asked for its token-less healthz, never sent a token or a vote
    assert fakes[1].requests and all(r == ("GET", "/v1/healthz", "") for r in fakes[1].requests)


def test_a_fake_alone_gets_nothing(tmp_path: Path, zc: Zeroconf) -> None:
    """Alone on the network, neither a TLS fake nor a plain-HTTP one on loopback gets a token."""
    device_id = f"edge-lonely-{id(tmp_path) % 100000}"
    (tmp_path / "tls").mkdir()
    fakes = [FakeAgent(device_id, tmp_path / "tls"), FakeAgent("edge-impostor")]
    try:
        advertise(zc, "fake-tls", fakes[0].port, device_id, "https")
        advertise(zc, "fake-http", fakes[1].port, device_id, "http")
        with AgentClient(None, tmp_path / "cache", "kiosk-demo", zeroconf_interfaces=["127.0.0.1"],
                         discover_timeout=3, token="a2dk_secret", agent_device_id=device_id,
                         pin_sha256="CD" * 32) as kiosk:  # fmt: skip
            kiosk.vote("zufriedenheit", "5", "de")
            assert kiosk.flush(2) is False and kiosk.base_url is None and kiosk.pending() == 1
    finally:
        for f in fakes:
            f.close()
    assert fakes[0].requests == []
    assert fakes[1].requests and all(r == ("GET", "/v1/healthz", "") for r in fakes[1].requests)
