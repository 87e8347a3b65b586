"""Dragino device codecs: ``dragino/lse01`` (soil sensor) and ``dragino/lht65`` (air sensor).

Both report on fPort 2 (any other port is an ``"unknown FPort"`` error); fields are big-endian.

LSE01, soil moisture, temperature and conductivity (11-byte frame, the codec reads ten bytes):

====  =====================================================================
0-1   battery voltage in mV (low 14 bits)
2-3   DS18B20 probe temperature, signed, 0.1 °C
4-5   volumetric water content, 0.01 %
6-7   soil temperature, 0.01 °C; negative values are offset by 0xFFFF (sic)
8-9   soil conductivity, µS/cm
====  =====================================================================

The temperatures and the moisture are strings with fixed decimals (``"24.59"``), as the vendor
codec formats them.

LHT65, temperature and humidity with an optional external probe (exactly 11 bytes):

====  =====================================================================
0-1   battery: status in the top two bits, voltage in mV in the low 14 bits
2-3   SHT temperature, signed, 0.01 °C
4-5   SHT humidity, 0.1 % (low 12 bits)
6     bit 7: external sensor not connected; bit 6: poll reply; low nibble: external sensor type
7-10  external sensor reading, depending on the type
====  =====================================================================

External type 9 ("DS18B20 & timestamp") moves the probe temperature into bytes 0-1 and the
battery status into byte 4; type 15 ("DS18B20ID") replaces the SHT reading with the probe's ID.
The vendor codec returns nothing for poll replies or frames that are not 11 bytes long; we
raise :class:`CodecError` for those.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from a2d.measurements import Measurement, collect, measurement

from ._base import Codec, CodecError
from ._js import int16, int32, to_fixed

DATA_PORT = 2

#: A DS18B20 or SHT reading of 0x7FFF (327.67 °C) means the sensor is absent.
NO_SENSOR_TEMPERATURE = 327.67


def _number(x: float) -> int | float:
    """A JS number as JSON would print it: integral values become ``int``."""
    return int(x) if x.is_integer() else x


def _u16(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 2], "big")


def _battery_volts(data: bytes) -> int | float:
    return _number((_u16(data, 0) & 0x3FFF) / 1000)


# --- LSE01 -----------------------------------------------------------------------------------

LSE01_BYTES_READ = 10


def _soil_temperature(raw: int) -> str:
    # The sensor's negative values are taken as raw - 0xFFFF, one off from two's complement;
    # the vendor codec does it that way and its output is what we reproduce.
    value = raw - 0xFFFF if raw & 0x8000 else raw
    return to_fixed(value / 100, 2)


def decode_lse01(data: bytes, f_port: int) -> dict[str, Any]:
    """Decode one LSE01 uplink into the vendor's object."""
    if f_port != DATA_PORT:
        raise CodecError("unknown FPort")
    if len(data) < LSE01_BYTES_READ:
        raise CodecError(f"truncated LSE01 frame: need {LSE01_BYTES_READ} bytes, got {len(data)}")
    return {
        "Bat": _battery_volts(data),
        "TempC_DS18B20": to_fixed(int16(_u16(data, 2)) / 10, 1),
        "water_SOIL": to_fixed(_u16(data, 4) / 100, 2),
        "temp_SOIL": _soil_temperature(_u16(data, 6)),
        "conduct_SOIL": _u16(data, 8),
    }


def measure_lse01(decoded: dict[str, Any]) -> list[Measurement]:
    """Soil moisture (already %), soil temperature, conductivity and battery voltage."""
    return collect(
        measurement("soil_moisture", decoded.get("water_SOIL")),
        measurement("soil_temperature", decoded.get("temp_SOIL")),
        measurement("conductivity", decoded.get("conduct_SOIL")),
        measurement("battery_voltage", decoded.get("Bat")),
    )


# --- LHT65 -----------------------------------------------------------------------------------

LHT65_FRAME_LENGTH = 11

EXT_NONE = 0
EXT_TEMPERATURE = 1
EXT_INTERRUPT = 4
EXT_ILLUMINATION = 5
EXT_ADC = 6
EXT_COUNT_16 = 7
EXT_COUNT_32 = 8
EXT_DS18B20_TIMESTAMP = 9
EXT_DS18B20_ID = 15


def _centidegrees(data: bytes, offset: int) -> int | float:
    """A signed 0.01 °C reading, rounded to two decimals and back to a number."""
    return _number(float(to_fixed(int16(_u16(data, offset)) / 100, 2)))


def _u32_signed(data: bytes, offset: int) -> int:
    return int32(int.from_bytes(data[offset : offset + 4], "big"))


def _probe_temperature(data: bytes) -> dict[str, Any]:
    return {"Ext_sensor": "Temperature Sensor", "TempC_DS": _centidegrees(data, 7)}


def _interrupt(data: bytes) -> dict[str, Any]:
    return {
        "Work_mode": "Interrupt Sensor send",
        "Exti_pin_level": "High" if data[7] else "Low",
        "Exti_status": "True" if data[8] else "False",
    }


def _illumination(data: bytes) -> dict[str, Any]:
    return {"Work_mode": "Illumination Sensor", "ILL_lx": _u16(data, 7)}


def _adc(data: bytes) -> dict[str, Any]:
    return {"Work_mode": "ADC Sensor", "ADC_V": _number(_u16(data, 7) / 1000)}


def _count_16(data: bytes) -> dict[str, Any]:
    return {"Work_mode": "Interrupt Sensor count", "Exit_count": _u16(data, 7)}


def _count_32(data: bytes) -> dict[str, Any]:
    return {"Work_mode": "Interrupt Sensor count", "Exit_count": _u32_signed(data, 7)}


def _timestamp(data: bytes) -> dict[str, Any]:
    return {"Work_mode": "DS18B20 & timestamp", "Systimestamp": _u32_signed(data, 7)}


def _probe_id(data: bytes) -> dict[str, Any]:
    id_bytes = data[2:6] + data[7:11]
    return {"Work_mode": "DS18B20ID", "ID": "".join(f"{b:02x} " for b in id_bytes)}


EXTERNAL_SENSORS: dict[int, Callable[[bytes], dict[str, Any]]] = {
    EXT_NONE: lambda _data: {"Ext_sensor": "No external sensor"},
    EXT_TEMPERATURE: _probe_temperature,
    EXT_INTERRUPT: _interrupt,
    EXT_ILLUMINATION: _illumination,
    EXT_ADC: _adc,
    EXT_COUNT_16: _count_16,
    EXT_COUNT_32: _count_32,
    EXT_DS18B20_TIMESTAMP: _timestamp,
    EXT_DS18B20_ID: _probe_id,
}


def decode_lht65(data: bytes, f_port: int) -> dict[str, Any]:
    """Decode one LHT65 uplink into the vendor's object."""
    if f_port != DATA_PORT:
        raise CodecError("unknown FPort")
    if len(data) != LHT65_FRAME_LENGTH:
        raise CodecError(f"LHT65 frame must be {LHT65_FRAME_LENGTH} bytes, got {len(data)}")
    if data[6] & 0x40:
        raise CodecError("LHT65 poll reply: the vendor codec decodes no data for it")
    ext = data[6] & 0x0F
    out: dict[str, Any] = {}
    if ext == EXT_DS18B20_TIMESTAMP:
        out["TempC_DS"] = _centidegrees(data, 0)
        out["Bat_status"] = data[4] >> 6
    else:
        out["BatV"] = _battery_volts(data)
        out["Bat_status"] = data[0] >> 6
    if ext != EXT_DS18B20_ID:
        out["TempC_SHT"] = _centidegrees(data, 2)
        out["Hum_SHT"] = _number(float(to_fixed((_u16(data, 4) & 0x0FFF) / 10, 1)))
    if data[6] & 0x80:
        out["No_connect"] = "Sensor no connection"
    external = EXTERNAL_SENSORS.get(ext)
    if external is not None:
        out.update(external(data))
    return out


def _temperature(value: Any) -> Any:
    return None if value == NO_SENSOR_TEMPERATURE else value


def measure_lht65(decoded: dict[str, Any]) -> list[Measurement]:
    """SHT air temperature and humidity, the external probe as air temperature, battery voltage."""
    probe = None if "No_connect" in decoded else _temperature(decoded.get("TempC_DS"))
    return collect(
        measurement("air_temperature", _temperature(decoded.get("TempC_SHT"))),
        measurement("humidity", decoded.get("Hum_SHT")),
        measurement("air_temperature", probe, "external"),
        measurement("battery_voltage", decoded.get("BatV")),
    )


CODECS: list[Codec] = [
    Codec(
        id="dragino/lse01",
        decode=decode_lse01,
        measure=measure_lse01,
        models=("dragino/lse01-abp",),
        description="Dragino LSE01 soil moisture, temperature and EC sensor",
    ),
    Codec(
        id="dragino/lht65",
        decode=decode_lht65,
        measure=measure_lht65,
        models=("dragino/lht65-abp",),
        description="Dragino LHT65 temperature and humidity sensor with external probe",
    ),
]
