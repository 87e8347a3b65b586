"""A real edge agent (no MQTT sources, no broker) with a ``[forecast]`` table, serving its local API."""

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


class ForecastEdge:
    def __init__(
        self, tmp: Path, *, model: Path | None = None, pack: Path | None = None, extra: str = "",
        device_id: str = "edge-forecast-test",
    ) -> None:  # fmt: skip
        self.port = free_port()
        self.device_id = device_id
        self.data_dir = tmp / "edge-data"
        self.model, self.pack, self.extra = model, pack, extra
        self.agent: Agent | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def toml(self) -> str:
        text = (
            f'[device]\nid = "{self.device_id}"\ndata_dir = "{self.data_dir}"\n'
            # no broker: a port nobody listens on, so no MQTT broker of the machine is touched
            f'[mqtt]\nhost = "127.0.0.1"\nport = {free_port()}\n'
            f'[api]\nhost = "127.0.0.1"\nport = {self.port}\n'
        )
        if self.pack is not None:
            text += f'[content]\npack = "{self.pack}"\n'
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
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as r:  # noqa: S310 - 127.0.0.1 only
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())
