"""Slow clients cannot lock the API: deadlines, a cap per client address and in all, no thread each."""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from edge_agent.localapi import server
from tests.conftest import wait_for
from tests.localapi.conftest import RunningApi


class Tricklers:
    """``n`` connections from ``source`` that send a request one byte at a time and connect again
    when the agent closes them (as the acceptance check's slow clients do, only faster)."""

    def __init__(self, port: int, n: int, source: str = "127.0.0.2", every: float = 0.5) -> None:
        self.port, self.source, self.every = port, source, every
        self.stop = threading.Event()
        self.opened = self.closed = 0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, name="test-trickle") for _ in range(n)]
        for t in self.threads:
            t.start()

    def _run(self) -> None:
        data = b"GET /v1/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100000
        while not self.stop.is_set():
            with socket.socket() as s:
                try:
                    s.bind((self.source, 0))
                    s.settimeout(2)
                    s.connect(("127.0.0.1", self.port))
                    with self.lock:
                        self.opened += 1
                    for i in range(len(data)):
                        s.sendall(data[i : i + 1])
                        readable, _, _ = select.select([s], [], [], self.every)
                        if readable and not s.recv(4096):
                            raise ConnectionResetError  # the agent closed it
                        if self.stop.is_set():
                            return
                except OSError:
                    with self.lock:
                        self.closed += 1
            self.stop.wait(0.2)

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(5)


@pytest.fixture
def short_deadlines(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(server, "HEADER_TIMEOUT_S", 2.0)
    yield


def api_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("a2d-api")]


def test_64_slow_connections_do_not_stop_a_real_request(
    api: RunningApi, short_deadlines: None, caplog: pytest.LogCaptureFixture
) -> None:
    assert api.agent.api is not None
    slow = Tricklers(api.agent.api.port, 64)
    try:
        # the cap per address closes all but 16 at once (they keep coming back); 16 trickle on
        wait_for(lambda: slow.closed >= 64 - server.MAX_PER_CLIENT, 10, "the agent to close the surplus")
        for _ in range(3):
            t0 = time.monotonic()
            with httpx.Client(base_url=api.http.base_url, timeout=2, headers=api.kiosk.headers) as fresh:
                assert fresh.get("/healthz").status_code == 200
                assert fresh.get("/status").status_code == 200  # a route on the worker threads too
            assert time.monotonic() - t0 < 2.0
        # a slow client costs no thread: the loop and at most its workers
        assert len(api_threads()) <= 1 + server.WORKERS
        # the 16 that got in run into the header deadline too, and come back: still one log line
        wait_for(lambda: slow.closed >= 64 + server.MAX_PER_CLIENT, 10, "a round of header deadlines")
    finally:
        slow.close()
    refused = [r for r in caplog.records if "holds 16 connections" in r.getMessage()]
    assert len([r for r in refused if r.levelname == "WARNING"]) == 1


def test_a_silent_connection_is_closed_at_the_header_deadline(api: RunningApi, short_deadlines: None) -> None:
    assert api.agent.api is not None
    with socket.create_connection(("127.0.0.1", api.agent.api.port), timeout=10) as s:
        s.sendall(b"GET /v1/healthz HTTP/1.1\r\n")
        t0 = time.monotonic()
        assert s.recv(100) == b""  # closed by the agent, without an answer
        assert 1.5 < time.monotonic() - t0 < 5


def test_the_cap_per_client_address(api: RunningApi) -> None:
    assert api.agent.api is not None
    held = []
    try:
        for _ in range(server.MAX_PER_CLIENT):
            held.append(socket.create_connection(("127.0.0.1", api.agent.api.port), timeout=5))
        extra = socket.create_connection(("127.0.0.1", api.agent.api.port), timeout=5)
        with extra:
            extra.sendall(b"GET /v1/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            try:
                answer = extra.recv(100)
            except ConnectionResetError:
                answer = b""
            assert answer == b""  # closed at once
        with socket.socket() as other:  # another address is still served
            other.bind(("127.0.0.3", 0))
            other.settimeout(5)
            other.connect(("127.0.0.1", api.agent.api.port))
            other.sendall(b"GET /v1/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            assert other.recv(100).startswith(b"HTTP/1.1 200 OK")
    finally:
        for s in held:
            s.close()


def test_a_kept_alive_connection_serves_several_requests(api: RunningApi) -> None:
    with httpx.Client(base_url=api.http.base_url, timeout=5, headers=api.kiosk.headers) as http:
        for _ in range(5):
            assert http.get("/status").status_code == 200
        assert http.get("/healthz").status_code == 200


def test_a_huge_head_is_431(api: RunningApi) -> None:
    r = api.http.get("/status", headers={"X-Big": "a" * 20000})
    assert r.status_code == 431
    assert api.http.get("/status").status_code == 200


def test_the_cap_in_all(api: RunningApi, monkeypatch: pytest.MonkeyPatch) -> None:
    assert api.agent.api is not None
    monkeypatch.setattr(server, "MAX_CONNECTIONS", 4)
    held = []

    def connect(source: str) -> socket.socket:
        s = socket.socket()
        s.bind((source, 0))
        s.settimeout(5)
        s.connect(("127.0.0.1", api.agent.api.port))  # type: ignore[union-attr]
        return s

    try:
        for i in range(4):
            held.append(connect(f"127.0.0.{10 + i}"))
            held[-1].sendall(b"GET /v1/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert held[-1].recv(100).startswith(b"HTTP/1.1 200")  # each one is in and kept alive
        with connect("127.0.0.20") as extra:
            extra.sendall(b"GET /v1/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            try:
                assert extra.recv(100) == b""
            except ConnectionResetError:
                pass
    finally:
        for s in held:
            s.close()
