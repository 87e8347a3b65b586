"""edge_agent.config: reading edge.toml, A2D_* overrides, clear errors, and the settings reference."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from a2d.config import ConfigError, Setting
from edge_agent import config
from edge_agent.config import DEVICE_SETTINGS, SETTINGS, SOURCE_SETTINGS, Device, EdgeConfig, Source
from tests import docsettings
from tests.docsettings import toml_value

DOC = Path(__file__).resolve().parent.parent / "docs" / "edge-config.md"

MINIMAL = """
[device]
id = "edge-rathaus-1"
data_dir = "/var/lib/a2d"

[mqtt]
host = "lns.offenburg.example"
port = 1883

[[sources]]
kind = "chirpstack"

[[sources]]
kind = "tts"

[[devices]]
dev_eui = "24E124538B223213"
codec = "milesight-iot/ws101"
name = "feedback-rathaus-eg-1"
"""


def minimal() -> dict[str, Any]:
    return tomllib.loads(MINIMAL)


def parse(data: dict[str, Any], **env: str) -> EdgeConfig:
    """Parse with exactly the given environment (never the test process's own A2D_* variables)."""
    return config.parse(data, env=env)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """load() reads os.environ: drop every A2D_* variable so the file alone decides."""
    for name in [n for n in os.environ if n.startswith("A2D_")]:
        monkeypatch.delenv(name)


def test_minimal_config() -> None:
    cfg = parse(minimal())
    assert cfg.device_id == "edge-rathaus-1"
    assert cfg.data_dir == Path("/var/lib/a2d")
    assert cfg.db_path == Path("/var/lib/a2d/edge.db")
    assert cfg.sources == (
        Source(
            "chirpstack",
            "chirpstack",
            "application/+/device/+/event/+",
            "lns.offenburg.example",
            1883,
            "",
            "",
        ),
        Source("tts", "tts", "v3/+/devices/+/#", "lns.offenburg.example", 1883, "", ""),
    )
    assert [s.qos for s in cfg.sources] == [1, 0]
    assert cfg.devices == {
        "24e124538b223213": Device("24e124538b223213", "milesight-iot/ws101", "feedback-rathaus-eg-1")
    }


def test_minimal_config_gets_every_default() -> None:
    cfg = parse(minimal())
    given = {"device.id", "device.data_dir", "mqtt.host", "mqtt.port"}
    for s in SETTINGS:
        if s.key not in given:
            assert cfg.get(s.key) == s.default, s.key
    assert cfg.get("mqtt.protocol") == "3.1.1"
    assert cfg.get("mqtt.tls") is False
    assert cfg.retention_days() == {
        "uplink": 400, "health": 90, "network": 30, "quarantine": 30, "button": 400, "feedback": 400, "help": 30,
        "usage": 400,
    }  # fmt: skip


def test_load_reads_the_file(tmp_path: Path, clean_env: None) -> None:
    path = tmp_path / "edge.toml"
    path.write_text(MINIMAL)
    assert config.load(path) == parse(minimal())


def test_load_takes_a2d_variables_from_the_environment(
    tmp_path: Path, clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "edge.toml"
    path.write_text(MINIMAL)
    monkeypatch.setenv("A2D_MQTT_PASSWORD", "s3cret")
    assert config.load(path).get("mqtt.password") == "s3cret"


def test_environment_wins_over_the_file() -> None:
    cfg = parse(
        minimal(),
        A2D_MQTT_PORT="1999",
        A2D_DEVICE_ID="edge-bahnhof-2",
        A2D_MQTT_TLS="yes",
        A2D_LOG_LEVEL="debug",
        A2D_RETENTION_UPLINK_DAYS="0",
    )
    assert cfg.get("mqtt.port") == 1999
    assert cfg.device_id == "edge-bahnhof-2"
    assert cfg.get("mqtt.tls") is True
    assert cfg.get("log.level") == "debug"
    assert cfg.retention_days()["uplink"] == 0
    # sources without their own port follow mqtt.port, including its override
    assert [s.port for s in cfg.sources] == [1999, 1999]


def test_environment_can_supply_a_required_setting() -> None:
    data = minimal()
    del data["device"]["id"]
    assert parse(data, A2D_DEVICE_ID="edge-from-env").device_id == "edge-from-env"


def test_variables_outside_a2d_are_ignored() -> None:
    assert parse(minimal(), MQTT_PORT="1999", a2d_mqtt_port="1999").get("mqtt.port") == 1883


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"A2D_MQTT_PORT": "eighteen"}, "mqtt.port must be a number"),
        ({"A2D_MQTT_TLS": "maybe"}, "mqtt.tls must be bool"),
        ({"A2D_LOG_LEVEL": "loud"}, "log.level must be one of debug, info, warning, error"),
        ({"A2D_STORE_SYNCHRONOUS": "off"}, "store.synchronous must be one of normal, full"),
    ],
)
def test_bad_environment_value_is_a_config_error(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse(minimal(), **env)


def test_source_settings_override_mqtt() -> None:
    data = minimal()
    data["mqtt"].update(username="edge", password="pw")
    data["sources"][1].update(
        name="ttn-offenburg",
        host="eu1.cloud.thethings.network",
        port=8883,
        username="a2d@ttn",
        password="NNSXS.x",
    )
    data["sources"][0]["topic"] = "application/7/device/+/event/+"
    cs, tts = parse(data).sources
    assert cs == Source(
        "chirpstack",
        "chirpstack",
        "application/7/device/+/event/+",
        "lns.offenburg.example",
        1883,
        "edge",
        "pw",
    )
    assert tts == Source(
        "tts", "ttn-offenburg", "v3/+/devices/+/#", "eu1.cloud.thethings.network", 8883, "a2d@ttn", "NNSXS.x"
    )


@pytest.mark.parametrize(
    "written",
    ["24e124538b223213", "24:E1:24:53:8B:22:32:13", "24-e1-24-53-8b-22-32-13", " 24E124538B223213 "],
)
def test_dev_eui_is_normalised(written: str) -> None:
    data = minimal()
    data["devices"][0]["dev_eui"] = written
    assert list(parse(data).devices) == ["24e124538b223213"]


def test_codec_name_is_case_insensitive() -> None:
    data = minimal()
    data["devices"][0]["codec"] = "Milesight-IoT/WS101"
    assert parse(data).devices["24e124538b223213"].codec == "milesight-iot/ws101"


def test_device_without_codec_is_allowed() -> None:
    data = minimal()
    del data["devices"][0]["codec"]
    assert parse(data).devices["24e124538b223213"].codec == ""


def _parent(d: Any, path: str) -> tuple[Any, str]:
    """The container holding dotted ``path`` (``sources.0.kind``), creating missing tables."""
    *parents, leaf = path.split(".")
    for p in parents:
        d = d[int(p)] if isinstance(d, list) else d.setdefault(p, {})
    return d, leaf


def _without(path: str) -> Any:
    def mutate(d: dict[str, Any]) -> None:
        node, leaf = _parent(d, path)
        del node[leaf]

    return mutate


def _setting(path: str, value: Any) -> Any:
    def mutate(d: dict[str, Any]) -> None:
        node, leaf = _parent(d, path)
        node[leaf] = value

    return mutate


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (_without("device.id"), "device.id is required"),
        (_without("device"), "device.id is required"),
        (_setting("mqtt.port", "eighteen"), "mqtt.port must be a number"),
        (_setting("mqtt.port", 1883.5), "mqtt.port must be int"),
        (_setting("mqtt.port", True), "mqtt.port must be int"),
        (_setting("mqtt.host", 42), "mqtt.host must be str"),
        (_setting("mqtt.tls", "sometimes"), "mqtt.tls must be bool"),
        (_setting("mqtt.protocol", "3.1"), "mqtt.protocol must be one of 3.1.1, 5"),
        (_setting("mqtt.protocol", 5), "mqtt.protocol must be str"),
        (_setting("retention.uplink_days", "a year"), "retention.uplink_days must be a number"),
        (_setting("sources.0.kind", "loriot"), "[[sources]] #1: kind must be one of chirpstack, tts"),
        (_without("sources.1.kind"), "[[sources]] #2: kind is required"),
        (_setting("sources.1.port", "tls"), "[[sources]] #2: port must be a number"),
        (_setting("sources", {"kind": "tts"}), "[[sources]] must be a list of tables"),
        (_setting("devices", ["24e124538b223213"]), "[[devices]] must be a list of tables"),
        (_setting("devices.0.codec", "acme/nothing"), "[[devices]] #1: unknown codec 'acme/nothing'"),
        (
            _setting("devices.0.dev_eui", "24e124538b2232"),
            "[[devices]] #1: dev_eui '24e124538b2232' is not 16 hex digits",
        ),
        (_setting("devices.0.dev_eui", "24e124538b22321g"), "is not 16 hex digits"),
        (_setting("devices.0.dev_eui", 0x24E124538B223213), "[[devices]] #1: dev_eui must be str"),
        (_without("devices.0.dev_eui"), "[[devices]] #1: dev_eui is required"),
    ],
)
def test_bad_config_is_a_config_error_naming_the_problem(mutate: Any, message: str) -> None:
    data = minimal()
    mutate(data)
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        parse(data)
    assert str(info.value).startswith("edge.toml")  # says which file


def test_duplicate_source_names_are_a_config_error() -> None:
    data = minimal()
    data["sources"].append({"kind": "chirpstack", "host": "10.0.0.2"})
    with pytest.raises(ConfigError, match="two \\[\\[sources\\]\\] share a name"):
        parse(data)
    data["sources"][2]["name"] = "chirpstack-2"
    assert [s.name for s in parse(data).sources] == ["chirpstack", "tts", "chirpstack-2"]


def test_invalid_toml_is_a_config_error(tmp_path: Path, clean_env: None) -> None:
    path = tmp_path / "edge.toml"
    path.write_text(MINIMAL + "\n[mqtt\nport = \n")
    with pytest.raises(ConfigError, match=f"config file {re.escape(str(path))} is not valid TOML"):
        config.load(path)


def test_missing_file_is_a_config_error(tmp_path: Path, clean_env: None) -> None:
    path = tmp_path / "nowhere" / "edge.toml"
    with pytest.raises(ConfigError, match=f"config file {re.escape(str(path))} does not exist"):
        config.load(path)


def test_errors_from_load_name_the_file(tmp_path: Path, clean_env: None) -> None:
    path = tmp_path / "edge.toml"
    path.write_text(MINIMAL.replace('id = "edge-rathaus-1"', ""))
    with pytest.raises(ConfigError, match=f"^{re.escape(str(path))}: device.id is required"):
        config.load(path)


# --- bugs / gaps ---------------------------------------------------------------------------------------


def test_section_that_is_not_a_table_is_a_config_error() -> None:
    """`mqtt = "broker"` (instead of [mqtt] host = ...) is silently ignored: _lookup treats the
    non-table as absent, so every mqtt.* setting quietly takes its default."""
    data = minimal()
    data["mqtt"] = "lns.offenburg.example"
    with pytest.raises(ConfigError, match="mqtt"):
        parse(data)


def test_duplicate_dev_eui_is_a_config_error() -> None:
    """Two [[devices]] with the same DevEUI (any spelling): the later silently replaces the earlier."""
    data = minimal()
    data["devices"].append({"dev_eui": "24:e1:24:53:8b:22:32:13", "codec": "milesight-iot/ws101"})
    with pytest.raises(ConfigError, match="24e124538b223213"):
        parse(data)


# --- every setting is documented -------------------------------------------------------------------------


def doc_sections() -> dict[str, str]:
    """docs/edge-config.md split at its headings, keyed by the ``[section]`` the heading names."""
    return docsettings.doc_sections(DOC)


def cells(row: str) -> list[str]:
    """The cells of a Markdown table row: setting, default, then environment (top level) or meaning."""
    return [c.strip() for c in row.strip().strip("|").split("|")]


def row_of(text: str, key: str) -> str:
    rows = [line for line in text.splitlines() if line.startswith("|") and f"`{key}`" in line.split("|")[1]]
    assert len(rows) == 1, f"`{key}` should have exactly one table row in docs/edge-config.md"
    return rows[0]


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.key)
def test_every_setting_is_documented(setting: Setting) -> None:
    section = doc_sections()[f"[{setting.key.split('.')[0]}]"]
    text = DOC.read_text(encoding="utf-8")
    assert f"`{setting.key}`" in text
    assert f"`{setting.env}`" in text
    row = cells(row_of(section, setting.key))
    assert row[1] == f"`{toml_value(setting)}`", f"default of {setting.key} in the docs differs from the code"
    assert row[2] == f"`{setting.env}`"


@pytest.mark.parametrize(
    ("table", "setting"),
    [("[[sources]]", s) for s in SOURCE_SETTINGS] + [("[[devices]]", s) for s in DEVICE_SETTINGS],
    ids=lambda x: x if isinstance(x, str) else x.key,
)
def test_every_table_setting_is_documented(table: str, setting: Setting) -> None:
    row = cells(row_of(doc_sections()[table], setting.key))
    assert row[1] == f"`{toml_value(setting)}`", f"default of {table} {setting.key} in the docs differs"
    assert len(row) == 3 and "A2D_" not in row[2]  # list entries have no environment override


def test_documented_keys_all_exist() -> None:
    """No stale rows: every key in a settings table of the reference is a real setting."""
    known = {f"[{s.key.split('.')[0]}]": set() for s in SETTINGS}
    for s in SETTINGS:
        known[f"[{s.key.split('.')[0]}]"].add(s.key)
    known["[[sources]]"] = {s.key for s in SOURCE_SETTINGS}
    known["[[devices]]"] = {s.key for s in DEVICE_SETTINGS}
    for name, text in doc_sections().items():
        if name not in known:
            continue
        documented = set(re.findall(r"^\| `([a-z0-9_.]+)`", text, re.MULTILINE))
        assert documented == known[name], name


def test_documented_example_is_valid() -> None:
    """The first TOML block of the reference is the minimal example; it must parse."""
    example = re.search(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert example is not None
    cfg = parse(tomllib.loads(example.group(1)))
    assert {s.kind for s in cfg.sources} == {"chirpstack", "tts"}
    assert [d.codec for d in cfg.devices.values()] == ["milesight-iot/ws101"]
