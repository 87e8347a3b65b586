"""The sync server's listener, as a real `a2d server run`: a request head or body that does not
arrive in time is cut off, one client address holds a bounded number of connections, and a device
is answered meanwhile."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest

from a2d.syncwire import records_path
from sync_server.db import open_database

from .conftest import ServerProcess, add_device


@contextmanager
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> Iterator[ServerProcess]:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    proc = ServerProcess(f"sqlite:///{tmp_path / 'server.db'}", tmp_path / "server.log")
    try:
        yield proc
    finally:
        proc.kill()


def connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    s = socket.socket()
    with suppress(OSError):
        s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def closed_within(s: socket.socket, seconds: float) -> bool:
    """Whether the server closes ``s`` (EOF or reset) within ``seconds``."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        readable, _, _ = select.select([s], [], [], max(0.0, end - time.monotonic()))
        if readable:
            try:
                if s.recv(4096) == b"":
                    return True
            except ConnectionResetError:
                return True
    return False


def test_a_request_head_that_trickles_is_cut_off_and_a_device_is_answered_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with server(tmp_path, monkeypatch, A2D_SERVER_HEAD_TIMEOUT_S="1.5") as srv:
        slow = connect(srv.port)
        slow.sendall(b"GET /api/v1/healthz HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        started = time.monotonic()
        assert httpx.get(f"{srv.base}/api/v1/healthz", timeout=2).status_code == 200
        assert closed_within(slow, 5)
        assert time.monotonic() - started >= 1.0  # the deadline, not an instant refusal
        slow.close()


def test_a_body_that_does_not_come_is_cut_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'server.db'}")
    try:
        db.migrate()
        device, token = add_device(db, "edge-1")
    finally:
        db.close()
    with server(tmp_path, monkeypatch, A2D_SERVER_BODY_TIMEOUT_S="1.5") as srv:
        s = connect(srv.port)
        head = (
            f"POST {records_path(device)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
        )
        s.sendall(head.encode() + b'{"records": [')  # a device's upload that stops half-way
        assert closed_within(s, 6)
        s.close()


def test_a_kept_alive_connection_may_send_its_next_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        server(tmp_path, monkeypatch, A2D_SERVER_HEAD_TIMEOUT_S="1") as srv,
        httpx.Client(base_url=srv.base) as c,
    ):
        for _ in range(3):  # the same connection, each request complete in time
            assert c.get("/api/v1/healthz").status_code == 200


def test_one_client_address_holds_at_most_its_cap_and_another_is_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with server(tmp_path, monkeypatch, A2D_SERVER_MAX_CONNECTIONS_PER_CLIENT="4") as srv:
        held = [connect(srv.port, "127.0.0.2") for _ in range(4)]
        for s in held:
            s.sendall(b"GET / HTTP/1.1\r\n")  # an unfinished head each
        extra = connect(srv.port, "127.0.0.2")
        assert closed_within(extra, 3)
        assert not any(closed_within(s, 0.2) for s in held)  # the first four are kept (until their deadline)
        assert httpx.get(f"{srv.base}/api/v1/healthz", timeout=2).status_code == 200  # 127.0.0.1 is served
        for s in [*held, extra]:
            s.close()
        log = srv.log.read_text()
        assert log.count("the most one client may") == 1
