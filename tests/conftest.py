"""Shared fixtures: a real Mosquitto on a free loopback port, edge configs, leak checks."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from edge_agent.agent import Agent
    from edge_agent.config import EdgeConfig

os.environ.setdefault("A2D_LOG_LEVEL", "info")
# every agent a test starts serves its local API on a port of its own (never the fixed 8780)
os.environ.setdefault("A2D_API_PORT", "0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ManualClock:
    """A monotonic clock a test moves by hand: ``clock()`` is now, ``clock.advance(s)`` moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def wait_for(
    pred: Callable[[], object], timeout: float = 30, what: str = "condition", interval: float = 0.02
) -> None:
    """Poll ``pred`` every ``interval`` s until it is true; fail after ``timeout`` s naming ``what``.

    (A ``pred`` that asks the local API polls slower than a kiosk's rate limit, ``interval=0.5``.)
    """
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def mqtt_agent(cfg: EdgeConfig) -> Agent:
    """The edge agent as ``a2d edge run`` builds it: one MQTT source per configured source."""
    from edge_agent.agent import Agent
    from edge_agent.mqtt import mqtt_sources

    return Agent(cfg, mqtt_sources(cfg))


def wait_port(port: int, timeout: float = 10) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


class Mosquitto:
    """A private broker process: ``port``, ``stop()``, ``start()`` again (same port)."""

    def __init__(self, tmp: Path) -> None:
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(exe).exists():
            pytest.fail(
                "the mosquitto binary is missing: run `make test` (it installs it) or apt-get install mosquitto"
            )
        self.exe = exe
        self.port = free_port()
        self.conf = self.configure(tmp)
        self.log = tmp / "mosquitto.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def configure(self, tmp: Path) -> Path:
        """Write the broker's config (anyone may connect, no ACL); returns its path."""
        conf = tmp / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "max_queued_messages 200000\nmax_inflight_messages 1000\n"
            + ("user root\n" if os.geteuid() == 0 else "")
        )
        return conf

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.exe, "-c", str(self.conf)], stdout=self.log.open("ab"), stderr=subprocess.STDOUT
        )
        wait_port(self.port)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


class SecuredMosquitto(Mosquitto):
    """The broker as ``a2d demo`` runs it: users, hashed passwords and ACLs written by
    :mod:`a2d.brokerconf` (``users``: the agent, the bridge for ``BRIDGE_SOURCE``, the network server)."""

    BRIDGE_SOURCE = "box-test"

    def configure(self, tmp: Path) -> Path:
        from a2d import brokerconf

        self.users = brokerconf.local_users([self.BRIDGE_SOURCE])
        return brokerconf.write(tmp / "broker", self.port, self.users).conf


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    broker = Mosquitto(tmp_path)
    yield broker
    broker.stop()


@pytest.fixture
def secured_mosquitto(tmp_path: Path) -> Iterator[SecuredMosquitto]:
    broker = SecuredMosquitto(tmp_path)
    yield broker
    broker.stop()


@pytest.fixture
def publisher(mosquitto: Mosquitto) -> Iterator[object]:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-pub-{mosquitto.port}")
    c.max_inflight_messages_set(1000)
    c.connect("127.0.0.1", mosquitto.port)
    c.loop_start()
    yield c
    c.disconnect()
    c.loop_stop()


def edge_toml(tmp: Path, port: int, devices: str = "", extra: str = "") -> Path:
    cfg = tmp / "edge.toml"
    (tmp / "data").mkdir(exist_ok=True)
    cfg.write_text(
        f'[device]\nid = "test-edge"\ndata_dir = "{tmp / "data"}"\n[mqtt]\nhost = "127.0.0.1"\nport = {port}\n'
        f'{extra}\n[[sources]]\nkind = "chirpstack"\n[[sources]]\nkind = "tts"\n{devices}'
    )
    return cfg


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves a writer or MQTT thread running."""
    before = set(threading.enumerate())
    yield
    end = time.monotonic() + 5
    while time.monotonic() < end:
        leaked = [
            t for t in set(threading.enumerate()) - before
            if t.is_alive() and (t.name.startswith("a2d-") or t.name.startswith("paho-mqtt"))
        ]  # fmt: skip
        if not leaked:
            return
        time.sleep(0.05)
    pytest.fail(f"test leaked threads: {[t.name for t in leaked]}")
