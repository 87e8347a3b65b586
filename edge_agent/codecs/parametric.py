"""Parametric PCR2 radar people counter (TTN ``pcr2-codec``; PCR2-IN, PCR2-OD, PCR2-ODS).

fPort 14 carries counts, in one of three formats told apart by their first bytes:

* ``0a ...``: ELSYS-style records, each a type byte and a big-endian 16-bit value: ``0x0a``
  left-to-right count (LTR), ``0x16`` right-to-left count (RTL), ``0x01`` CPU temperature
  (signed tenths of a degree, floored to whole degrees). An unknown type ends the frame.
* ``be 01 03`` (16 bytes) / ``be 01 04`` (17 bytes): extended counts. 16-bit LTR, RTL and their
  running sums since power-up, the SBX solar charger's battery (one byte, a gauge, in v3; a
  16-bit voltage in v4), its PV power in mW, and the CPU temperature. ``DIFF`` is computed as
  ``|LTR_SUM - RTL_SUM|``.
* ``00 66``: Cayenne LPP, which the vendor codec leaves undecoded (``{}``).

fPort 190 carries the device configuration, its version given by the frame length: 14 bytes (v2,
no header), 20 (v3, ``be 01 03``), 31 (v4, ``be 01 04``) or 34 (v5, ``be 01 05``). Versions are
three bytes rendered ``"major.minor.patch"``.

A frame of a known format with the wrong length or header decodes to ``{}``, as does any other
fPort; a frame matching no format at all is an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from a2d.measurements import Measurement, collect, measurement

from ._base import Codec, CodecError
from ._js import int16

APPLICATION_PORT = 14
CONFIG_PORT = 190

Reader = Callable[[bytes, int], int | str]
Field = tuple[str, int, Reader]


def _u8(data: bytes, at: int) -> int:
    return data[at]


def _u16(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 2], "big")


def _version(data: bytes, at: int) -> str:
    return ".".join(str(b) for b in data[at : at + 3])


def _celsius(raw: int) -> int:
    """CPU temperature: signed tenths of a degree, floored to whole degrees."""
    return int16(raw) // 10


# --- fPort 14: counts --------------------------------------------------------------------------

#: ELSYS record type -> (key, value conversion)
ELSYS_RECORDS: dict[int, tuple[str, Callable[[int], int]]] = {
    0x01: ("TEMP", _celsius),
    0x0A: ("LTR", int),
    0x16: ("RTL", int),
}


def _elsys(data: bytes) -> dict[str, Any]:
    out: dict[str, Any] = {}
    pos = 0
    while pos < len(data) and data[pos] in ELSYS_RECORDS:
        key, convert = ELSYS_RECORDS[data[pos]]
        if pos + 3 > len(data):
            raise CodecError(f"ELSYS record 0x{data[pos]:02x} truncated at byte {pos}")
        out[key] = convert(_u16(data, pos + 1))
        pos += 3
    return out


def _extended(data: bytes, battery_width: int) -> dict[str, Any]:
    """Extended counts; v3 sends a one-byte battery gauge, v4 a 16-bit battery voltage."""
    ltr, rtl, ltr_sum, rtl_sum = (_u16(data, at) for at in (3, 5, 7, 9))
    battery = _u8(data, 11) if battery_width == 1 else _u16(data, 11)
    pv_at = 11 + battery_width
    return {
        "LTR": ltr,
        "RTL": rtl,
        "LTR_SUM": ltr_sum,
        "RTL_SUM": rtl_sum,
        "SBX_BATT": battery,
        "SBX_PV": _u16(data, pv_at),
        "DIFF": abs(ltr_sum - rtl_sum),
        "TEMP": _celsius(_u16(data, pv_at + 2)),
    }


#: extended header -> (frame length, battery width in bytes)
EXTENDED_FORMATS: dict[bytes, tuple[int, int]] = {
    b"\xbe\x01\x03": (16, 1),
    b"\xbe\x01\x04": (17, 2),
}
LPP_HEADER = b"\x00\x66"


def _application(data: bytes) -> dict[str, Any]:
    if data[:1] == b"\x0a":
        return _elsys(data)
    if data[:2] == LPP_HEADER:
        return {}
    extended = EXTENDED_FORMATS.get(data[:3])
    if extended is None:
        raise CodecError("no decoder for application payload")
    length, battery_width = extended
    return _extended(data, battery_width) if len(data) == length else {}


# --- fPort 190: configuration ------------------------------------------------------------------

#: frame length -> (required header, fields as (key, offset, reader))
CONFIG_FORMATS: dict[int, tuple[bytes, tuple[Field, ...]]] = {
    14: (
        b"",
        (
            ("DeviceType", 0, _u8),
            ("FirmwareVersion", 1, _version),
            ("OperatingMode", 4, _u8),
            ("PayloadType", 5, _u8),
            ("UplinkType", 6, _u8),
            ("UplinkInterval", 7, _u16),
            ("LinkCheckInterval", 9, _u16),
            ("HoldoffTime", 11, _u16),
            ("RadarSensitivity", 13, _u8),
        ),
    ),
    20: (
        b"\xbe\x01\x03",
        (
            ("DeviceType", 3, _u8),
            ("FirmwareVersion", 4, _version),
            ("OperatingMode", 7, _u8),
            ("PayloadType", 8, _u8),
            ("DeviceClass", 9, _u8),
            ("UplinkType", 10, _u8),
            ("UplinkInterval", 11, _u16),
            ("LinkCheckInterval", 13, _u16),
            ("CapacityLimit", 15, _u16),
            ("HoldoffTime", 17, _u16),
            ("RadarSensitivity", 19, _u8),
        ),
    ),
    31: (
        b"\xbe\x01\x04",
        (
            ("DeviceType", 3, _u8),
            ("FirmwareVersion", 4, _version),
            ("OperatingMode", 7, _u8),
            ("PayloadType", 8, _u8),
            ("DeviceClass", 9, _u8),
            ("UplinkType", 10, _u8),
            ("UplinkInterval", 11, _u16),
            ("LinkCheckInterval", 13, _u16),
            ("CapacityLimit", 15, _u16),
            ("HoldoffTime", 17, _u16),
            ("InactivityTimeout", 19, _u16),
            ("MountingDirection", 21, _u8),
            ("MountingTilt", 22, _u8),
            ("DetectionAngle", 23, _u8),
            ("MinDist", 24, _u16),
            ("MaxDist", 26, _u16),
            ("MinSpeed", 28, _u8),
            ("MaxSpeed", 29, _u8),
            ("RadarSensitivity", 30, _u8),
        ),
    ),
    34: (
        b"\xbe\x01\x05",
        (
            ("DeviceType", 3, _u8),
            ("Firmware", 4, _version),
            ("OperationMode", 7, _u8),
            ("PayloadType", 8, _u8),
            ("DeviceClass", 9, _u8),
            ("UplinkType", 10, _u8),
            ("UplinkInterval", 11, _u16),
            ("LinkCheckInterval", 13, _u16),
            ("CapacityLimit", 15, _u16),
            ("HoldoffTime", 17, _u16),
            ("InactivityTimeout", 19, _u16),
            ("RadarEnabled", 21, _u8),
            ("BeamAngle", 22, _u8),
            ("MinDist", 23, _u16),
            ("MaxDist", 25, _u16),
            ("MinSpeed", 27, _u8),
            ("MaxSpeed", 28, _u8),
            ("RadarAutotune", 29, _u8),
            ("RadarSensitivity", 30, _u8),
            ("SBXVersion", 31, _version),
        ),
    ),
}


def _config(data: bytes) -> dict[str, Any]:
    try:
        header, fields = CONFIG_FORMATS[len(data)]
    except KeyError:
        raise CodecError(f"no decoder for config payload of {len(data)} bytes") from None
    if not data.startswith(header):
        return {}
    return {key: read(data, at) for key, at, read in fields}


def decode(data: bytes, f_port: int) -> dict[str, Any]:
    if f_port == APPLICATION_PORT:
        return _application(data)
    if f_port == CONFIG_PORT:
        return _config(data)
    return {}


#: SBX_BATT is a 0-100 % gauge in v3 frames but a voltage in v4 frames, and the decoded
#: object does not say which; a percentage is taken only where the value can be one.
MAX_BATTERY_PERCENT = 100


def measure(decoded: dict[str, Any]) -> list[Measurement]:
    """LTR is people in, RTL people out; TEMP is the sensor's internal temperature."""
    battery = decoded.get("SBX_BATT")
    is_percent = isinstance(battery, int) and 0 < battery <= MAX_BATTERY_PERCENT
    return collect(
        measurement("people_in", decoded.get("LTR")),
        measurement("people_out", decoded.get("RTL")),
        measurement("people_in_total", decoded.get("LTR_SUM")),
        measurement("people_out_total", decoded.get("RTL_SUM")),
        measurement("air_temperature", decoded.get("TEMP")),
        measurement("battery", battery) if is_percent else None,
    )


CODECS: list[Codec] = [
    Codec(
        id="parametric/pcr2",
        decode=decode,
        measure=measure,
        models=("parametric/pcr2-id", "parametric/pcr2-od", "parametric/pcr2-ods"),
        description="Parametric PCR2 radar people counter",
    ),
]
