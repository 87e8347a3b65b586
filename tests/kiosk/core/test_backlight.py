"""The night screen's adapters: sysfs against a folder laid out like /sys/class/backlight, the DPMS
commands through a recorded runner (no display server is touched), the choice among them, and the
kiosk.toml settings."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest

from a2d.config import ConfigError
from kiosk.backlight import CommandBacklight, FakeBacklight, SysfsBacklight, for_display
from kiosk.config import parse
from sitehours.screen import ScreenState


def panel(root: Path, name: str = "10-0045", top: int = 255, bl_power: bool = True) -> Path:
    """A backlight device folder as the kernel lays it out (the values as sysfs holds them)."""
    device = root / name
    device.mkdir(parents=True)
    (device / "max_brightness").write_text(f"{top}\n")
    (device / "brightness").write_text(f"{top}\n")
    if bl_power:
        (device / "bl_power").write_text("0\n")
    return device


def read(device: Path) -> tuple[str, str]:
    return (device / "brightness").read_text().strip(), (device / "bl_power").read_text().strip()


def test_sysfs_dims_blanks_and_lights_the_panel(tmp_path: Path) -> None:
    device = panel(tmp_path, top=31)
    light = SysfsBacklight.find(tmp_path, dim_percent=20)
    assert light is not None and light.device == device
    light.set(ScreenState.DIM)
    assert read(device) == ("6", "0")  # 20 % of 31, rounded
    light.set(ScreenState.OFF)
    assert read(device) == ("0", "4")  # FB_BLANK_POWERDOWN
    light.set(ScreenState.ON)
    assert read(device) == ("31", "0")


def test_sysfs_without_bl_power_blanks_with_brightness_zero_and_dims_to_at_least_one(tmp_path: Path) -> None:
    device = panel(tmp_path, name="rpi_backlight", top=3, bl_power=False)
    light = SysfsBacklight(device, dim_percent=1)
    light.set(ScreenState.DIM)
    assert (device / "brightness").read_text().strip() == "1"
    light.set(ScreenState.OFF)
    assert (device / "brightness").read_text().strip() == "0" and not (device / "bl_power").exists()


def test_a_refused_write_is_logged_once_and_never_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    device = panel(tmp_path)
    (device / "brightness").unlink()
    (device / "brightness").mkdir()  # writing to it fails as a read-only sysfs file would
    light = SysfsBacklight(device)
    caplog.set_level(logging.WARNING, logger="kiosk.backlight")
    for state in (ScreenState.OFF, ScreenState.ON, ScreenState.DIM):
        light.set(state)
    assert sum("cannot set the backlight" in r.getMessage() for r in caplog.records) == 1


def test_a_named_device_is_taken_and_a_missing_one_is_none(tmp_path: Path) -> None:
    panel(tmp_path, "a-first")
    wanted = panel(tmp_path, "b-second")
    found = SysfsBacklight.find(tmp_path, "b-second")
    assert found is not None and found.device == wanted
    assert SysfsBacklight.find(tmp_path, "nope") is None
    assert SysfsBacklight.find(tmp_path / "missing") is None


class Recorder:
    def __init__(self, listing: str = "") -> None:
        self.calls: list[list[str]] = []
        self.listing = listing

    def __call__(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        self.calls.append(args)
        return subprocess.CompletedProcess(args, 0, self.listing if args == ["wlr-randr"] else "", "")


def test_wlr_randr_turns_the_first_output_off_and_on_and_dim_leaves_it_on() -> None:
    listing = (
        'HDMI-A-1 "Iiyama PL2493H (HDMI-A-1)"\n  Enabled: yes\n  Modes:\n    1920x1080 px\nHDMI-A-2 "x"\n'
    )
    run = Recorder(listing)
    light = CommandBacklight("wlr-randr", run=run)
    light.set(ScreenState.OFF)
    light.set(ScreenState.DIM)
    assert run.calls == [["wlr-randr"], ["wlr-randr", "--output", "HDMI-A-1", "--off"],
                         ["wlr-randr", "--output", "HDMI-A-1", "--on"]]  # fmt: skip


def test_xset_forces_dpms() -> None:
    run = Recorder()
    light = CommandBacklight("xset", run=run)
    light.set(ScreenState.OFF)
    light.set(ScreenState.ON)
    assert run.calls == [["xset", "dpms", "force", "off"], ["xset", "dpms", "force", "on"]]


def test_a_failing_command_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    def broken(args: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(args, 1, "", "cannot open display")

    caplog.set_level(logging.WARNING, logger="kiosk.backlight")
    light = CommandBacklight("xset", run=broken)
    light.set(ScreenState.OFF)
    light.set(ScreenState.ON)
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and "cannot open display" in said[0]


def test_auto_prefers_sysfs_then_wayland_then_x11_then_nothing(tmp_path: Path) -> None:
    def has(*tools: str):  # noqa: ANN202
        return lambda name: f"/usr/bin/{name}" if name in tools else None

    sysfs = tmp_path / "sys"
    sysfs.mkdir()
    wayland = {"WAYLAND_DISPLAY": "wayland-1", "DISPLAY": ":0"}
    chosen = for_display(root=sysfs, env=wayland, which=has("wlr-randr", "xset"))
    assert isinstance(chosen, CommandBacklight) and chosen.tool == "wlr-randr"
    chosen = for_display(root=sysfs, env={"DISPLAY": ":0"}, which=has("wlr-randr", "xset"))
    assert isinstance(chosen, CommandBacklight) and chosen.tool == "xset"
    assert for_display(root=sysfs, env={}, which=has("wlr-randr", "xset")) is None  # kmsdrm, no panel light
    assert for_display("none", root=sysfs, env=wayland, which=has("wlr-randr")) is None
    panel(sysfs)
    assert isinstance(for_display(root=sysfs, env=wayland, which=has("wlr-randr")), SysfsBacklight)
    assert for_display("xset", root=sysfs, env={}, which=has("xset")) is not None


def test_the_fake_records_what_it_was_asked() -> None:
    light = FakeBacklight()
    assert light.state is None
    light.set(ScreenState.DIM)
    light.set(ScreenState.ON)
    assert light.asked == [ScreenState.DIM, ScreenState.ON] and light.state is ScreenState.ON


def test_the_settings_have_defaults_and_refuse_nonsense() -> None:
    cfg = parse({}, env={})
    assert (cfg.backlight, cfg.backlight_device, cfg.dim_percent) == ("auto", "", 20)
    cfg = parse({"display": {"backlight": "sysfs", "backlight_device": "10-0045", "dim_percent": 35}}, env={})
    assert (cfg.backlight, cfg.backlight_device, cfg.dim_percent) == ("sysfs", "10-0045", 35)
    for bad in ({"dim_percent": 0}, {"backlight": "hdmi-cec"}, {"backlight_device": "../../etc"}):
        with pytest.raises(ConfigError):
            parse({"display": bad}, env={})
