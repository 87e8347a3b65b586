"""``mqtt.password_file`` in the agent's and the bridge's configs: the broker password comes from a
file (first boot writes it 0600; systemd hands it over as a credential), so no TOML holds it."""

from __future__ import annotations

from pathlib import Path

import pytest

from a2d.config import ConfigError
from buttons_firmware_bridge import config as bridge_config
from edge_agent import config as edge_config


def edge(mqtt: dict, env: dict | None = None) -> tuple[str, str]:
    cfg = edge_config.parse(
        {"device": {"id": "e"}, "mqtt": mqtt, "sources": [{"kind": "chirpstack"}]}, env=env or {}
    )
    return cfg.sources[0].password, cfg.bridge_source.password


def bridge(mqtt: dict, env: dict | None = None) -> str:
    return bridge_config.parse({"mqtt": mqtt}, env=env or {}).get("mqtt.password")


def test_the_password_comes_from_its_file(tmp_path: Path) -> None:
    secret = tmp_path / "mqtt.password"
    secret.write_text("s3cret-from-file\n")
    assert edge({"username": "a2d-agent", "password_file": str(secret)}) == ("s3cret-from-file",) * 2
    assert bridge({"username": "a2d-bridge", "password_file": str(secret)}) == "s3cret-from-file"
    # systemd's credential path arrives through the environment, as the units set it
    assert bridge({}, env={"A2D_MQTT_PASSWORD_FILE": str(secret)}) == "s3cret-from-file"
    # a password set outright wins over the file
    assert edge({"password": "given", "password_file": str(secret)})[0] == "given"
    assert edge({}) == ("", "")  # neither: no password, as before


@pytest.mark.parametrize("parse", [edge, bridge])
def test_a_missing_or_empty_file_is_a_one_line_error(tmp_path: Path, parse) -> None:
    with pytest.raises(ConfigError, match="cannot read mqtt.password_file"):
        parse({"password_file": str(tmp_path / "absent")})
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        parse({"password_file": str(tmp_path / "empty")})
