"""A real edge agent (no MQTT sources) serving its local API on a free loopback port."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge_agent import config as edge_config
from edge_agent.agent import Agent
from tests.conftest import mqtt_agent
from tests.edgeharness import Paired, pair_kiosk
from tests.signedpack import EDGE_TRUST, write_signed_pack


def text(de: str) -> dict[str, str]:
    return {"de": de, "fr": f"{de} (fr)", "en": f"{de} (en)"}


def pack_doc(version: str = "1") -> dict[str, Any]:
    """A small content pack that :func:`a2d.contentpack.parse` accepts."""
    fields = {
        k: text(k)
        for k in (
            "purpose", "technology", "data_type", "processing", "storage", "access", "retention",
            "accountable", "legal_basis", "contact", "active_until",
        )
    }  # fmt: skip
    return {
        "format": "a2d-content/1",
        "version": version,
        "updated": "2026-06-01",
        "town": "Offenburg",
        "default_language": "de",
        "languages": ["de", "fr", "en"],
        "services": [
            {
                "id": "personalausweis",
                "icon": "id-card",
                "title": text("Personalausweis"),
                "summary": text("Neuen Ausweis beantragen"),
                "body": text("Kommen Sie ins Bürgerbüro."),
                "url": "https://www.offenburg.de/",
                "updated": "2026-05-20",
            }
        ],
        "polls": [
            {
                "id": "zufrieden",
                "kind": "smiley",
                "question": text("Wie zufrieden sind Sie?"),
                "choices": [
                    {"id": str(i), "label": text(str(i)), "icon": f"smiley-{i}"} for i in range(1, 6)
                ],
            },
            {
                "id": "radweg",
                "kind": "choice",
                "question": text("Welcher Radweg zuerst?"),
                "choices": [
                    {"id": "nord", "label": text("Nord"), "icon": "arrow-up"},
                    {"id": "sued", "label": text("Süd"), "icon": "arrow-down"},
                ],
            },
        ],
        "transparency": [{"id": "kiosk", "title": text("Dieser Kiosk"), "fields": fields}],
    }


def write_pack(path: Path, version: str = "1") -> Path:
    """The pack as a signed content bundle (tests.signedpack.KEY), newer than the one it replaces."""
    return write_signed_pack(path, pack_doc(version))


def edge_config_file(tmp: Path, extra: str = "", device_id: str = "edge-api-test") -> Path:
    """An edge.toml without MQTT sources; ``A2D_API_PORT=0`` (tests/conftest.py) picks a free port."""
    (tmp / "data").mkdir(exist_ok=True)
    cfg = tmp / "edge.toml"
    cfg.write_text(f'[device]\nid = "{device_id}"\ndata_dir = "{tmp / "data"}"\n{extra}\n')
    return cfg


@dataclass
class RunningApi:
    """The agent, and an HTTP client that sends the token of the kiosk ``kiosk-eg`` paired with it."""

    agent: Agent
    http: httpx.Client
    data_dir: Path
    kiosk: Paired

    @property
    def db(self) -> Path:
        return self.data_dir / "edge.db"

    def vote(self, vote_id: str, poll: str = "zufrieden", choice: str = "4", **extra: str) -> httpx.Response:
        body = {"id": vote_id, "kiosk_id": "kiosk-eg", "poll_id": poll, "choice": choice,
                "at": "2026-06-02T08:15:00Z", **extra}  # fmt: skip
        return self.http.post("/feedback", json=body)


def start_api(tmp: Path, extra: str = "", device_id: str = "edge-api-test") -> RunningApi:
    agent = mqtt_agent(edge_config.load(edge_config_file(tmp, extra, device_id)))
    agent.start()
    assert agent.api is not None
    kiosk = pair_kiosk(tmp / "data", "kiosk-eg")
    http = httpx.Client(base_url=agent.api.url, timeout=10, headers=kiosk.headers)
    return RunningApi(agent, http, tmp / "data", kiosk)


@pytest.fixture
def api_factory(tmp_path: Path) -> Iterator[Callable[..., RunningApi]]:
    started: list[RunningApi] = []

    def make(extra: str = "", device_id: str = "edge-api-test") -> RunningApi:
        run = start_api(tmp_path, extra, device_id)
        started.append(run)
        return run

    yield make
    for run in started:
        run.http.close()
        run.agent.stop()


@pytest.fixture
def api(tmp_path: Path, api_factory: Callable[..., RunningApi]) -> RunningApi:
    """The agent with a signed content pack file (it trusts the tests' key)."""
    pack = write_pack(tmp_path / "pack.json")
    return api_factory(f'[content]\npack = "{pack}"\n{EDGE_TRUST}')
