"""Milesight IoT device codecs (TTN device repository vendor ``milesight-iot``).

Every Milesight uplink is a run of records, each one

    channel id (1 byte) | channel type (1 byte) | value (width fixed by the pair)

with multi-byte integers little-endian unless noted. A codec is a table from the
``(channel id, channel type)`` pair to a small handler that reads the value, stores it under the
vendor's key and says how far to move on. The first pair a codec does not know ends the walk and
the fields read so far are the result, as in the vendor decoders.

A record whose value runs past the end of the frame raises :class:`CodecError`; the vendor
scripts would put ``undefined`` or a half-read number into their output there. Bytes the vendor
scripts skip without reading (the WS156 button record announces three bytes but only the first
one is used) need not be present.

Codecs here (all ignore the fPort, like the vendor scripts):

``ws101``     smart button: ``01 75`` battery %, ``ff 2e`` press type 1/2/3 → short/long/double.
``ws156``     scene panel: ``01 75`` battery %, ``ff 34`` button number (record of three bytes).
``vs133``     ToF line-crossing counter: for line *n* (1–4) channel ``3n`` / ``3n+1`` with type
              ``d2`` carry the running in / out totals (u32), channel ``3n+2`` type ``cc`` the
              in / out counts of the last period (two u16).
``vs121``     workplace occupancy: ``04 c9`` people count (u8), region count (u8), region word
              (u16 big-endian).
``ws52x``     smart socket: ``03 74`` voltage (u16, 0.1 V), ``05 81`` power factor (u8, reported
              as ``power``), ``06 83`` energy (32 bits, Wh), ``07 c9`` current (u16, mA),
              ``08 70`` relay state.
``ct101``     current transformer: device information and configuration replies on channels
              ``ff`` / ``fe``, ``03 97`` cumulative current (u32, 0.01 Ah), ``04 98`` current
              (u16, 0.01 A), ``09 67`` temperature (s16, 0.1 °C), alarm records ``84 98`` and
              ``89 67``.
``em300-th``  ``01 75`` battery %, ``03 67`` temperature (s16, 0.1 °C), ``04 68`` humidity
              (u8, 0.5 %).
``em300-di``  as em300-th plus ``05 00`` digital input level, ``05 c8`` pulse counter (u32) and
              ``20 ce`` history records (timestamp, temperature, humidity, mode, then the input
              level or the pulse counter).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from a2d.measurements import Measurement, collect, measurement

from ._base import Codec, CodecError
from ._js import int32

Decoded = dict[str, Any]
#: Reads one record's value starting at the given offset into the decoded object; returns how
#: many bytes the record's value occupies, or ``None`` to stop decoding there.
Handler = Callable[[bytes, int, Decoded], int | None]
Pair = tuple[int, int | None]
Table = Mapping[Pair, Handler]

# --------------------------------------------------------------------------------------------
# Byte readers (each raises CodecError instead of reading past the end of the frame)


def _span(data: bytes, at: int, size: int) -> bytes:
    if at + size > len(data):
        raise CodecError(
            f"truncated frame: {size} byte(s) needed at offset {at}, but the frame has {len(data)}"
        )
    return data[at : at + size]


def _u8(data: bytes, at: int) -> int:
    return _span(data, at, 1)[0]


def _u16le(data: bytes, at: int) -> int:
    return int.from_bytes(_span(data, at, 2), "little")


def _s16le(data: bytes, at: int) -> int:
    return int.from_bytes(_span(data, at, 2), "little", signed=True)


def _u16be(data: bytes, at: int) -> int:
    return int.from_bytes(_span(data, at, 2), "big")


def _u32le(data: bytes, at: int) -> int:
    return int.from_bytes(_span(data, at, 4), "little")


def _number(x: float) -> int | float:
    """A JavaScript number as JSON would print it: integral values without a fraction."""
    return int(x) if x.is_integer() else x


def _scaled(raw: int, divisor: int) -> int | float:
    return _number(raw / divisor)


# --------------------------------------------------------------------------------------------
# The record walk shared by all codecs


def _walk(data: bytes, table: Table, on_unknown: Callable[[Pair], None] | None = None) -> Decoded:
    """Decode the records of ``data`` with ``table`` until the frame or the known pairs end.

    ``on_unknown`` is called with a pair the table lacks before the walk stops; it may raise.
    """
    decoded: Decoded = {}
    pos = 0
    while pos < len(data):
        pair: Pair = (data[pos], data[pos + 1] if pos + 1 < len(data) else None)
        pos += 2
        handler = table.get(pair)
        if handler is None:
            if on_unknown is not None:
                on_unknown(pair)
            break
        width = handler(data, pos, decoded)
        if width is None:
            break
        pos += width
    return decoded


def _uint8_field(key: str) -> Handler:
    def read(data: bytes, at: int, out: Decoded) -> int:
        out[key] = _u8(data, at)
        return 1

    return read


def _temperature_field(key: str) -> Handler:
    """Signed 16-bit value in tenths of a degree."""

    def read(data: bytes, at: int, out: Decoded) -> int:
        out[key] = _scaled(_s16le(data, at), 10)
        return 2

    return read


def _humidity_field(key: str) -> Handler:
    """Unsigned byte in half percent steps."""

    def read(data: bytes, at: int, out: Decoded) -> int:
        out[key] = _scaled(_u8(data, at), 2)
        return 1

    return read


BATTERY = (0x01, 0x75)
TEMPERATURE = (0x03, 0x67)
HUMIDITY = (0x04, 0x68)


# --------------------------------------------------------------------------------------------
# WS101 smart button

_PRESS_TYPES = {1: "short", 2: "long", 3: "double"}


def _ws101_press(data: bytes, at: int, out: Decoded) -> int:
    press = _PRESS_TYPES.get(_u8(data, at))
    if press is not None:
        out["button"] = press
    return 1


_WS101: Table = {BATTERY: _uint8_field("battery"), (0xFF, 0x2E): _ws101_press}


def decode_ws101(data: bytes, f_port: int) -> Decoded:
    return _walk(data, _WS101)


def _battery(decoded: Decoded) -> Measurement | None:
    return measurement("battery", decoded.get("battery"))


def measure_ws101(decoded: Decoded) -> list[Measurement]:
    press = decoded.get("button")
    return collect(
        measurement("button_press", 1, channel=press) if isinstance(press, str) else None,
        _battery(decoded),
    )


# --------------------------------------------------------------------------------------------
# WS156 scene panel


def _ws156_button(data: bytes, at: int, out: Decoded) -> int:
    out["button"] = _u8(data, at)  # followed by two command bytes the decoder leaves aside
    return 3


_WS156: Table = {BATTERY: _uint8_field("battery"), (0xFF, 0x34): _ws156_button}


def decode_ws156(data: bytes, f_port: int) -> Decoded:
    return _walk(data, _WS156)


def measure_ws156(decoded: Decoded) -> list[Measurement]:
    button = decoded.get("button")
    return collect(
        measurement("button_press", 1, channel=button) if isinstance(button, int) else None,
        _battery(decoded),
    )


# --------------------------------------------------------------------------------------------
# VS133 line-crossing people counter

_VS133_LINES = range(1, 5)


def _vs133_total(line: int, key: str) -> Handler:
    def read(data: bytes, at: int, out: Decoded) -> int:
        out.setdefault(f"line_{line}", {})[key] = _u32le(data, at)
        return 4

    return read


def _vs133_period(line: int) -> Handler:
    def read(data: bytes, at: int, out: Decoded) -> int:
        counts = out.setdefault(f"line_{line}", {})
        counts["period_in"] = _u16le(data, at)
        counts["period_out"] = _u16le(data, at + 2)
        return 4

    return read


def _vs133_table() -> Table:
    table: dict[Pair, Handler] = {}
    for line in _VS133_LINES:
        base = 3 * line
        table[(base, 0xD2)] = _vs133_total(line, "total_in")
        table[(base + 1, 0xD2)] = _vs133_total(line, "total_out")
        table[(base + 2, 0xCC)] = _vs133_period(line)
    return table


_VS133 = _vs133_table()


def decode_vs133(data: bytes, f_port: int) -> Decoded:
    return _walk(data, _VS133)


_VS133_QUANTITIES = {
    "total_in": "people_in_total",
    "total_out": "people_out_total",
    "period_in": "people_in",
    "period_out": "people_out",
}


def measure_vs133(decoded: Decoded) -> list[Measurement]:
    found: list[Measurement | None] = []
    for line, counts in decoded.items():
        if isinstance(counts, dict):
            for key, quantity in _VS133_QUANTITIES.items():
                if key in counts:
                    found.append(measurement(quantity, counts[key], channel=line))
    return collect(*found)


# --------------------------------------------------------------------------------------------
# VS121 workplace occupancy sensor


def _vs121_people(data: bytes, at: int, out: Decoded) -> int:
    out["people_counter_all"] = _u8(data, at)
    region_count = _u8(data, at + 1)
    out["region_count"] = region_count
    region_word = _u16be(data, at + 2)
    # The vendor decoder compares the region word with each region index (it does not test
    # bits), so a region counts 1 while its index is below that word.
    out["regions"] = [{"index": idx, "count": int(region_word > idx)} for idx in range(region_count)]
    return 4


_VS121: Table = {(0x04, 0xC9): _vs121_people}


def decode_vs121(data: bytes, f_port: int) -> Decoded:
    return _walk(data, _VS121)


def measure_vs121(decoded: Decoded) -> list[Measurement]:
    # Only the total: the per-region counts of the vendor output do not follow the device's
    # region bit mask (see _vs121_people), so they are not reported as occupancy.
    return collect(measurement("occupancy", decoded.get("people_counter_all")))


# --------------------------------------------------------------------------------------------
# WS52x smart socket


def _ws52x_voltage(data: bytes, at: int, out: Decoded) -> int:
    out["voltage"] = _scaled(_u16le(data, at), 10)
    return 2


def _ws52x_energy(data: bytes, at: int, out: Decoded) -> int:
    out["energy"] = int32(_u32le(data, at))  # the vendor's 32-bit arithmetic keeps the sign bit
    return 4


def _ws52x_current(data: bytes, at: int, out: Decoded) -> int:
    out["current"] = _u16le(data, at)
    return 2


def _ws52x_state(data: bytes, at: int, out: Decoded) -> int:
    out["button"] = "open" if _u8(data, at) == 1 else "close"
    return 1


_WS52X: Table = {
    (0x03, 0x74): _ws52x_voltage,
    (0x05, 0x81): _uint8_field("power"),
    (0x06, 0x83): _ws52x_energy,
    (0x07, 0xC9): _ws52x_current,
    (0x08, 0x70): _ws52x_state,
}


def decode_ws52x(data: bytes, f_port: int) -> Decoded:
    return _walk(data, _WS52X)


def measure_ws52x(decoded: Decoded) -> list[Measurement]:
    # ``power`` is the socket's power factor in percent (record 05 81), not watts: not mapped.
    current = decoded.get("current")
    return collect(
        measurement("voltage", decoded.get("voltage")),
        measurement("energy", decoded.get("energy")),
        measurement("current", current / 1000) if isinstance(current, int) else None,
    )


# --------------------------------------------------------------------------------------------
# CT101 current transformer

_LORAWAN_CLASSES = {0: "Class A", 1: "Class B", 2: "Class C", 3: "Class CtoB"}
_CONDITIONS = {0: "disable", 1: "below", 2: "above", 3: "between", 4: "outside"}
_TEMPERATURE_ALARMS = {0: "temperature threshold alarm release", 1: "temperature threshold alarm"}
_CURRENT_ALARM_BITS = (
    "current_threshold_alarm",
    "current_threshold_alarm_release",
    "current_over_range_alarm",
    "current_over_range_alarm_release",
)
_READ_FAILED = "read failed"
_OVER_RANGE = "over range alarm"


def _yes_no(flag: int) -> str:
    return "yes" if flag else "no"


def _ct_ipso_version(data: bytes, at: int, out: Decoded) -> int:
    value = _u8(data, at)
    out["ipso_version"] = f"v{value >> 4}.{value & 0x0F}"
    return 1


def _ct_hardware_version(data: bytes, at: int, out: Decoded) -> int:
    major, minor = _span(data, at, 2)
    out["hardware_version"] = f"v{major:x}.{minor >> 4}"
    return 2


def _ct_firmware_version(data: bytes, at: int, out: Decoded) -> int:
    major, minor = _span(data, at, 2)
    out["firmware_version"] = f"v{major:x}.{minor:x}"
    return 2


def _ct_tsl_version(data: bytes, at: int, out: Decoded) -> int:
    major, minor = _span(data, at, 2)
    out["tsl_version"] = f"v{major}.{minor}"
    return 2


def _ct_serial_number(data: bytes, at: int, out: Decoded) -> int:
    out["sn"] = data[at : at + 8].hex()  # the vendor prints whatever part of the 8 bytes is there
    return 8


def _ct_lorawan_class(data: bytes, at: int, out: Decoded) -> int:
    out["lorawan_class"] = _LORAWAN_CLASSES.get(_u8(data, at), "unknown")
    return 1


def _constant(key: str, value: str) -> Handler:
    """A one-byte record whose byte the vendor ignores, reporting a fixed text."""

    def read(data: bytes, at: int, out: Decoded) -> int:
        out[key] = value
        return 1

    return read


def _ct_total_current(data: bytes, at: int, out: Decoded) -> int:
    out["total_current"] = _scaled(_u32le(data, at), 100)
    return 4


def _ct_current(data: bytes, at: int, out: Decoded) -> int:
    raw = _u16le(data, at)
    if raw == 0xFFFF:
        out["current_sensor_status"] = _READ_FAILED
    else:
        out["current"] = _scaled(raw, 100)
    return 2


def _ct_temperature(data: bytes, at: int, out: Decoded) -> int:
    raw = _u16le(data, at)
    if raw == 0xFFFD:
        out["temperature_sensor_status"] = _OVER_RANGE
    elif raw == 0xFFFF:
        out["temperature_sensor_status"] = _READ_FAILED
    else:
        out["temperature"] = _scaled(_s16le(data, at), 10)
    return 2


def _ct_current_alarm(data: bytes, at: int, out: Decoded) -> int:
    out["current_max"] = _scaled(_u16le(data, at), 100)
    out["current_min"] = _scaled(_u16le(data, at + 2), 100)
    out["current"] = _scaled(_u16le(data, at + 4), 100)
    flags = _u8(data, at + 6)
    out["current_alarm"] = {name: _yes_no(flags >> bit & 1) for bit, name in enumerate(_CURRENT_ALARM_BITS)}
    return 7


def _ct_temperature_alarm(data: bytes, at: int, out: Decoded) -> int:
    out["temperature"] = _scaled(_s16le(data, at), 10)
    out["temperature_alarm"] = _TEMPERATURE_ALARMS.get(_u8(data, at + 2), "unknown")
    return 3


# Replies to configuration downlinks (channel ff or fe)


def _ct_u16_reply(key: str, skip: int = 0) -> Handler:
    def read(data: bytes, at: int, out: Decoded) -> int:
        out[key] = _u16le(data, at + skip)
        return skip + 2

    return read


def _ct_alarm_config_reply(data: bytes, at: int, out: Decoded) -> int:
    head = _u8(data, at)
    condition = _CONDITIONS.get(head & 0x07, "unknown")
    sensor = head >> 3 & 0x07
    if sensor == 0x01:
        out["current_alarm_config"] = {
            "condition": condition,
            "threshold_min": _u16le(data, at + 1),
            "threshold_max": _u16le(data, at + 3),
            "alarm_interval": _u16le(data, at + 5),
            "alarm_counts": _u16le(data, at + 7),
        }
    elif sensor == 0x04:
        out["temperature_alarm_config"] = {
            "condition": condition,
            "threshold_min": _scaled(_s16le(data, at + 1), 10),
            "threshold_max": _scaled(_s16le(data, at + 3), 10),
        }
    return 9


_CT_REPLIES: dict[int, Handler] = {
    0x02: _ct_u16_reply("alarm_report_interval"),
    0x06: _ct_alarm_config_reply,
    0x10: _constant("reboot", "yes"),
    0x27: _constant("clear_current_cumulative", "yes"),
    0x28: _constant("report_status", "yes"),
    0x8E: _ct_u16_reply("report_interval", skip=1),
    0xF2: _ct_u16_reply("alarm_report_counts"),
}

_CT101_INFO: dict[Pair, Handler] = {
    (0xFF, 0x01): _ct_ipso_version,
    (0xFF, 0x09): _ct_hardware_version,
    (0xFF, 0x0A): _ct_firmware_version,
    (0xFF, 0xFF): _ct_tsl_version,
    (0xFF, 0x16): _ct_serial_number,
    (0xFF, 0x0F): _ct_lorawan_class,
    (0xFF, 0xFE): _constant("reset_event", "reset"),
    (0xFF, 0x0B): _constant("device_status", "on"),
}

_CT101: Table = {
    **{(channel, kind): handler for channel in (0xFE, 0xFF) for kind, handler in _CT_REPLIES.items()},
    **_CT101_INFO,
    (0x03, 0x97): _ct_total_current,
    (0x04, 0x98): _ct_current,
    (0x09, 0x67): _ct_temperature,
    (0x84, 0x98): _ct_current_alarm,
    (0x89, 0x67): _ct_temperature_alarm,
}


def _ct101_unknown(pair: Pair) -> None:
    if pair[0] in (0xFE, 0xFF):
        raise CodecError("unknown downlink response")


def decode_ct101(data: bytes, f_port: int) -> Decoded:
    return _walk(data, _CT101, on_unknown=_ct101_unknown)


def measure_ct101(decoded: Decoded) -> list[Measurement]:
    return collect(measurement("current", decoded.get("current")))


# --------------------------------------------------------------------------------------------
# EM300-TH temperature and humidity sensor

_EM300_TH: Table = {
    BATTERY: _uint8_field("battery"),
    TEMPERATURE: _temperature_field("temperature"),
    HUMIDITY: _humidity_field("humidity"),
}


def decode_em300_th(data: bytes, f_port: int) -> Decoded:
    return _walk(data, _EM300_TH)


def _climate(decoded: Decoded) -> list[Measurement | None]:
    return [
        measurement("air_temperature", decoded.get("temperature")),
        measurement("humidity", decoded.get("humidity")),
        _battery(decoded),
    ]


def measure_em300_th(decoded: Decoded) -> list[Measurement]:
    return collect(*_climate(decoded))


# --------------------------------------------------------------------------------------------
# EM300-DI pulse counter / digital input

_HISTORY_MIN_BYTES = 12  # shorter remainders are not taken for a history record


def _em300_di_pulse(data: bytes, at: int, out: Decoded) -> int:
    out["pulse"] = _u32le(data, at)
    return 4


def _em300_di_history(data: bytes, at: int, out: Decoded) -> int | None:
    if len(data) - at < _HISTORY_MIN_BYTES:
        return None
    point: Decoded = {
        "timestamp": _u32le(data, at),
        "temperature": _scaled(_s16le(data, at + 4), 10),
        "humidity": _scaled(_u8(data, at + 6), 2),
    }
    mode = _u8(data, at + 7)
    if mode == 1:
        point["gpio"] = _u8(data, at + 8)
    elif mode == 2:
        point["pulse"] = _u32le(data, at + 9)
    out.setdefault("history", []).append(point)
    return 13


_EM300_DI: Table = {
    **_EM300_TH,
    (0x05, 0x00): _uint8_field("gpio"),
    (0x05, 0xC8): _em300_di_pulse,
    (0x20, 0xCE): _em300_di_history,
}


def decode_em300_di(data: bytes, f_port: int) -> Decoded:
    return _walk(data, _EM300_DI)


def measure_em300_di(decoded: Decoded) -> list[Measurement]:
    return collect(measurement("pulse_count", decoded.get("pulse")), *_climate(decoded))


# --------------------------------------------------------------------------------------------

CODECS: list[Codec] = [
    Codec(
        "milesight-iot/ws101",
        decode_ws101,
        measure_ws101,
        description="Milesight WS101 smart button (press type, battery)",
    ),
    Codec(
        "milesight-iot/ws156",
        decode_ws156,
        measure_ws156,
        # ws136 is served by ws136.js in the device repository, the same decoder for WS136/WS156.
        models=("milesight-iot/ws136",),
        description="Milesight WS136/WS156 smart scene panel (button number, battery)",
    ),
    Codec(
        "milesight-iot/vs133",
        decode_vs133,
        measure_vs133,
        description="Milesight VS133 ToF people counter (in/out per line, totals and period)",
    ),
    Codec(
        "milesight-iot/vs121",
        decode_vs121,
        measure_vs121,
        description="Milesight VS121 AI workplace occupancy sensor (people count, regions)",
    ),
    Codec(
        "milesight-iot/ws52x",
        decode_ws52x,
        measure_ws52x,
        description="Milesight WS52x smart portable socket (voltage, energy, current, state)",
    ),
    Codec(
        "milesight-iot/ct101",
        decode_ct101,
        measure_ct101,
        description="Milesight CT101 smart current transformer (current, alarms, device info)",
    ),
    Codec(
        "milesight-iot/em300-th",
        decode_em300_th,
        measure_em300_th,
        description="Milesight EM300-TH temperature and humidity sensor",
    ),
    Codec(
        "milesight-iot/em300-di",
        decode_em300_di,
        measure_em300_di,
        description="Milesight EM300-DI pulse counter / digital input (with temperature, humidity)",
    ),
]
