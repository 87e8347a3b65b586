"""A real edge agent (``edge_agent.agent.Agent``) without MQTT sources or a broker, serving its
local API on a port fixed when it is made: ``start()`` and ``stop()`` any number of times, on the
same port and database, so tests can take it away from a kiosk and bring it back."""

from __future__ import annotations

import json
import tomllib
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from edge_agent import config as edge_config
from edge_agent.agent import Agent
from tests.conftest import free_port
from tests.signedpack import EDGE_TRUST


class LocalEdge:
    def __init__(
        self, tmp: Path, *, pack: Path | None = None, model: Path | None = None, advertise: bool = False,
        extra: str = "", device_id: str = "edge-test",
    ) -> None:  # fmt: skip
        self.port = free_port()
        self.mqtt_port = free_port()  # nobody listens there: no broker of the machine is touched
        self.data_dir = tmp / "edge-data"
        self.data_dir.mkdir(exist_ok=True)
        self.pack, self.model, self.advertise, self.extra = pack, model, advertise, extra
        self.device_id = device_id
        self.agent: Agent | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def toml(self) -> str:
        """The agent's edge.toml; ``extra`` comes last (inside ``[forecast]`` when there is a model)."""
        text = (
            f'[device]\nid = "{self.device_id}"\ndata_dir = "{self.data_dir}"\n'
            f'[mqtt]\nhost = "127.0.0.1"\nport = {self.mqtt_port}\n'
            f'[api]\nhost = "127.0.0.1"\nport = {self.port}\nadvertise = {str(self.advertise).lower()}\n'
            'advertise_interfaces = "127.0.0.1"\n'
        )
        if self.pack is not None:  # a signed pack (tests.signedpack): the agent trusts the tests' key
            text += f'[content]\npack = "{self.pack}"\n{EDGE_TRUST}'
        if self.model is not None:
            text += f'[forecast]\nmodel = "{self.model}"\n'
        return text + self.extra

    def start(self) -> Agent:
        # env={}: the file alone decides (tests/conftest.py sets A2D_API_PORT=0 for other tests)
        self.agent = Agent(edge_config.parse(tomllib.loads(self.toml()), "edge.toml", env={}))
        self.agent.start()
        return self.agent

    def stop(self) -> None:
        if self.agent is not None:
            self.agent.stop()
            self.agent = None

    def get(self, path: str) -> tuple[int, Any]:
        """(status, JSON body) of a GET on the local API."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as r:  # noqa: S310 - 127.0.0.1 only
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())
