"""A real edge agent (``edge_agent.agent.Agent``, no MQTT sources) serving its local API to the kiosk.

The agent can be stopped and started again on the same port with the same database, so tests can
take it away from a kiosk and bring it back.
"""

from __future__ import annotations

import json
import sqlite3
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from a2d import contentpack
from edge_agent import config as edge_config
from edge_agent.agent import Agent
from tests.conftest import free_port


class EdgeAgent:
    """``port`` is fixed when the agent is made; ``start()``/``stop()`` any number of times."""

    def __init__(self, tmp: Path, pack: Path | None, *, advertise: bool = False) -> None:
        self.port = free_port()
        self.mqtt_port = free_port()
        self.data_dir = tmp / "edge-data"
        self.data_dir.mkdir(exist_ok=True)
        self.pack = pack
        self.advertise = advertise
        self.device_id = "edge-kiosk-test"
        self.agent: Agent | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Agent:
        text = (
            f'[device]\nid = "{self.device_id}"\ndata_dir = "{self.data_dir}"\n'
            # no broker: a port nobody listens on, so no MQTT broker of the machine is touched
            f'[mqtt]\nhost = "127.0.0.1"\nport = {self.mqtt_port}\n'
            f'[api]\nhost = "127.0.0.1"\nport = {self.port}\nadvertise = {str(self.advertise).lower()}\n'
            'advertise_interfaces = "127.0.0.1"\n'
        )
        if self.pack is not None:
            text += f'[content]\npack = "{self.pack}"\n'
        # env={}: the file alone decides (tests/conftest.py sets A2D_API_PORT=0 for other tests)
        self.agent = Agent(edge_config.parse(tomllib.loads(text), "edge.toml", env={}))
        self.agent.start()
        return self.agent

    def stop(self) -> None:
        if self.agent is not None:
            self.agent.stop()
            self.agent = None

    def stored_votes(self) -> list[dict[str, object]]:
        """The votes in the agent's database, read directly (not through the API)."""
        with sqlite3.connect(self.data_dir / "edge.db") as db:
            rows = db.execute(
                "SELECT decoded FROM events WHERE source = 'kiosk' AND kind = 'vote'"
            ).fetchall()
        return [json.loads(r[0]) for r in rows]


@pytest.fixture
def pack_file(tmp_path: Path) -> Path:
    """A copy of the demo pack the test may change."""
    path = tmp_path / "pack.json"
    path.write_bytes(contentpack.DEMO_PACK.read_bytes())
    return path


@pytest.fixture
def edge_factory(tmp_path: Path) -> Iterator[Callable[..., EdgeAgent]]:
    made: list[EdgeAgent] = []

    def make(pack: Path | None = None, *, advertise: bool = False, start: bool = True) -> EdgeAgent:
        edge = EdgeAgent(tmp_path, pack, advertise=advertise)
        made.append(edge)
        if start:
            edge.start()
        return edge

    yield make
    for edge in made:
        edge.stop()


@pytest.fixture
def edge(edge_factory: Callable[..., EdgeAgent], pack_file: Path) -> EdgeAgent:
    return edge_factory(pack_file)
