"""The device's identity (provisioning/serial.py): the Pi's serial number, never an address."""

from __future__ import annotations

import pytest

from a2d.errors import KnownError
from provisioning.serial import read_serial

CPUINFO = """processor\t: 0
BogoMIPS\t: 108.00
Hardware\t: BCM2835
Revision\t: d04170
Serial\t\t: 10000000A1B2C3D4
Model\t\t: Raspberry Pi 5 Model B Rev 1.0
"""


def test_the_device_tree_comes_first(tmp_path):
    dt = tmp_path / "serial-number"
    dt.write_bytes(b"e4b2c1d0a9f8e7d6\0")
    cpu = tmp_path / "cpuinfo"
    cpu.write_text(CPUINFO)
    assert read_serial(device_tree=dt, cpuinfo=cpu) == "e4b2c1d0a9f8e7d6"


def test_cpuinfo_when_there_is_no_device_tree(tmp_path):
    cpu = tmp_path / "cpuinfo"
    cpu.write_text(CPUINFO)
    assert read_serial(device_tree=tmp_path / "none", cpuinfo=cpu) == "10000000a1b2c3d4"


def test_an_override_wins_and_no_serial_at_all_is_a_clear_error(tmp_path):
    cpu = tmp_path / "cpuinfo"
    cpu.write_text("processor\t: 0\n")
    assert read_serial("Test-0001", device_tree=tmp_path / "none", cpuinfo=cpu) == "test-0001"
    with pytest.raises(KnownError, match="--serial"):
        read_serial(device_tree=tmp_path / "none", cpuinfo=cpu)
    with pytest.raises(KnownError, match="not 4-64"):
        read_serial("../etc", device_tree=tmp_path / "none", cpuinfo=cpu)
