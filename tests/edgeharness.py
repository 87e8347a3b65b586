"""A real edge agent (``edge_agent.agent.Agent``) without MQTT sources or a broker, serving its
local API on a port fixed when it is made: ``start()`` and ``stop()`` any number of times, on the
same port and database, so tests can take it away from a kiosk and bring it back.

:func:`pair_kiosk` is the one way tests pair a kiosk (what ``a2d edge kiosk add`` does), on a
running agent or before it starts; :meth:`LocalEdge.get` sends the token of a kiosk paired for it.
"""

from __future__ import annotations

import json
import ssl
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from a2d.tlspin import parse_pin, pinned_context
from edge_agent import config as edge_config
from edge_agent.agent import Agent
from edge_agent.localapi import kiosks
from edge_agent.localapi.tls import CERT_FILE, pin
from tests.conftest import free_port, mqtt_agent
from tests.signedpack import EDGE_TRUST


@dataclass(frozen=True)
class Paired:
    """A kiosk paired with an agent: its id and token, and the header that carries the token."""

    kiosk_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def pair_kiosk(data_dir: Path, name: str = "kiosk-test") -> Paired:
    """Pair a kiosk with the agent whose ``device.data_dir`` is ``data_dir`` (as ``kiosk add``)."""
    kiosk, token = kiosks.add(data_dir, name)
    return Paired(kiosk.kiosk_id, token)


class LocalEdge:
    def __init__(
        self, tmp: Path, *, pack: Path | None = None, model: Path | None = None, advertise: bool = False,
        extra: str = "", device_id: str = "edge-test", host: str = "127.0.0.1",
    ) -> None:  # fmt: skip
        self.port = free_port()
        self.mqtt_port = free_port()  # nobody listens there: no broker of the machine is touched
        self.data_dir = tmp / "edge-data"
        self.data_dir.mkdir(exist_ok=True)
        self.pack, self.model, self.advertise, self.extra = pack, model, advertise, extra
        self.device_id = device_id
        #: "0.0.0.0" makes the agent serve HTTPS (tests still talk to it on 127.0.0.1 only)
        self.host = host
        self.agent: Agent | None = None
        self._own: Paired | None = None

    @property
    def tls(self) -> bool:
        return self.host != "127.0.0.1"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def pin(self) -> str:
        """The pin of the agent's certificate (it exists once the agent started with TLS)."""
        return pin(self.data_dir / CERT_FILE)

    def pair(self, name: str = "kiosk-test") -> Paired:
        return pair_kiosk(self.data_dir, name)

    def toml(self) -> str:
        """The agent's edge.toml; ``extra`` comes last (inside ``[forecast]`` when there is a model)."""
        text = (
            f'[device]\nid = "{self.device_id}"\ndata_dir = "{self.data_dir}"\n'
            f'[mqtt]\nhost = "127.0.0.1"\nport = {self.mqtt_port}\n'
            f'[api]\nhost = "{self.host}"\nport = {self.port}\nadvertise = {str(self.advertise).lower()}\n'
            'advertise_interfaces = "127.0.0.1"\n'
        )
        if self.pack is not None:  # a signed pack (tests.signedpack): the agent trusts the tests' key
            text += f'[content]\npack = "{self.pack}"\n{EDGE_TRUST}'
        if self.model is not None:
            text += f'[forecast]\nmodel = "{self.model}"\n'
        return text + self.extra

    def start(self) -> Agent:
        # env={}: the file alone decides (tests/conftest.py sets A2D_API_PORT=0 for other tests)
        self.agent = mqtt_agent(edge_config.parse(tomllib.loads(self.toml()), "edge.toml", env={}))
        self.agent.start()
        return self.agent

    def stop(self) -> None:
        if self.agent is not None:
            self.agent.stop()
            self.agent = None

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """(status, JSON body) of a GET on the local API, with the token of a kiosk paired for it."""
        if headers is None:
            self._own = self._own or self.pair("harness")
            headers = self._own.headers
        context: ssl.SSLContext | None = pinned_context(parse_pin(self.pin)) if self.tls else None
        req = urllib.request.Request(self.url + path, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=5, context=context) as r:  # noqa: S310 - 127.0.0.1 only
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())
