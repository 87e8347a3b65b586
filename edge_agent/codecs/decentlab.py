"""Decentlab DL-series codecs: ``decentlab/dl-5tm``, ``decentlab/dl-smtp``, ``decentlab/dl-trs12``.

All Decentlab uplinks share one frame layout (fPort does not matter):

* byte 0: protocol version, always 2;
* bytes 1-2: device id, big-endian;
* bytes 3-4: flags, big-endian; bit *i* set means sensor group *i* of the device is present;
* then, for every present group in table order, that group's big-endian 16-bit words.

Each device differs only in its table of sensor groups: how many words a group carries and the
formula that turns those words into each named reading. The battery group always comes last.
A reading is reported as ``{"displayName": ..., "value": ..., "unit": ...}``, ``unit`` only where
the vendor names one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from a2d.measurements import Measurement, collect, measurement

from ._base import Codec, CodecError, DecodeFn

PROTOCOL_VERSION = 2
HEADER_LENGTH = 5

Words = tuple[int, ...]


@dataclass(frozen=True)
class Reading:
    """One named value computed from the words of its sensor group."""

    name: str
    display_name: str
    convert: Callable[[Words], float]
    unit: str | None = None


@dataclass(frozen=True)
class SensorGroup:
    """A block of ``words`` 16-bit words, present when its flag bit is set."""

    words: int
    readings: tuple[Reading, ...]


BATTERY = SensorGroup(1, (Reading("battery_voltage", "Battery voltage", lambda x: x[0] / 1000, "V"),))

VWC_UNIT = "m³⋅m⁻³"


def _word(data: bytes, pos: int) -> int:
    if pos + 2 > len(data):
        raise CodecError(f"frame truncated: needs at least {pos + 2} bytes, got {len(data)}")
    return int.from_bytes(data[pos : pos + 2], "big")


def decode_frame(groups: tuple[SensorGroup, ...], data: bytes) -> dict[str, Any]:
    """Decode one Decentlab v2 frame against a device's table of sensor groups."""
    if not data or data[0] != PROTOCOL_VERSION:
        version = str(data[0]) if data else "undefined"
        raise CodecError(f"protocol version {version} doesn't match v2")
    result: dict[str, Any] = {"protocol_version": data[0], "device_id": _word(data, 1)}
    flags = _word(data, 3)
    pos = HEADER_LENGTH
    for bit, group in enumerate(groups):
        if not flags >> bit & 1:
            continue
        words = tuple(_word(data, pos + 2 * k) for k in range(group.words))
        pos += 2 * group.words
        for reading in group.readings:
            entry: dict[str, Any] = {"displayName": reading.display_name, "value": reading.convert(words)}
            if reading.unit is not None:
                entry["unit"] = reading.unit
            result[reading.name] = entry
    return result


def _decoder(groups: tuple[SensorGroup, ...]) -> DecodeFn:
    def decode(data: bytes, f_port: int) -> dict[str, Any]:
        return decode_frame(groups, data)

    return decode


def _value(decoded: dict[str, Any], name: str) -> Any:
    """The ``value`` of reading ``name``, or ``None`` when the frame did not carry it."""
    entry = decoded.get(name)
    return entry.get("value") if isinstance(entry, dict) else None


def _percent(fraction: Any) -> Any:
    return fraction * 100 if isinstance(fraction, int | float) else None


# --- DL-5TM: legacy soil moisture (raw permittivity word) and temperature ---------------------


def _5tm_vwc(x: Words) -> float:
    eps = x[0] / 50
    return 0.0000043 * eps**3 - 0.00055 * eps**2 + 0.0292 * eps - 0.053


DL_5TM = (
    SensorGroup(
        2,
        (
            Reading("dielectric_permittivity", "Dielectric permittivity", lambda x: x[0] / 50),
            Reading("volumetric_water_content", "Volumetric water content", _5tm_vwc, VWC_UNIT),
            Reading("soil_temperature", "Soil temperature", lambda x: (x[1] - 400) / 10, "°C"),
        ),
    ),
    BATTERY,
)


def measure_5tm(decoded: dict[str, Any]) -> list[Measurement]:
    return collect(
        measurement("soil_moisture", _percent(_value(decoded, "volumetric_water_content"))),
        measurement("soil_temperature", _value(decoded, "soil_temperature")),
        measurement("battery_voltage", _value(decoded, "battery_voltage")),
    )


# --- DL-SMTP: moisture and temperature profile, eight depths -----------------------------------

SMTP_DEPTHS = 8
#: what a depth reports when no sensor answers there (raw word 0)
SMTP_NO_MOISTURE = -5.0
SMTP_NO_TEMPERATURE = -327.68


def _depth_readings(depth: int) -> tuple[Reading, Reading]:
    moisture_word, temperature_word = 2 * depth, 2 * depth + 1
    return (
        Reading(
            f"soil_moisture_at_depth_{depth}",
            f"Soil moisture at depth {depth}",
            lambda x: (x[moisture_word] - 2500) / 500,
        ),
        Reading(
            f"soil_temperature_at_depth_{depth}",
            f"Soil temperature at depth {depth}",
            lambda x: (x[temperature_word] - 32768) / 100,
            "°C",
        ),
    )


DL_SMTP = (
    SensorGroup(
        2 * SMTP_DEPTHS,
        tuple(reading for depth in range(SMTP_DEPTHS) for reading in _depth_readings(depth)),
    ),
    BATTERY,
)


def measure_smtp(decoded: dict[str, Any]) -> list[Measurement]:
    """Moisture is the probe's volumetric reading in percent already; dead depths are skipped."""
    found: list[Measurement | None] = []
    for depth in range(SMTP_DEPTHS):
        channel = f"depth_{depth}"
        moisture = _value(decoded, f"soil_moisture_at_depth_{depth}")
        temperature = _value(decoded, f"soil_temperature_at_depth_{depth}")
        if moisture != SMTP_NO_MOISTURE:
            found.append(measurement("soil_moisture", moisture, channel))
        if temperature != SMTP_NO_TEMPERATURE:
            found.append(measurement("soil_temperature", temperature, channel))
    found.append(measurement("battery_voltage", _value(decoded, "battery_voltage")))
    return collect(*found)


# --- DL-TRS12: soil moisture, temperature and electrical conductivity --------------------------


def _trs12_permittivity(x: Words) -> float:
    raw = x[0] / 10
    return (0.000000002887 * raw**3 - 0.0000208 * raw**2 + 0.05276 * raw - 43.39) ** 2


DL_TRS12 = (
    SensorGroup(
        3,
        (
            Reading("dielectric_permittivity", "Dielectric permittivity", _trs12_permittivity),
            Reading(
                "volumetric_water_content",
                "Volumetric water content",
                lambda x: x[0] / 10 * 0.0003879 - 0.6956,
                VWC_UNIT,
            ),
            Reading("soil_temperature", "Soil temperature", lambda x: (x[1] - 32768) / 10, "°C"),
            Reading("electrical_conductivity", "Electrical conductivity", lambda x: x[2], "µS⋅cm⁻¹"),
        ),
    ),
    BATTERY,
)


def measure_trs12(decoded: dict[str, Any]) -> list[Measurement]:
    """One probe, so no channel; µS⋅cm⁻¹ is our µS/cm."""
    return collect(
        measurement("soil_moisture", _percent(_value(decoded, "volumetric_water_content"))),
        measurement("soil_temperature", _value(decoded, "soil_temperature")),
        measurement("conductivity", _value(decoded, "electrical_conductivity")),
        measurement("battery_voltage", _value(decoded, "battery_voltage")),
    )


CODECS: list[Codec] = [
    Codec(
        id="decentlab/dl-5tm",
        decode=_decoder(DL_5TM),
        measure=measure_5tm,
        description="Decentlab DL-5TM soil moisture and temperature",
    ),
    Codec(
        id="decentlab/dl-smtp",
        decode=_decoder(DL_SMTP),
        measure=measure_smtp,
        description="Decentlab DL-SMTP soil moisture and temperature profile (8 depths)",
    ),
    Codec(
        id="decentlab/dl-trs12",
        decode=_decoder(DL_TRS12),
        measure=measure_trs12,
        description="Decentlab DL-TRS12 soil moisture, temperature and electrical conductivity",
    ),
]
