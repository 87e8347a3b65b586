"""Netvox device codecs: ``netvox/r312a`` (R312A wireless emergency button).

The R312A shares its payload format with Netvox's RB02I, R718T and R312. Multi-byte fields are
big-endian. Uplinks by fPort:

* fPort 6, reports ``[version, device type, report type, payload...]`` (11 bytes):

  - report type 0x00, startup version report: software version in tenths, hardware version,
    then a four-byte date code printed as hex digits (``0x20 0x19 0x07 0x18`` -> ``"20190718"``);
  - any other report type, status report: battery in 0.1 V (bit 7 flags a low battery and turns
    the value into a string such as ``"2.9(low battery)"``), the alarm byte (1 = button pressed),
    and which function key triggered the report.

* fPort 7, report-configuration responses ``[command, device type, payload...]``:
  0x81 carries a status byte (0 = success), 0x82 carries the minimum and maximum reporting
  interval in seconds (u16 each) and the battery-change threshold in 0.1 V.

* fPort 13, button-press-time responses ``[command, value]``: 0x81 carries a status byte,
  0x82 the configured press time.

Unknown device types and command codes leave their key out, as the vendor codec does.
"""

from __future__ import annotations

from typing import Any

from a2d.measurements import Measurement, collect, measurement

from ._base import Codec, CodecError
from ._js import js_str

DEVICE_NAMES: dict[int, str] = {0x10: "RB02I", 0x31: "R718T", 0x4D: "R312A", 0x55: "R312"}

REPORT_CONFIG_COMMANDS: dict[int, str] = {
    0x01: "ConfigReportReq",
    0x81: "ConfigReportRsp",
    0x02: "ReadConfigReportReq",
    0x82: "ReadConfigReportRsp",
}

PRESS_TIME_COMMANDS: dict[int, str] = {
    0x01: "SetButtonPressTimeReq",
    0x81: "SetButtonPressTimeRsp",
    0x02: "GetButtonPressTimeReq",
    0x82: "GetButtonPressTimeRsp",
}

# The vendor spells "function" without the n; the output must keep that spelling.
FUNCTION_KEYS: dict[int, str] = {0x00: "others", 0x01: "fuctionkey1", 0x02: "fuctionkey2"}

VERSION_REPORT = 0x00
RESPONSE_OK = 0x00
CONFIG_REPORT_RSP = 0x81
READ_CONFIG_REPORT_RSP = 0x82
SET_PRESS_TIME_RSP = 0x81
GET_PRESS_TIME_RSP = 0x82


def _number(x: float) -> int | float:
    """A JS number as JSON would print it: integral values become ``int``."""
    return int(x) if x.is_integer() else x


def _need(data: bytes, length: int, frame: str) -> None:
    if len(data) < length:
        raise CodecError(f"truncated {frame}: need {length} bytes, got {len(data)}")


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key`` unless the value is missing (a JS ``undefined`` that JSON drops)."""
    if value is not None:
        out[key] = value


def _status(code: int) -> str:
    return "Success" if code == RESPONSE_OK else "Failure"


def _battery(raw: int) -> int | float | str:
    volts = (raw & 0x7F) / 10
    if raw & 0x80:
        return js_str(volts) + "(low battery)"
    return _number(volts)


def _report(data: bytes) -> dict[str, Any]:
    _need(data, 3, "report")
    out: dict[str, Any] = {}
    if data[2] == VERSION_REPORT:
        _need(data, 9, "version report")
        _put(out, "Device", DEVICE_NAMES.get(data[1]))
        out["SWver"] = _number(data[3] / 10)
        out["HWver"] = data[4]
        out["Datecode"] = data[5:9].hex()
        return out
    _need(data, 6, "status report")
    _put(out, "Device", DEVICE_NAMES.get(data[1]))
    out["Volt"] = _battery(data[3])
    out["Alarm"] = data[4]
    _put(out, "FunctionKeyTrigger", FUNCTION_KEYS.get(data[5]))
    return out


def _config_response(data: bytes) -> dict[str, Any]:
    _need(data, 2, "configuration response")
    out: dict[str, Any] = {}
    command = data[0]
    _put(out, "Cmd", REPORT_CONFIG_COMMANDS.get(command))
    _put(out, "Device", DEVICE_NAMES.get(data[1]))
    if command == CONFIG_REPORT_RSP:
        _need(data, 3, "configuration response")
        out["Status"] = _status(data[2])
    elif command == READ_CONFIG_REPORT_RSP:
        _need(data, 7, "read configuration response")
        out["MinTime"] = int.from_bytes(data[2:4], "big")
        out["MaxTime"] = int.from_bytes(data[4:6], "big")
        out["BatteryChange"] = _number(data[6] / 10)
    return out


def _press_time_response(data: bytes) -> dict[str, Any]:
    _need(data, 1, "button press time response")
    out: dict[str, Any] = {}
    command = data[0]
    _put(out, "Cmd", PRESS_TIME_COMMANDS.get(command))
    if command == SET_PRESS_TIME_RSP:
        _need(data, 2, "button press time response")
        out["Status"] = _status(data[1])
    elif command == GET_PRESS_TIME_RSP:
        _need(data, 2, "button press time response")
        out["PressTime"] = data[1]
    return out


def decode_r312a(data: bytes, f_port: int) -> dict[str, Any]:
    """Decode one R312A uplink into the vendor's object."""
    if f_port == 6:
        return _report(data)
    if f_port == 7:
        return _config_response(data)
    if f_port == 13:
        return _press_time_response(data)
    raise CodecError("unknown FPort")


def _volts(value: Any) -> Any:
    """``Volt`` is a number, or a string like ``"2.9(low battery)"`` when the low flag is set."""
    if isinstance(value, str):
        return value.split("(", 1)[0]
    return value


def measure_r312a(decoded: dict[str, Any]) -> list[Measurement]:
    """Status reports: a pressed button (alarm set) and the battery voltage; other frames: nothing."""
    if "Alarm" not in decoded:
        return []
    alarm = decoded["Alarm"]
    pressed = isinstance(alarm, int) and not isinstance(alarm, bool) and alarm != 0
    return collect(
        measurement("button_press", 1, "alarm") if pressed else None,
        measurement("battery_voltage", _volts(decoded.get("Volt"))),
    )


CODECS: list[Codec] = [
    Codec(
        id="netvox/r312a",
        decode=decode_r312a,
        measure=measure_r312a,
        description="Netvox R312A wireless emergency push button",
    ),
]
