"""The bridge's config file (``bridge.toml``): every setting, its default and its help line.

See ``docs/bridge.md`` for the reference; a test checks that every setting here is documented there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from a2d import config as a2dconfig
from a2d.buttons import valid_name
from a2d.config import REQUIRED, ConfigError, Setting, setting

SETTINGS: tuple[Setting, ...] = (
    Setting("bridge.id", "bridge", "this bridge's name in logs and in its MQTT client id"),
    Setting("bridge.data_dir", "/var/lib/a2d", "folder holding the spool database bridge.db"),
    Setting(
        "bridge.dedup_window",
        1024,
        "presses per box remembered behind its newest one, to store each (box, seq) once",
        int,
    ),
    Setting("bridge.reopen_s", 1.0, "seconds between attempts to reopen a serial port that vanished", float),
    Setting("mqtt.host", "127.0.0.1", "the local MQTT broker's host"),
    Setting("mqtt.port", 1883, "the local MQTT broker's port", int),
    Setting("mqtt.username", "", "MQTT user name; empty for none"),
    Setting("mqtt.password", "", "MQTT password; prefer the A2D_MQTT_PASSWORD variable"),
    Setting(
        "mqtt.password_file",
        "",
        "file holding the MQTT password, read when mqtt.password is empty (first boot writes the bridge's)",
    ),
    Setting("mqtt.keepalive", 30, "seconds between MQTT keep-alive pings", int),
    Setting("mqtt.inflight", 100, "most events published and not yet acknowledged by the broker", int),
    Setting("gpio.source", "gpio", "source id of GPIO buttons whose id has no source/ part"),
    Setting("gpio.debounce_ms", 30, "a pin must stay put this long before a change counts", int),
    Setting("gpio.hold_s", 1.5, "held this long, a press becomes a hold (its own event)", float),
    Setting(
        "gpio.cooldown_s", 1.0, "after an event, more presses of the same button are ignored this long", float
    ),
    Setting("gpio.blink_s", 0.3, "how long the LED lights once a press is safely spooled", float),
    Setting("log.level", "info", "log level", choices=("debug", "info", "warning", "error")),
)

BUTTON_SETTINGS: tuple[Setting, ...] = (
    Setting("pin", REQUIRED, "BCM number of the button's pin (the button connects it to ground)", int),
    Setting("id", REQUIRED, "source/button, e.g. kiosk-1/happy (without a /, the source is gpio.source)"),
    Setting("led", -1, "BCM number of the acknowledgement LED's pin; -1 for none", int),
    Setting("cooldown_s", -1.0, "this button's cooldown; -1 for gpio.cooldown_s", float),
)

SERIAL_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "port",
        REQUIRED,
        "serial device of the box, e.g. /dev/ttyACM0 (a stable /dev/serial/by-id/ link is best)",
    ),
    Setting("baud", 115200, "baud rate", int),
)


@dataclass(frozen=True)
class GpioButton:
    pin: int
    source_id: str
    button: str
    led: int | None
    cooldown_s: float


@dataclass(frozen=True)
class SerialPort:
    port: str
    baud: int


@dataclass(frozen=True)
class BridgeConfig:
    """The parsed ``bridge.toml``; ``raw`` keeps the resolved nested settings."""

    buttons: tuple[GpioButton, ...]
    serial: tuple[SerialPort, ...]
    raw: Mapping[str, Any] = field(repr=False)

    def get(self, dotted: str) -> Any:
        return setting(self.raw, dotted)

    @property
    def db_path(self) -> Path:
        return Path(self.raw["bridge"]["data_dir"]) / "bridge.db"


def _button(entry: Mapping[str, Any], raw: Mapping[str, Any], where: str) -> GpioButton:
    b = a2dconfig.resolve(entry, BUTTON_SETTINGS, where)
    source, _, button = b["id"].rpartition("/")
    source = source or raw["gpio"]["source"]
    for name, what in ((source, "source"), (button, "button")):
        if not valid_name(name):
            raise ConfigError(f"{where}: id {b['id']!r}: the {what} part must be 1-40 of A-Z a-z 0-9 _ . : -")
    for key in ("pin", "led"):
        if not (0 <= b[key] <= 27 or (key == "led" and b[key] == -1)):
            raise ConfigError(f"{where}: {key} {b[key]} is not a BCM GPIO number (0-27)")
    if b["pin"] == b["led"]:
        raise ConfigError(f"{where}: the button and its LED cannot share pin {b['pin']}")
    cooldown = raw["gpio"]["cooldown_s"] if b["cooldown_s"] < 0 else b["cooldown_s"]
    return GpioButton(b["pin"], source, button, None if b["led"] < 0 else b["led"], cooldown)


def parse(
    data: Mapping[str, Any], where: str = "bridge.toml", env: Mapping[str, str] | None = None
) -> BridgeConfig:
    """Check a config mapping and build a :class:`BridgeConfig`."""
    raw = a2dconfig.resolve(data, SETTINGS, where, a2dconfig.environ() if env is None else env)
    a2dconfig.fill_from_file(raw, "mqtt.password", "mqtt.password_file", where)
    if not valid_name(raw["gpio"]["source"]):
        raise ConfigError(f"{where}: gpio.source must be 1-40 of A-Z a-z 0-9 _ . : -")
    if raw["bridge"]["dedup_window"] < 16 or raw["bridge"]["dedup_window"] > 16384:
        raise ConfigError(f"{where}: bridge.dedup_window must be 16-16384")
    if raw["mqtt"]["inflight"] < 1:
        raise ConfigError(f"{where}: mqtt.inflight must be at least 1")
    gpio = data.get("gpio", {})
    if not isinstance(gpio, Mapping):
        raise ConfigError(f"{where}: gpio must be a table ([gpio])")
    buttons = tuple(
        _button(entry, raw, f"{where}: [[gpio.buttons]] #{i + 1}")
        for i, entry in enumerate(a2dconfig.table_list(gpio, "buttons", where))
    )
    pins = [b.pin for b in buttons] + [b.led for b in buttons if b.led is not None]
    if len(set(pins)) != len(pins):
        raise ConfigError(f"{where}: two [[gpio.buttons]] entries use the same pin")
    ids = [(b.source_id, b.button) for b in buttons]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{where}: two [[gpio.buttons]] entries share an id")
    ports = []
    for i, entry in enumerate(a2dconfig.table_list(data, "serial", where)):
        s = a2dconfig.resolve(entry, SERIAL_SETTINGS, f"{where}: [[serial]] #{i + 1}")
        ports.append(SerialPort(s["port"], s["baud"]))
    if len({p.port for p in ports}) != len(ports):
        raise ConfigError(f"{where}: two [[serial]] entries name the same port")
    return BridgeConfig(buttons=buttons, serial=tuple(ports), raw=raw)


def load(path: str | Path) -> BridgeConfig:
    """Read and check ``bridge.toml`` (``ConfigError`` with a one-line reason on any problem)."""
    return parse(a2dconfig.read_toml(path), where=str(path))
