"""The bridge's test harness: socat pty pairs, a real edge agent on a real Mosquitto, the bridge."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent import config as edge_config
from tests.conftest import Mosquitto, mqtt_agent, wait_for

ROOT = Path(__file__).resolve().parents[2]
A2D = [sys.executable, "-m", "a2d.cli"]


class SocatPair:
    """A pty pair with stable names: ``bridge`` (the bridge's end) and ``box`` (the box's end)."""

    def __init__(self, tmp: Path) -> None:
        exe = shutil.which("socat")
        if exe is None:
            pytest.fail("socat is missing: run `make test` (it installs it) or apt-get install socat")
        self.exe = exe
        self.bridge, self.box = tmp / "ttyBridge", tmp / "ttyBox"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.exe, f"pty,raw,echo=0,link={self.bridge}", f"pty,raw,echo=0,link={self.box}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(lambda: self.bridge.exists() and self.box.exists(), 10, "the socat pty links")

    def stop(self) -> None:
        """Pull the cable: socat ends, both pty ends vanish."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None
        for link in (self.bridge, self.box):
            link.unlink(missing_ok=True)  # socat -9 leaves its links behind


@pytest.fixture
def socat(tmp_path: Path) -> Iterator[SocatPair]:
    pair = SocatPair(tmp_path)
    pair.start()
    yield pair
    pair.stop()


def edge_config_for(tmp: Path, port: int) -> edge_config.EdgeConfig:
    (tmp / "edge").mkdir(exist_ok=True)
    cfg = tmp / "edge.toml"
    cfg.write_text(
        f'[device]\nid = "bridge-test-edge"\ndata_dir = "{tmp / "edge"}"\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\n[api]\nenabled = false\n'
    )
    return edge_config.load(cfg)


class Edge:
    """A real edge agent (in this process) and read-only looks into what it stored."""

    def __init__(self, tmp: Path, port: int) -> None:
        self.config = edge_config_for(tmp, port)
        self.agent = mqtt_agent(self.config)
        self.agent.start()

    def stop(self) -> None:
        self.agent.stop()

    def query(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        db = self.config.db_path
        if not db.exists():
            return []
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
            try:
                return c.execute(sql, args).fetchall()
            except sqlite3.OperationalError:
                return []

    def presses(self) -> Counter[tuple[str, int | None]]:
        """How often each (source_id, seq) is stored."""
        rows = self.query("SELECT decoded FROM events WHERE source = 'bridge'")
        out: Counter[tuple[str, int | None]] = Counter()
        for (decoded,) in rows:
            d = json.loads(str(decoded))
            out[(d["source_id"], d["seq"])] += 1
        return out

    def connected(self) -> bool:
        return self.query("SELECT connected FROM sources WHERE name = 'bridge'") == [(1,)]


@pytest.fixture
def edge(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[Edge]:
    e = Edge(tmp_path, mosquitto.port)
    wait_for(e.connected, 10, "the edge agent's bridge subscription")
    yield e
    e.stop()


def bridge_toml(tmp: Path, port: int, serial: Path | None = None, extra: str = "") -> Path:
    cfg = tmp / "bridge.toml"
    text = f'[bridge]\ndata_dir = "{tmp / "bridge"}"\nreopen_s = 0.2\n[mqtt]\nhost = "127.0.0.1"\nport = {port}\n'
    if serial is not None:
        text += f'[[serial]]\nport = "{serial}"\n'
    cfg.write_text(text + extra)
    return cfg


class BridgeProcess:
    """``a2d bridge run`` as a process of its own (so that it can be killed with -9)."""

    def __init__(self, cfg: Path, log: Path) -> None:
        self.cfg, self.log = cfg, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = dict(os.environ, GPIOZERO_PIN_FACTORY="mock")
        self.proc = subprocess.Popen(
            [*A2D, "bridge", "run", "--config", str(self.cfg)],
            cwd=ROOT, env=env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
        )  # fmt: skip

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(15)
        self.proc = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def logged(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def bridge_proc(tmp_path: Path, mosquitto: Mosquitto, socat: SocatPair) -> Iterator[BridgeProcess]:
    b = BridgeProcess(bridge_toml(tmp_path, mosquitto.port, socat.bridge), tmp_path / "bridge.log")
    b.start()
    yield b
    b.kill(signal.SIGTERM)
