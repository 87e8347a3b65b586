"""A real edge agent (``edge_agent.agent.Agent``, no MQTT sources) serving its local API to the kiosk.

The agent can be stopped and started again on the same port with the same database, so tests can
take it away from a kiosk and bring it back.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from a2d import contentpack
from tests.edgeharness import LocalEdge
from tests.signedpack import write_signed_pack


class EdgeAgent(LocalEdge):
    """``port`` is fixed when the agent is made; ``start()``/``stop()`` any number of times."""

    def __init__(self, tmp: Path, pack: Path | None, *, advertise: bool = False) -> None:
        super().__init__(tmp, pack=pack, advertise=advertise, device_id="edge-kiosk-test")

    def stored_votes(self) -> list[dict[str, object]]:
        """The votes in the agent's database, read directly (not through the API)."""
        with sqlite3.connect(self.data_dir / "edge.db") as db:
            rows = db.execute(
                "SELECT decoded FROM events WHERE source = 'kiosk' AND kind = 'vote'"
            ).fetchall()
        return [json.loads(r[0]) for r in rows]


@pytest.fixture
def pack_file(tmp_path: Path) -> Path:
    """The demo pack, signed with the tests' key, for the test to change (tests.signedpack)."""
    return write_signed_pack(tmp_path / "pack.json", contentpack.DEMO_PACK.read_bytes())


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
