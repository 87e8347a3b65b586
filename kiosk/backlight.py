"""The display's light at night: the :class:`~kiosk.ports.Backlight` adapters, and a fake.

- :class:`SysfsBacklight`: a panel with a backlight device in ``/sys/class/backlight/<name>/`` (the
  Raspberry Pi Touch Displays on DSI, most laptop-style panels): ``brightness`` (0 to
  ``max_brightness``) for on and dim, ``bl_power`` for off (4, ``FB_BLANK_POWERDOWN``; 0 is on),
  and ``brightness`` 0 as well for drivers without ``bl_power``.
- :class:`CommandBacklight`: a monitor without one (HDMI), through its display server's DPMS:
  ``wlr-randr --output NAME --off/--on`` under a wlroots compositor (Raspberry Pi OS bookworm's
  Wayland desktop, Wayfire and later labwc) or ``xset dpms force off/on`` under X11. DPMS knows
  no "dim": a dim period leaves such a monitor on.
- :class:`FakeBacklight`: records what it was asked (tests, the selftest, ``--fake-agent``).

:func:`for_display` picks one from ``display.backlight`` (``auto`` tries them in that order). None
of them raises: a refused write or a missing tool is logged once and the screen stays as it is.
Nothing is read or run at import time.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

from a2d.logs import Once
from sitehours.screen import ScreenState

log = logging.getLogger(__name__)

SYSFS_ROOT = Path("/sys/class/backlight")
#: ``bl_power`` values (linux/fb.h): the panel's light on, and powered down
FB_BLANK_UNBLANK = 0
FB_BLANK_POWERDOWN = 4
CHOICES = ("auto", "sysfs", "wlr-randr", "xset", "none")
COMMAND_TIMEOUT_S = 5.0


class FakeBacklight:
    """A :class:`~kiosk.ports.Backlight` that only records: ``asked`` in order, ``state`` the last."""

    def __init__(self) -> None:
        self.asked: list[ScreenState] = []

    @property
    def state(self) -> ScreenState | None:
        return self.asked[-1] if self.asked else None

    def set(self, state: ScreenState) -> None:
        self.asked.append(ScreenState(state))


class SysfsBacklight:
    """One backlight device folder (``/sys/class/backlight/<name>``); ``dim_percent`` of the
    maximum for dim. The kiosk's user needs write access to ``brightness`` and ``bl_power``."""

    def __init__(self, device: Path, dim_percent: int = 20) -> None:
        self.device = Path(device)
        self.dim_percent = dim_percent
        self._once = Once(log)

    @classmethod
    def find(cls, root: Path = SYSFS_ROOT, name: str = "", dim_percent: int = 20) -> SysfsBacklight | None:
        """The device ``name`` under ``root``, or the first one there (sorted); None: none."""
        if name:
            device = root / name
            return cls(device, dim_percent) if (device / "brightness").exists() else None
        try:
            found = sorted(p for p in root.iterdir() if (p / "brightness").exists())
        except OSError:
            return None
        return cls(found[0], dim_percent) if found else None

    def _max(self) -> int:
        return int((self.device / "max_brightness").read_text().strip())

    def set(self, state: ScreenState) -> None:
        power = self.device / "bl_power"
        try:
            top = self._max()
            if state is ScreenState.OFF:
                if power.exists():
                    power.write_text(f"{FB_BLANK_POWERDOWN}\n")
                (self.device / "brightness").write_text("0\n")
            else:
                level = top if state is ScreenState.ON else max(1, round(top * self.dim_percent / 100))
                (self.device / "brightness").write_text(f"{level}\n")
                if power.exists():
                    power.write_text(f"{FB_BLANK_UNBLANK}\n")
        except (OSError, ValueError) as exc:
            self._once.failed("write", "cannot set the backlight %s to %s: %s", self.device, state.value, exc)
            return
        self._once.recovered("write", "the backlight %s takes settings again", self.device)


Run = Callable[[list[str]], "subprocess.CompletedProcess[str]"]


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False)


class CommandBacklight:
    """DPMS through the display server: ``tool`` is ``wlr-randr`` or ``xset``; dim means on."""

    def __init__(self, tool: str, *, output: str = "", run: Run = _run) -> None:
        if tool not in ("wlr-randr", "xset"):
            raise ValueError(f"no DPMS tool {tool!r}")
        self.tool = tool
        self.output = output
        self._run = run
        self._once = Once(log)

    def _wlr_output(self) -> str:
        """The first output ``wlr-randr`` lists (its lines for an output start at column 0)."""
        if not self.output:
            listing = self._run(["wlr-randr"]).stdout
            names = [line.split()[0] for line in listing.splitlines() if line[:1].strip()]
            self.output = names[0] if names else ""
        return self.output

    def set(self, state: ScreenState) -> None:
        on = state is not ScreenState.OFF
        try:
            if self.tool == "xset":
                args = ["xset", "dpms", "force", "on" if on else "off"]
            else:
                output = self._wlr_output()
                if not output:
                    raise OSError("wlr-randr lists no output")
                args = ["wlr-randr", "--output", output, "--on" if on else "--off"]
            done = self._run(args)
            if done.returncode != 0:
                raise OSError(f"{' '.join(args)} exited {done.returncode}: {done.stderr.strip()[:200]}")
        except (OSError, subprocess.SubprocessError) as exc:
            self._once.failed("run", "cannot turn the screen %s with %s: %s", state.value, self.tool, exc)
            return
        self._once.recovered("run", "%s turns the screen on and off again", self.tool)


def for_display(
    kind: str = "auto",
    device: str = "",
    dim_percent: int = 20,
    *,
    root: Path = SYSFS_ROOT,
    env: Mapping[str, str] | None = None,
    which: Callable[[str], str | None] = shutil.which,
) -> SysfsBacklight | CommandBacklight | None:
    """The backlight ``display.backlight`` names; ``auto``: sysfs, then ``wlr-randr`` under
    Wayland, then ``xset`` under X11. None (logged): the screen stays on at night."""
    env = os.environ if env is None else env
    if kind in ("auto", "sysfs"):
        found = SysfsBacklight.find(root, device, dim_percent)
        if found is not None:
            log.info("night screen through the backlight %s", found.device)
            return found
        if kind == "sysfs":
            log.warning(
                "display.backlight = sysfs, but there is no backlight %s in %s", device or "device", root
            )
            return None
    if (
        kind in ("auto", "wlr-randr")
        and (kind == "wlr-randr" or env.get("WAYLAND_DISPLAY"))
        and which("wlr-randr")
    ):
        log.info("night screen through wlr-randr (DPMS; this monitor cannot dim)")
        return CommandBacklight("wlr-randr")
    if kind in ("auto", "xset") and (kind == "xset" or env.get("DISPLAY")) and which("xset"):
        log.info("night screen through xset (DPMS; this monitor cannot dim)")
        return CommandBacklight("xset")
    if kind != "none":
        log.warning("no backlight device and no DPMS tool for this display: the screen stays on at night")
    return None
