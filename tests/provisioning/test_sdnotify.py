"""The sd_notify helper against a real AF_UNIX datagram socket, as systemd listens on one."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from a2d.sdnotify import Watchdog, notify, watchdog_interval
from tests.conftest import ManualClock


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = str(tmp_path / "notify")
    sock.bind(path)
    sock.settimeout(5)
    yield sock, path
    sock.close()


def received(sock: socket.socket) -> list[str]:
    """Every datagram waiting on ``sock`` (none arrives after the sender returned)."""
    out = []
    sock.setblocking(False)
    try:
        while True:
            out.append(sock.recv(4096).decode())
    except BlockingIOError:
        return out
    finally:
        sock.settimeout(5)


def test_ready_and_watchdog_reach_the_socket(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    clock = ManualClock()
    dog = Watchdog({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000000"}, clock=clock)
    assert dog.every == 10.0
    dog.ready("serving")
    assert received(sock) == ["READY=1\nSTATUS=serving", "WATCHDOG=1"]
    dog.kick()  # the same moment: at most one ping every half interval
    clock.advance(9.9)
    dog.kick()
    assert received(sock) == []
    clock.advance(0.2)
    dog.kick()
    dog.stopping()
    assert received(sock) == ["WATCHDOG=1", "STOPPING=1"]


def test_an_abstract_socket_address(listener: tuple[socket.socket, str]) -> None:
    name = f"a2d-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        assert notify("READY=1", {"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(100) == b"READY=1"


def test_nothing_without_systemd(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    assert notify("READY=1", {}) is False
    assert notify("READY=1", {"NOTIFY_SOCKET": "relative/path"}) is False
    assert notify("READY=1", {"NOTIFY_SOCKET": path + ".gone"}) is False  # logged, never raised
    dog = Watchdog({"NOTIFY_SOCKET": path})  # notify, but no watchdog asked for
    dog.ready()
    dog.kick()
    assert received(sock) == ["READY=1"]


def test_the_interval_is_meant_for_this_process_only() -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 30.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}) == 30.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "0"}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "soon"}) is None
    assert watchdog_interval({}) is None


def _apps_tell_systemd(argv: list[str], listener: tuple[socket.socket, str], tmp: Path) -> list[str]:
    """Run an app as systemd would (NOTIFY_SOCKET, a 2 s watchdog); what it sent until its second ping."""
    import subprocess
    import sys

    sock, path = listener
    env = {**os.environ, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"}
    root = Path(__file__).resolve().parents[2]
    with (tmp / "app.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "a2d.cli", *argv], cwd=root, env=env, stdout=log,
                                stderr=subprocess.STDOUT)  # fmt: skip
    got: list[str] = []
    try:
        sock.settimeout(30)
        while got.count("WATCHDOG=1") < 2:
            got.append(sock.recv(4096).decode().split("\n")[0])
    finally:
        proc.terminate()
        proc.wait(30)
    assert received(sock)[-1:] == ["STOPPING=1"]  # said on SIGTERM, and nothing else is left
    return got


def test_the_agent_and_the_server_say_ready_and_feed_the_watchdog(
    listener: tuple[socket.socket, str], tmp_path: Path, mosquitto
) -> None:
    from tests.conftest import edge_toml, free_port

    cfg = edge_toml(tmp_path, mosquitto.port)
    assert _apps_tell_systemd(["edge", "run", "--config", str(cfg)], listener, tmp_path)[:1] == ["READY=1"]
    server = ["server", "run", "--db", f"sqlite:///{tmp_path / 's.db'}", "--port", str(free_port())]
    assert _apps_tell_systemd(server, listener, tmp_path)[:1] == ["READY=1"]
