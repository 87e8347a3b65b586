"""IMBuildings shared codec (TTN ``imbuildings-codec``): people counter, comfort sensor, buttons.

One codec file serves every IMBuildings device. A frame normally starts with a header:

* byte 0: payload type (1 comfort sensor, 2 people counter, 3 button / Moodbox, 4 pulse counter);
* byte 1: payload variant;
* bytes 2-7: device id (NB-IoT variants) or bytes 2-9 (LoRaWAN variants, 8-byte DevEUI);
* NB-IoT variants then carry device status (byte 8, not for the comfort sensor), battery voltage
  in centivolts (bytes 9-10) and RSSI (signed byte 11); LoRaWAN variants carry device status
  (byte 10) and battery centivolts (bytes 11-12).

Measurements sit at fixed offsets from the end of the frame. Each variant has one exact frame
length; a frame of another length decodes to ``{}``, as does an unknown type or variant.

People counters may also send without the header: fPort 26 carries the body of type 2 variant 6
(13 bytes: status, battery, period counters A/B, sensor status, total counters A/B, frame counter)
and fPort 27 the body of variant 7 (sensor status and total counters).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from a2d.measurements import Measurement, collect, measurement

from ._base import Codec, CodecError
from ._js import int16

COMFORT_SENSOR = 1
PEOPLE_COUNTER = 2
BUTTON = 3
PULSE_COUNTER = 4

#: the short (NB-IoT) header: type, variant, 6-byte id, status, battery, RSSI
SHORT_HEADER_LENGTH = 8

#: exact frame lengths of the NB-IoT comfort sensor variants that report the climate
COMFORT_CLIMATE_LENGTHS = {1: 19, 2: 25}
#: exact frame lengths of the NB-IoT people counter variants with 16-bit counters
PEOPLE_WIDE_COUNTER_LENGTHS = {3: 17, 4: 24}


class Frame:
    """Bounds-checked big-endian reads; a negative offset counts from the end of the frame."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    def _index(self, offset: int, size: int) -> int:
        start = offset + len(self.data) if offset < 0 else offset
        if start < 0 or start + size > len(self.data):
            raise CodecError(f"frame too short: {len(self.data)} bytes")
        return start

    def u8(self, offset: int) -> int:
        return self.data[self._index(offset, 1)]

    def s8(self, offset: int) -> int:
        value = self.u8(offset)
        return value - 0x100 if value & 0x80 else value

    def u16(self, offset: int) -> int:
        start = self._index(offset, 2)
        return int.from_bytes(self.data[start : start + 2], "big")

    def s16(self, offset: int) -> int:
        return int16(self.u16(offset))

    def hex(self, offset: int, count: int) -> str:
        start = self._index(offset, count)
        return self.data[start : start + count].hex()

    def centi(self, offset: int) -> float:
        """An unsigned 16-bit value in hundredths (centivolts, hundredths of a percent)."""
        return self.u16(offset) / 100


def _identity(f: Frame, device_type: str, id_length: int) -> dict[str, Any]:
    return {
        "device_type_identifier": f.u8(0),
        "device_type": device_type,
        "device_type_variant": f.u8(1),
        "device_id": f.hex(2, id_length),
    }


def _short_header(f: Frame, device_type: str, *, with_status: bool = True) -> dict[str, Any]:
    """Identity, status, battery and RSSI as NB-IoT variants send them."""
    out = _identity(f, device_type, 6)
    if with_status:
        out["device_status"] = f.u8(8)
    out["battery_voltage"] = f.centi(9)
    out["rssi"] = f.s8(11)
    return out


def _lorawan_header(f: Frame, device_type: str) -> dict[str, Any]:
    """Identity with the 8-byte DevEUI, then status and battery (no RSSI)."""
    out = _identity(f, device_type, 8)
    out["device_status"] = f.u8(10)
    out["battery_voltage"] = f.centi(11)
    return out


# --- comfort sensor (type 1) ---------------------------------------------------------------------


def _climate(f: Frame, *, signed_temperature: bool) -> dict[str, Any]:
    """The last seven bytes: temperature, humidity (both centi-units), CO2 ppm, presence."""
    temperature = f.s16(-7) if signed_temperature else f.u16(-7)
    return {
        "temperature": temperature / 100,
        "humidity": f.centi(-5),
        "presence": f.u8(-1),
        "co2": f.u16(-3),
    }


def _comfort_sensor(f: Frame) -> dict[str, Any]:
    device_type = "Comfort Sensor CO2"
    variant, length = f.u8(1), len(f)
    if length == COMFORT_CLIMATE_LENGTHS.get(variant):
        return _short_header(f, device_type, with_status=False) | _climate(f, signed_temperature=True)
    if variant == 3 and length == 20:
        out = _identity(f, device_type, 8)
        out["battery_voltage"] = f.centi(11)
        out["device_status"] = f.u8(10)
        return out | _climate(f, signed_temperature=False)
    if variant == 4 and length == 18:
        return _short_header(f, device_type, with_status=False) | {
            "min_temperature": f.s16(-6) / 100,
            "max_temperature": f.u16(-4) / 100,
            "current_temperature": f.u16(-2) / 100,
        }
    if variant == 5 and length == 13:
        return _short_header(f, device_type, with_status=False) | {"presence_event": f.u8(12)}
    return {}


# --- people counter (type 2) ---------------------------------------------------------------------


def _counts_since_last(f: Frame) -> dict[str, Any]:
    """Variant 6 body (last 13 bytes)."""
    return {
        "device_status": f.u8(-13),
        "battery_voltage": f.centi(-12),
        "counter_a": f.u16(-10),
        "counter_b": f.u16(-8),
        "sensor_status": f.u8(-6),
        "total_counter_a": f.u16(-5),
        "total_counter_b": f.u16(-3),
        "payload_counter": f.u8(-1),
    }


def _totals(f: Frame) -> dict[str, Any]:
    """Variant 7 body (last 5 bytes)."""
    return {
        "sensor_status": f.u8(-5),
        "total_counter_a": f.u16(-4),
        "total_counter_b": f.u16(-2),
    }


def _people_counter(f: Frame) -> dict[str, Any]:
    device_type = "People Counter"
    variant, length = f.u8(1), len(f)
    if variant == 2 and length == 15:
        return _short_header(f, device_type) | {
            "counter_a": f.u8(-3),
            "counter_b": f.u8(-2),
            "sensor_status": f.u8(-1),
        }
    if length == PEOPLE_WIDE_COUNTER_LENGTHS.get(variant):
        return _short_header(f, device_type) | {
            "counter_a": f.u16(-5),
            "counter_b": f.u16(-3),
            "sensor_status": f.u8(-1),
        }
    if variant == 5 and length == 19:
        return _lorawan_header(f, device_type) | {
            "counter_a": f.u16(-6),
            "counter_b": f.u16(-4),
            "sensor_status": f.u8(-2),
            "payload_counter": f.u8(-1),
        }
    if variant == 6 and length == 23:
        return _identity(f, device_type, 8) | _counts_since_last(f)
    if variant == 7:
        # No length check in the vendor codec: status and battery come from bytes 10-12
        # whatever the frame length, the totals from its last five bytes.
        return _lorawan_header(f, device_type) | _totals(f)
    return {}


# --- button / Moodbox (type 3) and pulse counter (type 4) ---------------------------------------


def _button(f: Frame) -> dict[str, Any]:
    variant, length = f.u8(1), len(f)
    if variant in (1, 3) and length == 13:
        pressed = f.u8(12)
    elif variant == 2 and length == 20:
        pressed = f.u8(19)
    else:
        return {}
    return _short_header(f, "Button") | {"button_pressed": pressed & 0x01}


def _pulse_counter(f: Frame) -> dict[str, Any]:
    if f.u8(1) != 1 or len(f) != 20:
        return {}
    return _short_header(f, "Counter") | {"counter": f.u8(19)}


Parser = Callable[[Frame], dict[str, Any]]

#: header-less people counter frames: fPort -> body of payload type 2 variant 6 or 7
HEADERLESS_BODIES: dict[int, Parser] = {26: _counts_since_last, 27: _totals}

PARSERS: dict[int, Parser] = {
    COMFORT_SENSOR: _comfort_sensor,
    PEOPLE_COUNTER: _people_counter,
    BUTTON: _button,
    PULSE_COUNTER: _pulse_counter,
}


def decode(data: bytes, f_port: int) -> dict[str, Any]:
    f = Frame(data)
    body = HEADERLESS_BODIES.get(f_port)
    if body is not None:
        return body(f)
    parser = PARSERS.get(data[0]) if data else None
    if parser is None:
        return {}
    if len(f) < SHORT_HEADER_LENGTH:
        raise CodecError(f"frame too short for an IMBuildings header: {len(f)} bytes")
    return parser(f)


def measure(decoded: dict[str, Any]) -> list[Measurement]:
    """Counters A/B are people in/out; the comfort sensor's temperature is air temperature."""
    pressed = decoded.get("button_pressed")
    return collect(
        measurement("people_in", decoded.get("counter_a")),
        measurement("people_out", decoded.get("counter_b")),
        measurement("people_in_total", decoded.get("total_counter_a")),
        measurement("people_out_total", decoded.get("total_counter_b")),
        measurement("air_temperature", decoded.get("temperature", decoded.get("current_temperature"))),
        measurement("humidity", decoded.get("humidity")),
        measurement("button_press", 1, "button") if pressed == 1 else None,
        measurement("pulse_count", decoded.get("counter")),
        measurement("battery_voltage", decoded.get("battery_voltage")),
    )


CODECS: list[Codec] = [
    Codec(
        id="imbuildings/people-counter",
        decode=decode,
        measure=measure,
        models=(
            "imbuildings/imbuildings-people-counter",
            "imbuildings/imbuildings-office-occupancy-counter",
            "imbuildings/imbuildings-comfort-sensor",
            "imbuildings/imbuildings-moodbox",
            "imbuildings/comfort-sensor",
        ),
        description="IMBuildings shared codec: people counters, comfort sensor, Moodbox buttons",
    ),
]
