"""GPIO buttons on gpiozero's mock pins, through the bridge (in this process) to a real edge agent
on a real Mosquitto: debounce, hold, per-button cooldown, and the LED blinking after the spool."""

from __future__ import annotations

import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from buttons_firmware_bridge import config as bridge_config
from buttons_firmware_bridge.bridge import Bridge
from tests.conftest import Mosquitto

from .conftest import Edge, bridge_toml, wait_for

BUTTONS = """
[gpio]
debounce_ms = 20
hold_s = 0.4
cooldown_s = 0.6
blink_s = 0.2
[[gpio.buttons]]
pin = 17
id = "kiosk-1/happy"
led = 27
[[gpio.buttons]]
pin = 22
id = "sad"
"""


@pytest.fixture
def pins(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """gpiozero's mock pins, handed to the bridge as its ``pin_factory`` (nothing global)."""
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory

    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)  # the factory comes in as an argument
    factory = MockFactory()
    yield factory
    factory.reset()
    assert Device.pin_factory is None  # gpiozero's default was never needed


@pytest.fixture
def bridge(tmp_path: Path, mosquitto: Mosquitto, edge: Edge, pins: object) -> Iterator[Bridge]:
    b = Bridge(bridge_config.load(bridge_toml(tmp_path, mosquitto.port, extra=BUTTONS)), pin_factory=pins)
    b.start()
    yield b
    b.stop()


def events(edge: Edge) -> list[tuple[str, str, str]]:
    rows = edge.query("SELECT device_name, kind, decoded FROM events WHERE source = 'bridge' ORDER BY id")
    import json

    return [(str(src), str(kind), json.loads(str(d))["button"]) for src, kind, d in rows]


def hold_for(seconds: float) -> None:
    """A finger on the button: the stimulus lasts this long (not a synchronisation)."""
    time.sleep(seconds)


def test_bouncing_contacts_make_one_press_and_a_glitch_none(edge: Edge, bridge: Bridge, pins) -> None:
    happy, sad = pins.pin(17), pins.pin(22)
    happy.drive_low()
    happy.drive_high()  # a glitch far shorter than the debounce time
    for _ in range(4):  # the contacts bounce, then settle closed
        sad.drive_low()
        sad.drive_high()
    sad.drive_low()
    hold_for(0.08)
    for _ in range(3):  # and bounce again when released
        sad.drive_high()
        sad.drive_low()
    sad.drive_high()
    wait_for(lambda: events(edge), 10, "the press at the edge agent")
    assert events(edge) == [("gpio", "press", "sad")]  # a source-less id takes gpio.source
    assert bridge.gpio is not None
    assert [logic.suppressed for logic in bridge.gpio.logic] == [0, 0]  # not one bounce got through
    assert "RPi" not in sys.modules  # the pin factory was never probed for RPi.GPIO


def test_a_long_press_is_a_hold_and_nothing_else(edge: Edge, bridge: Bridge, pins) -> None:
    happy = pins.pin(17)
    happy.drive_low()
    hold_for(0.6)
    happy.drive_high()
    wait_for(lambda: events(edge), 10, "the hold at the edge agent")
    sad = pins.pin(22)  # a marker behind it: everything of the hold has arrived once this has
    sad.drive_low()
    hold_for(0.05)
    sad.drive_high()
    wait_for(lambda: len(events(edge)) >= 2, 10, "the marker press")
    assert events(edge) == [("kiosk-1", "hold", "happy"), ("gpio", "press", "sad")]
    measurement = edge.query("SELECT measurements FROM events WHERE kind = 'hold'")[0][0]
    assert '"button_press"' in str(measurement) and '"channel":"happy"' in str(measurement)


def test_cooldown_is_per_button(edge: Edge, bridge: Bridge, pins) -> None:
    happy, sad = pins.pin(17), pins.pin(22)

    def press(pin) -> None:
        pin.drive_low()
        hold_for(0.05)
        pin.drive_high()
        hold_for(0.05)

    press(happy)
    press(happy)  # within the cooldown: ignored
    press(sad)  # another button: counts
    press(happy)  # still within happy's cooldown
    wait_for(lambda: len(events(edge)) >= 2, 10, "two events")
    hold_for(0.6)  # the cooldown passes
    press(happy)
    wait_for(lambda: len(events(edge)) >= 3, 10, "the third event")
    assert Counter(events(edge)) == Counter({("kiosk-1", "press", "happy"): 2, ("gpio", "press", "sad"): 1})
    assert bridge.gpio is not None and bridge.gpio.logic[0].suppressed == 2


def test_led_blinks_only_after_the_press_is_spooled(edge: Edge, bridge: Bridge, pins, tmp_path: Path) -> None:
    happy, led = pins.pin(17), pins.pin(27)
    lock = sqlite3.connect(tmp_path / "bridge" / "bridge.db", isolation_level=None, timeout=1)
    lock.execute("BEGIN IMMEDIATE")  # the spool cannot commit while we hold this
    happy.drive_low()
    hold_for(0.05)
    happy.drive_high()
    hold_for(0.4)  # the press is long detected, but not spooled: the LED must stay dark
    assert not any(s.state for s in led.states)
    assert not events(edge)
    released = time.monotonic()
    lock.execute("ROLLBACK")
    lock.close()
    wait_for(lambda: led.state, 10, "the LED")
    lit = time.monotonic()
    assert lit >= released
    wait_for(lambda: not led.state, 10, "the LED to go dark again")  # one blink
    wait_for(lambda: events(edge), 10, "the press at the edge agent")
    assert events(edge) == [("kiosk-1", "press", "happy")]


def test_gpio_off_a_pi_without_a_pin_factory_is_one_clear_line(tmp_path: Path) -> None:
    import os
    import subprocess

    from .conftest import A2D, ROOT

    env = {k: v for k, v in os.environ.items() if k != "GPIOZERO_PIN_FACTORY"}
    cfg = bridge_toml(tmp_path, 1, extra=BUTTONS)
    out = subprocess.run(
        [*A2D, "bridge", "run", "--config", str(cfg)], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert out.returncode == 1
    assert (
        out.stderr.strip()
        .splitlines()[-1]
        .startswith("a2d bridge: [[gpio.buttons]] are configured but this is")
    )
    assert "Traceback" not in out.stderr


def test_the_default_pin_factory_is_gpiozeros_own_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory

    from buttons_firmware_bridge.gpio import default_pin_factory

    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "mock")
    try:
        factory = default_pin_factory()
        assert isinstance(factory, MockFactory) and Device.pin_factory is factory  # chosen once
        assert default_pin_factory() is factory
    finally:
        if Device.pin_factory is not None:
            Device.pin_factory.close()
        Device.pin_factory = None
