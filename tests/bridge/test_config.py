"""bridge.toml: defaults, overrides, clear errors, and every setting documented in docs/bridge.md."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from a2d.config import ConfigError, Setting
from buttons_firmware_bridge import config
from buttons_firmware_bridge.config import BUTTON_SETTINGS, SERIAL_SETTINGS, SETTINGS, GpioButton, SerialPort
from tests.docsettings import doc_sections, toml_value

DOC = Path(__file__).resolve().parents[2] / "docs" / "bridge.md"

README_EXAMPLE = """
[mqtt]
host = "127.0.0.1"
port = 1883
[[gpio.buttons]]
pin = 17                 # BCM numbering
id = "kiosk-1/happy"
led = 27                 # optional: acknowledgement LED
[[serial]]
port = "/dev/ttyACM0"
baud = 115200
"""


def parse(text: str, **env: str) -> config.BridgeConfig:
    return config.parse(tomllib.loads(text), env=env)


def test_the_readme_example() -> None:
    cfg = parse(README_EXAMPLE)
    assert cfg.buttons == (GpioButton(17, "kiosk-1", "happy", 27, 1.0),)
    assert cfg.serial == (SerialPort("/dev/ttyACM0", 115200),)
    assert cfg.db_path == Path("/var/lib/a2d/bridge.db")
    for s in SETTINGS:
        if s.key not in ("mqtt.host", "mqtt.port"):
            assert cfg.get(s.key) == s.default, s.key


def test_environment_wins_and_per_button_cooldown() -> None:
    text = README_EXAMPLE + '[[gpio.buttons]]\npin = 22\nid = "sad"\ncooldown_s = 0.0\n'
    cfg = parse(text, A2D_MQTT_PORT="1999", A2D_GPIO_SOURCE="kiosk-2", A2D_GPIO_COOLDOWN_S="2")
    assert cfg.get("mqtt.port") == 1999
    assert cfg.buttons[0].cooldown_s == 2.0
    assert cfg.buttons[1] == GpioButton(22, "kiosk-2", "sad", None, 0.0)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[[gpio.buttons]]\npin = 17\nid = "x/y"\n', "use the same pin"),
        ('[[gpio.buttons]]\npin = 5\nid = "kiosk-1/happy"\n', "share an id"),
        ('[[gpio.buttons]]\npin = 40\nid = "a/b"\n', "not a BCM GPIO number"),
        ('[[gpio.buttons]]\npin = 5\nid = "a b/c"\n', "source part"),
        ('[[gpio.buttons]]\nid = "a/b"\n', "pin is required"),
        ('[[serial]]\nport = "/dev/ttyACM0"\n', "same port"),
        ("[[serial]]\nbaud = 9600\n", "port is required"),
        ("[bridge]\ndedup_window = 4\n", "dedup_window must be 16-16384"),
    ],
)
def test_mistakes_are_one_clear_line(extra: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse(README_EXAMPLE + extra)


def test_load_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        config.load(tmp_path / "missing.toml")


# --- every setting is documented --------------------------------------------------------------


def sections() -> dict[str, str]:
    return doc_sections(DOC)


def row(section: str, key: str) -> list[str]:
    rows = [
        ln for ln in sections()[section].splitlines() if ln.startswith("|") and f"`{key}`" in ln.split("|")[1]
    ]
    assert len(rows) == 1, f"`{key}` should have exactly one row under {section} in docs/bridge.md"
    return [c.strip() for c in rows[0].strip().strip("|").split("|")]


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.key)
def test_every_setting_is_documented(setting: Setting) -> None:
    cells = row(f"[{setting.key.split('.')[0]}]", setting.key)
    assert cells[1] == f"`{toml_value(setting)}`", f"default of {setting.key} differs in the docs"
    assert cells[2] == f"`{setting.env}`"


@pytest.mark.parametrize(
    ("table", "setting"),
    [("[[gpio.buttons]]", s) for s in BUTTON_SETTINGS] + [("[[serial]]", s) for s in SERIAL_SETTINGS],
    ids=lambda x: x if isinstance(x, str) else x.key,
)
def test_every_table_setting_is_documented(table: str, setting: Setting) -> None:
    cells = row(table, setting.key)
    assert cells[1] == f"`{toml_value(setting)}`"


def test_no_stale_rows_and_the_doc_example_parses() -> None:
    known = {f"[{s.key.split('.')[0]}]": set() for s in SETTINGS}
    for s in SETTINGS:
        known[f"[{s.key.split('.')[0]}]"].add(s.key)
    known["[[gpio.buttons]]"] = {s.key for s in BUTTON_SETTINGS}
    known["[[serial]]"] = {s.key for s in SERIAL_SETTINGS}
    for section, keys in known.items():
        documented = set(re.findall(r"^\| `([a-z_.]+)` \|", sections()[section], re.MULTILINE))
        assert documented == keys, section
    example = re.search(r"## Configuration reference.*?```toml\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert example is not None
    assert parse(example.group(1)).buttons[0].led == 27
