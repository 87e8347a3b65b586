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

from devtools.demopack import DEMO_PACK
from tests.edgeharness import LocalEdge
from tests.signedpack import kiosk_trust, write_signed_pack


class EdgeAgent(LocalEdge):
    """``port`` is fixed when the agent is made; ``start()``/``stop()`` any number of times.

    The kiosk ``kiosk-eg`` is paired with it from the start (``kiosk``: its id and token).
    """

    def __init__(
        self, tmp: Path, pack: Path | None, *, advertise: bool = False, host: str = "127.0.0.1",
        device_id: str = "edge-kiosk-test",
    ) -> None:  # fmt: skip
        super().__init__(tmp, pack=pack, advertise=advertise, device_id=device_id, host=host)
        self.kiosk = self.pair("kiosk-eg")

    def client_settings(self) -> dict[str, object]:
        """What a paired kiosk knows about this agent (``AgentClient`` keyword arguments)."""
        return {"token": self.kiosk.token, "agent_device_id": self.device_id,
                "pin_sha256": self.pin if self.tls else "", "trust": kiosk_trust(self.device_id)}  # fmt: skip

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
    return write_signed_pack(tmp_path / "pack.json", DEMO_PACK.read_bytes())


@pytest.fixture
def edge_factory(tmp_path: Path) -> Iterator[Callable[..., EdgeAgent]]:
    made: list[EdgeAgent] = []

    def make(
        pack: Path | None = None, *, advertise: bool = False, start: bool = True, host: str = "127.0.0.1",
        tmp: Path | None = None, device_id: str = "edge-kiosk-test",
    ) -> EdgeAgent:  # fmt: skip
        edge = EdgeAgent(tmp or tmp_path, pack, advertise=advertise, host=host, device_id=device_id)
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
