"""``[api]`` and ``[content]`` settings that cannot work stop the agent with one clear line."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from a2d import bundles
from a2d.errors import KnownError
from edge_agent import config as edge_config
from tests.conftest import mqtt_agent
from tests.localapi.conftest import edge_config_file, pack_doc
from tests.signedpack import EDGE_TRUST, write_signed_pack

ROOT = Path(__file__).resolve().parents[2]


def test_a_port_in_use_is_a_known_error_and_nothing_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cfg = edge_config_file(tmp_path, f"[api]\nport = {port}\n")
        env = {**os.environ, "A2D_API_PORT": str(port)}
        r = subprocess.run(
            [sys.executable, "-m", "a2d.cli", "edge", "run", "--config", str(cfg)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert r.returncode == 1
    last = r.stderr.strip().splitlines()[-1]
    assert (
        last.startswith("a2d edge: cannot serve the local API on 127.0.0.1:") and "the port is in use" in last
    )


def test_a_port_in_use_fails_in_process_without_leaking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setenv("A2D_API_PORT", str(taken.getsockname()[1]))
        agent = mqtt_agent(edge_config.load(edge_config_file(tmp_path)))
        with pytest.raises(KnownError, match="the port is in use"):
            agent.start()
        agent.stop()  # no thread was started (the leak check of tests/conftest.py)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[api]\nadvertise_interfaces = "eth0"\n', "api.advertise_interfaces: 'eth0' is not an IPv4 address"),
        ('[api]\nadvertise = true\nadvertise_interfaces = ""\n', "names no address"),
        ("[api]\nport = 70000\n", "api.port must lie between 0 and 65535"),
    ],
)
def test_bad_api_settings(tmp_path: Path, extra: str, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("A2D_API_PORT")
    with pytest.raises(KnownError, match=message):
        mqtt_agent(edge_config.load(edge_config_file(tmp_path, extra)))


def test_a_bad_content_pack_stops_the_start(tmp_path: Path) -> None:
    bad = write_signed_pack(
        tmp_path / "pack.json",
        {"format": "a2d-content/1", "default_language": "de", "languages": ["de"], "services": []},
    )
    agent = mqtt_agent(
        edge_config.load(edge_config_file(tmp_path, f'[content]\npack = "{bad}"\n{EDGE_TRUST}'))
    )
    with pytest.raises(KnownError, match="services"):
        agent.start()
    agent.stop()
    missing = mqtt_agent(
        edge_config.load(
            edge_config_file(tmp_path, f'[content]\npack = "{tmp_path / "no.json"}"\n{EDGE_TRUST}')
        )
    )
    with pytest.raises(KnownError, match="cannot read"):
        missing.start()
    missing.stop()


def test_a_plain_unknown_or_foreign_pack_file_is_refused_at_start(tmp_path: Path) -> None:
    def start(pack: Path, trust: str = EDGE_TRUST) -> str:
        agent = mqtt_agent(
            edge_config.load(edge_config_file(tmp_path, f'[content]\npack = "{pack}"\n{trust}'))
        )
        try:
            with pytest.raises(KnownError) as err:
                agent.start()
        finally:
            agent.stop()
        assert str(err.value).count("\n") == 0
        return str(err.value)

    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(pack_doc()), encoding="utf-8")
    assert "a plain content pack, not a signed bundle" in start(plain)
    assert "a2d server bundle sign" in start(plain)
    other_key = write_signed_pack(tmp_path / "other.json", pack_doc(), key=bundles.new_private_key())
    assert "not trusted here" in start(other_key)
    foreign = write_signed_pack(tmp_path / "foreign.json", pack_doc(), target="device:edge-elsewhere")
    assert "meant for device:edge-elsewhere" in start(foreign)
    assert "set sync.trusted_keys" in start(write_signed_pack(tmp_path / "ok.json", pack_doc()), trust="")
    # the same signed file is served once the agent trusts the key and is its target
    mine = write_signed_pack(tmp_path / "mine.json", pack_doc(), target="device:edge-api-test")
    agent = mqtt_agent(
        edge_config.load(edge_config_file(tmp_path, f'[content]\npack = "{mine}"\n{EDGE_TRUST}'))
    )
    agent.start()
    agent.stop()


def test_the_api_can_be_switched_off(tmp_path: Path) -> None:
    agent = mqtt_agent(edge_config.load(edge_config_file(tmp_path, "[api]\nenabled = false\n")))
    agent.start()
    try:
        assert agent.api is None
    finally:
        agent.stop()
