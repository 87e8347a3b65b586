"""Adeunis device codecs: ``adeunis/pulse`` (Pulse 4 metering interface, two pulse counters).

The fPort is not used. Every frame starts with a frame code and a status byte; fields are
big-endian. The vendor codec wraps its result as ``{"bytes": content}``, where ``content`` starts
with a ``type`` text, then ``status``, then the frame's own fields.

Status byte: bits 7-5 frame counter, bit 2 "a timestamp is appended", bit 1 low battery,
bit 0 configuration done (a hardware error is never reported: always ``False``).

Frame codes:

====  =========================================================================================
0x10  configuration: product mode, historisation count, sampling period, flow calculation
      period, per-channel state, pull-up type and debouncing; the 28-byte LoRa form adds
      leakage and tamper settings and the redundant sample count, the 11-byte Sigfox form the
      tamper switch only
0x11  leakage thresholds per channel
0x12  leakage periods and tamper settings per channel
0x20  network configuration (LoRa ADR, provisioning, duty cycle, class; or Sigfox retries)
0x30  keep-alive: per-channel flow alarms, 24 h flow minimum and maximum, tamper and leakage alarms
0x33  answer to a register write
0x46  both counters' current values (u32 each)
0x47  flow alarm: both channels' flows (u16 each)
0x5a  channel A counter: current value (u32), then u16 differences to each older reading
0x5b  channel B counter, laid out as 0x5a
====  =========================================================================================

With the timestamp bit set, a u32 count of seconds since 2013-01-01T00:00:00 UTC follows the
fields (for 0x5a/0x5b it is the last four bytes). It is shown as UTC without a zone suffix, with
milliseconds, e.g. ``"2023-12-28T19:22:17.000"``; the machine's time zone plays no part.
Any other frame code decodes to ``{"type": "Unsupported"}``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from a2d.measurements import Measurement, collect, measurement

from ._base import Codec, CodecError
from ._js import int16

TIMESTAMP_EPOCH = datetime(2013, 1, 1)

TIMESTAMP_FLAG = 0x04

PRODUCT_MODES: dict[int, str] = {0: "PARK", 1: "PRODUCTION", 2: "TEST", 3: "DEAD"}

#: Debouncing period code -> milliseconds (unknown codes mean 0).
DEBOUNCING_MS: dict[int, int] = {
    0: 0,
    1: 1,
    2: 10,
    3: 20,
    4: 50,
    5: 100,
    6: 200,
    7: 500,
    8: 1000,
    9: 2000,
    10: 5000,
    11: 10000,
}

REQUEST_STATUSES: dict[int, str] = {
    1: "success",
    2: "successNoUpdate",
    3: "errorCoherency",
    4: "errorInvalidRegister",
    5: "errorInvalidValue",
    6: "errorTruncatedValue",
    7: "errorAccesNotAllowed",
}

#: 0x10 frame lengths that tell which network the device is on.
LORA_CONFIG_LENGTH = 28
SIGFOX_CONFIG_LENGTH = 11

#: 0x20 frame: a PARTIAL decoding reason when the length names no known network.
MISSING_NETWORK = 1

TYPE_COUNTERS = "0x46 Pulse 4 data"
TYPE_CHANNEL_A = "0x5a Pulse 4 data - channel A"
TYPE_CHANNEL_B = "0x5b Pulse 4 data - channel B"


class _Frame:
    """Bounds-checked big-endian reads over one frame."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.code = data[0]
        self.has_timestamp = bool(data[1] & TIMESTAMP_FLAG)

    def __len__(self) -> int:
        return len(self.data)

    def need(self, length: int) -> None:
        if len(self.data) < length:
            raise CodecError(f"truncated frame 0x{self.code:02x}: need {length} bytes, got {len(self.data)}")

    def u8(self, offset: int) -> int:
        self.need(offset + 1)
        return self.data[offset]

    def u16(self, offset: int) -> int:
        self.need(offset + 2)
        return int.from_bytes(self.data[offset : offset + 2], "big")

    def s16(self, offset: int) -> int:
        return int16(self.u16(offset))

    def u32(self, offset: int) -> int:
        self.need(offset + 4)
        return int.from_bytes(self.data[offset : offset + 4], "big")

    def flag(self, offset: int, mask: int) -> bool:
        return bool(self.u8(offset) & mask)

    def timestamp(self, offset: int) -> str:
        """The u32 at ``offset`` as a UTC time, ISO 8601 with milliseconds and no zone."""
        moment = TIMESTAMP_EPOCH + timedelta(seconds=self.u32(offset))
        return moment.isoformat(timespec="milliseconds")


def _status(frame: _Frame) -> dict[str, Any]:
    status = frame.u8(1)
    return {
        "frameCounter": (status & 0xE0) >> 5,
        "hardwareError": False,
        "lowBattery": bool(status & 0x02),
        "configurationDone": bool(status & 0x01),
        "timestamp": bool(status & TIMESTAMP_FLAG),
    }


def _unit(unit: str, value: int) -> dict[str, Any]:
    return {"unit": unit, "value": value}


def _configuration(frame: _Frame) -> dict[str, Any]:
    frame.need(SIGFOX_CONFIG_LENGTH)
    lora = len(frame) == LORA_CONFIG_LENGTH
    sigfox = len(frame) == SIGFOX_CONFIG_LENGTH
    mode = frame.u8(2)
    batch = frame.u16(3)
    sampling = frame.u16(6)
    out: dict[str, Any] = {
        "type": "0x10 Pulse 4 configuration",
        "productMode": PRODUCT_MODES.get(mode, ""),
        "numberOfHistorizationBeforeSending": batch,
        "samplingPeriod": _unit("s", sampling * 2),
        "calculatedSendingPeriod": _unit("s", batch * sampling * 2),
        "flowCalculationPeriod": (_unit("s", frame.u16(9) * 20) if mode == 2 else _unit("m", frame.u16(9))),
    }
    if lora:
        out["redundantSamples"] = frame.u8(27)
    flags = frame.u8(5)
    debouncing = frame.u8(8)
    channels = []
    # Per channel: flag bits (enabled, pull-up, tamper), debouncing nibble, leakage and tamper offsets.
    for name, shift, nibble, leakage, tamper in (
        ("channel A", 0, debouncing & 0x0F, (11, 15, 19), 23),
        ("channel B", 4, debouncing >> 4, (13, 17, 21), 25),
    ):
        channel: dict[str, Any] = {
            "name": name,
            "state": "enabled" if flags & (0x01 << shift) else "disabled",
            "type": "gasPullUpOn" if flags & (0x02 << shift) else "otherPullUpOff",
            "debouncingPeriod": _unit("ms", DEBOUNCING_MS.get(nibble, 0)),
        }
        tamper_on = bool(flags & (0x08 << shift))
        if lora:
            overflow, threshold, periods = leakage
            channel["leakageDetection"] = {
                "overflowAlarmTriggerThreshold": frame.u16(overflow),
                "threshold": frame.u16(threshold),
                "dailyPeriodsBelowWhichLeakageAlarmTriggered": frame.u16(periods),
            }
            channel["tamper"] = {
                "activated": tamper_on,
                "samplePeriodForDetection": _unit("s", frame.u8(tamper) * 10),
                "threshold": frame.u8(tamper + 1),
            }
        elif sigfox:
            channel["tamper"] = {"activated": tamper_on}
        channels.append(channel)
    out["channels"] = channels
    return out


def _leakage_thresholds(frame: _Frame) -> dict[str, Any]:
    frame.need(10)
    return {
        "type": "0x11 Pulse 4 configuration",
        "channels": [
            {
                "name": name,
                "leakageDetection": {
                    "overflowAlarmTriggerThreshold": frame.u16(overflow),
                    "threshold": frame.u16(threshold),
                },
            }
            for name, overflow, threshold in (("channel A", 2, 6), ("channel B", 4, 8))
        ],
    }


def _leakage_and_tamper(frame: _Frame) -> dict[str, Any]:
    frame.need(10)
    return {
        "type": "0x12 Pulse 4 configuration",
        "channels": [
            {
                "name": name,
                "leakageDetection": {"dailyPeriodsBelowWhichLeakageAlarmTriggered": frame.u16(periods)},
                "tamper": {
                    "samplePeriodForDetection": _unit("s", frame.u8(tamper) * 10),
                    "threshold": frame.u8(tamper + 1),
                },
            }
            for name, periods, tamper in (("channel A", 2, 6), ("channel B", 4, 8))
        ],
    }


def _network(frame: _Frame) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "0x20 Configuration"}
    if len(frame) == 4:
        options = frame.u8(2)
        out["loraAdr"] = bool(options & 0x01)
        out["loraProvisioningMode"] = "ABP" if frame.u8(3) == 0 else "OTAA"
        out["loraDutycyle"] = "activated" if options & 0x04 else "deactivated"
        out["loraClassMode"] = "CLASS C" if options & 0x20 else "CLASS A"
    elif len(frame) in (3, 5):
        out["sigfoxRetry"] = frame.u8(2) & 0x03
        if len(frame) == 5:
            out["sigfoxDownlinkPeriod"] = _unit("m", frame.s16(3))
    else:
        out["partialDecoding"] = MISSING_NETWORK
    return out


def _keep_alive(frame: _Frame) -> dict[str, Any]:
    frame.need(15 if frame.has_timestamp else 11)
    out: dict[str, Any] = {"type": "0x30 Pulse 4 keep alive"}
    if frame.has_timestamp:
        out["timestamp"] = frame.timestamp(11)
    alarms = frame.u8(2)
    out["channels"] = [
        {
            "name": name,
            "flow": {
                "alarm": bool(alarms & flow_bit),
                "last24hMin": frame.u16(minimum),
                "last24hMax": frame.u16(maximum),
            },
            "tamperAlarm": bool(alarms & (flow_bit << 2)),
            "leakageAlarm": bool(alarms & (flow_bit << 4)),
        }
        for name, flow_bit, minimum, maximum in (("channel A", 0x01, 7, 3), ("channel B", 0x02, 9, 5))
    ]
    return out


def _register_status(frame: _Frame) -> dict[str, Any]:
    frame.need(5)
    return {
        "type": "0x33 Set register status",
        "requestStatus": REQUEST_STATUSES.get(frame.u8(2), "errorOtherReason"),
        "registerId": frame.u16(3),
    }


def _counters(frame: _Frame) -> dict[str, Any]:
    frame.need(14 if frame.has_timestamp else 10)
    out: dict[str, Any] = {"type": TYPE_COUNTERS}
    if frame.has_timestamp:
        out["timestamp"] = frame.timestamp(10)
    out["decodingInfo"] = "counterValues: [Channel A, Channel B]"
    out["counterValues"] = [frame.u32(2), frame.u32(6)]
    return out


def _flow_alarm(frame: _Frame) -> dict[str, Any]:
    frame.need(10 if frame.has_timestamp else 6)
    out: dict[str, Any] = {"type": "0x47 Pulse 4 alarm"}
    if frame.has_timestamp:
        out["timestamp"] = frame.timestamp(6)
    out["decodingInfo"] = "flowValues: [Channel A, Channel B]"
    out["flowValues"] = [frame.u16(2), frame.u16(4)]
    return out


def _history(type_text: str) -> Callable[[_Frame], dict[str, Any]]:
    """0x5a / 0x5b: the newest counter value, then going back in time by u16 differences."""

    def parse(frame: _Frame) -> dict[str, Any]:
        frame.need(10 if frame.has_timestamp else 6)
        end = len(frame) - 4 if frame.has_timestamp else len(frame)
        if (end - 6) % 2:
            raise CodecError(f"frame 0x{frame.code:02x}: counter differences are not whole u16 values")
        out: dict[str, Any] = {"type": type_text}
        if frame.has_timestamp:
            out["timestamp"] = frame.timestamp(end)
        value = frame.u32(2)
        values = [value]
        for offset in range(6, end, 2):
            value -= frame.u16(offset)
            values.append(value)
        out["decodingInfo"] = "counterValues: [t=0, t-1, t-2, ...]"
        out["counterValues"] = values
        return out

    return parse


PARSERS: dict[int, Callable[[_Frame], dict[str, Any]]] = {
    0x10: _configuration,
    0x11: _leakage_thresholds,
    0x12: _leakage_and_tamper,
    0x20: _network,
    0x30: _keep_alive,
    0x33: _register_status,
    0x46: _counters,
    0x47: _flow_alarm,
    0x5A: _history(TYPE_CHANNEL_A),
    0x5B: _history(TYPE_CHANNEL_B),
}


def decode_pulse(data: bytes, f_port: int) -> dict[str, Any]:
    """Decode one Pulse 4 uplink into the vendor's object (``{"bytes": {...}}``)."""
    if not data:
        raise CodecError("empty frame")
    parser = PARSERS.get(data[0])
    if parser is None:
        return {"bytes": {"type": "Unsupported"}}
    if len(data) < 2:
        raise CodecError(f"truncated frame 0x{data[0]:02x}: no status byte")
    frame = _Frame(data)
    fields = parser(frame)
    content: dict[str, Any] = {"type": fields.pop("type"), "status": _status(frame)}
    content.update(fields)
    return {"bytes": content}


def measure_pulse(decoded: dict[str, Any]) -> list[Measurement]:
    """The current counter reading of each channel a data frame carries (not the history)."""
    content = decoded.get("bytes")
    if not isinstance(content, dict):
        return []
    values = content.get("counterValues")
    if not isinstance(values, list) or not values:
        return []
    frame_type = content.get("type")
    if frame_type == TYPE_COUNTERS and len(values) == 2:
        return collect(measurement("pulse_count", values[0], "A"), measurement("pulse_count", values[1], "B"))
    if frame_type == TYPE_CHANNEL_A:
        return collect(measurement("pulse_count", values[0], "A"))
    if frame_type == TYPE_CHANNEL_B:
        return collect(measurement("pulse_count", values[0], "B"))
    return []


CODECS: list[Codec] = [
    Codec(
        id="adeunis/pulse",
        decode=decode_pulse,
        measure=measure_pulse,
        models=("adeunis/pulse-4",),
        description="Adeunis Pulse 4 / Pulse 4 ATEX metering interface (two pulse counters)",
    ),
]
