"""The Pi's serial number: its identity in the claim (never an IP address, which DHCP may change).

Read from the device tree (``/sys/firmware/devicetree/base/serial-number``, NUL-terminated), else
from the ``Serial`` line of ``/proc/cpuinfo``; both hold the same 16 hex digits on a Raspberry Pi.
Machines without one (a PC, a test) pass it in (``--serial``).
"""

from __future__ import annotations

from pathlib import Path

from a2d.claimwire import valid_serial
from a2d.errors import KnownError

DEVICE_TREE = Path("/sys/firmware/devicetree/base/serial-number")
CPUINFO = Path("/proc/cpuinfo")


def _from_cpuinfo(text: str) -> str:
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == "serial":
            return value.strip()
    return ""


def read_serial(override: str = "", *, device_tree: Path = DEVICE_TREE, cpuinfo: Path = CPUINFO) -> str:
    """This device's serial number (lower case), or ``override`` when given."""
    serial = override.strip()
    if not serial:
        try:
            serial = device_tree.read_bytes().rstrip(b"\0\n").decode("ascii", "replace").strip()
        except OSError:
            serial = ""
    if not serial:
        try:
            serial = _from_cpuinfo(cpuinfo.read_text(encoding="ascii", errors="replace"))
        except OSError:
            serial = ""
    if not serial:
        raise KnownError("this machine has no serial number (no Raspberry Pi?): give one with --serial")
    if not valid_serial(serial):
        raise KnownError(f"the serial number {serial!r} is not 4-64 letters, digits or '-'")
    return serial.lower()
