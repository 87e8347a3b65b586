"""Adeunis Pulse 4 codec: corpus vector, one vector per frame code, timestamps, fuzzing."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from a2d.measurements import Measurement
from edge_agent.codecs import adeunis
from edge_agent.codecs._base import Codec, CodecError
from tests.vectors import check_contract, check_vector, corpus_vectors

CODEC: Codec = {c.id: c for c in adeunis.CODECS}["adeunis/pulse"]


def _status(counter: int, *, timestamp: bool = False, low_battery: bool = False) -> dict[str, Any]:
    return {
        "frameCounter": counter,
        "hardwareError": False,
        "lowBattery": low_battery,
        "configurationDone": False,
        "timestamp": timestamp,
    }


def _ch(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": f"channel {name}", **fields}


def _period(unit: str, value: int) -> dict[str, Any]:
    return {"unit": unit, "value": value}


# (bytes hex, expected "bytes" content) worked out from the vendor codec, one or more per frame code.
VECTORS: list[tuple[str, dict[str, Any]]] = [
    (
        "460000001234000056780000",
        {
            "type": "0x46 Pulse 4 data",
            "status": _status(0),
            "decodingInfo": "counterValues: [Channel A, Channel B]",
            "counterValues": [4660, 22136],
        },
    ),
    (
        "46240001e24000000064149a5b00",
        {
            "type": "0x46 Pulse 4 data",
            "status": _status(1, timestamp=True),
            "timestamp": "2023-12-15T16:42:40.000",
            "decodingInfo": "counterValues: [Channel A, Channel B]",
            "counterValues": [123456, 100],
        },
    ),
    (
        "5b20000003e800100020",
        {
            "type": "0x5b Pulse 4 data - channel B",
            "status": _status(1),
            "decodingInfo": "counterValues: [t=0, t-1, t-2, ...]",
            "counterValues": [1000, 984, 952],
        },
    ),
    # Only the current value, no history; timestamp at the epoch itself.
    (
        "5a0600000005" + "00000000",
        {
            "type": "0x5a Pulse 4 data - channel A",
            "status": _status(0, timestamp=True, low_battery=True),
            "timestamp": "2013-01-01T00:00:00.000",
            "decodingInfo": "counterValues: [t=0, t-1, t-2, ...]",
            "counterValues": [5],
        },
    ),
    # Differences may take the history below zero; the vendor codec keeps the arithmetic.
    (
        "5a000000000100020000",
        {
            "type": "0x5a Pulse 4 data - channel A",
            "status": _status(0),
            "decodingInfo": "counterValues: [t=0, t-1, t-2, ...]",
            "counterValues": [1, -1, -1],
        },
    ),
    (
        "4720000a000b",
        {
            "type": "0x47 Pulse 4 alarm",
            "status": _status(1),
            "decodingInfo": "flowValues: [Channel A, Channel B]",
            "flowValues": [10, 11],
        },
    ),
    (
        "30240102030405060708090a14aba3e9",
        {
            "type": "0x30 Pulse 4 keep alive",
            "status": _status(1, timestamp=True),
            "timestamp": "2018-05-12T11:40:19.000",
            "channels": [
                _ch(
                    "A",
                    flow={"alarm": True, "last24hMin": 1543, "last24hMax": 515},
                    tamperAlarm=False,
                    leakageAlarm=False,
                ),
                _ch(
                    "B",
                    flow={"alarm": False, "last24hMin": 2057, "last24hMax": 1029},
                    tamperAlarm=False,
                    leakageAlarm=False,
                ),
            ],
        },
    ),
    # 0x10, 28 bytes: the LoRa form with leakage and tamper settings.
    (
        "10200100069b0002520005000f001e00640032014000c8030a060009",
        {
            "type": "0x10 Pulse 4 configuration",
            "status": _status(1),
            "productMode": "PRODUCTION",
            "numberOfHistorizationBeforeSending": 6,
            "samplingPeriod": _period("s", 4),
            "calculatedSendingPeriod": _period("s", 24),
            "flowCalculationPeriod": _period("m", 5),
            "redundantSamples": 9,
            "channels": [
                _ch(
                    "A",
                    state="enabled",
                    type="gasPullUpOn",
                    debouncingPeriod=_period("ms", 10),
                    leakageDetection={
                        "overflowAlarmTriggerThreshold": 15,
                        "threshold": 100,
                        "dailyPeriodsBelowWhichLeakageAlarmTriggered": 320,
                    },
                    tamper={"activated": True, "samplePeriodForDetection": _period("s", 30), "threshold": 10},
                ),
                _ch(
                    "B",
                    state="enabled",
                    type="otherPullUpOff",
                    debouncingPeriod=_period("ms", 100),
                    leakageDetection={
                        "overflowAlarmTriggerThreshold": 30,
                        "threshold": 50,
                        "dailyPeriodsBelowWhichLeakageAlarmTriggered": 200,
                    },
                    tamper={"activated": True, "samplePeriodForDetection": _period("s", 60), "threshold": 0},
                ),
            ],
        },
    ),
    # 0x10, 11 bytes: the Sigfox form; TEST mode counts the flow period in 20 s steps.
    (
        "1020020001130003ff000a",
        {
            "type": "0x10 Pulse 4 configuration",
            "status": _status(1),
            "productMode": "TEST",
            "numberOfHistorizationBeforeSending": 1,
            "samplingPeriod": _period("s", 6),
            "calculatedSendingPeriod": _period("s", 6),
            "flowCalculationPeriod": _period("s", 200),
            "channels": [
                _ch(
                    "A",
                    state="enabled",
                    type="gasPullUpOn",
                    debouncingPeriod=_period("ms", 0),
                    tamper={"activated": False},
                ),
                _ch(
                    "B",
                    state="enabled",
                    type="otherPullUpOff",
                    debouncingPeriod=_period("ms", 0),
                    tamper={"activated": False},
                ),
            ],
        },
    ),
    # 0x10 of another length: network unknown, only the common part.
    (
        "1020010000110002000005000f001e00640032014000c80003000a0600090502",
        {
            "type": "0x10 Pulse 4 configuration",
            "status": _status(1),
            "productMode": "PRODUCTION",
            "numberOfHistorizationBeforeSending": 0,
            "samplingPeriod": _period("s", 4),
            "calculatedSendingPeriod": _period("s", 0),
            "flowCalculationPeriod": _period("m", 5),
            "channels": [
                _ch("A", state="enabled", type="otherPullUpOff", debouncingPeriod=_period("ms", 0)),
                _ch("B", state="enabled", type="otherPullUpOff", debouncingPeriod=_period("ms", 0)),
            ],
        },
    ),
    (
        "1120000a0014001e0028",
        {
            "type": "0x11 Pulse 4 configuration",
            "status": _status(1),
            "channels": [
                _ch("A", leakageDetection={"overflowAlarmTriggerThreshold": 10, "threshold": 30}),
                _ch("B", leakageDetection={"overflowAlarmTriggerThreshold": 20, "threshold": 40}),
            ],
        },
    ),
    (
        "12200007000803050904",
        {
            "type": "0x12 Pulse 4 configuration",
            "status": _status(1),
            "channels": [
                _ch(
                    "A",
                    leakageDetection={"dailyPeriodsBelowWhichLeakageAlarmTriggered": 7},
                    tamper={"samplePeriodForDetection": _period("s", 30), "threshold": 5},
                ),
                _ch(
                    "B",
                    leakageDetection={"dailyPeriodsBelowWhichLeakageAlarmTriggered": 8},
                    tamper={"samplePeriodForDetection": _period("s", 90), "threshold": 4},
                ),
            ],
        },
    ),
    (
        "20200021",
        {
            "type": "0x20 Configuration",
            "status": _status(1),
            "loraAdr": False,
            "loraProvisioningMode": "OTAA",
            "loraDutycyle": "deactivated",
            "loraClassMode": "CLASS A",
        },
    ),
    (
        "20202500",
        {
            "type": "0x20 Configuration",
            "status": _status(1),
            "loraAdr": True,
            "loraProvisioningMode": "ABP",
            "loraDutycyle": "activated",
            "loraClassMode": "CLASS C",
        },
    ),
    ("202002", {"type": "0x20 Configuration", "status": _status(1), "sigfoxRetry": 2}),
    (
        "20200301ff",
        {
            "type": "0x20 Configuration",
            "status": _status(1),
            "sigfoxRetry": 3,
            "sigfoxDownlinkPeriod": _period("m", 511),
        },
    ),
    (
        "202003ff38",
        {
            "type": "0x20 Configuration",
            "status": _status(1),
            "sigfoxRetry": 3,
            "sigfoxDownlinkPeriod": _period("m", -200),
        },
    ),
    ("2020", {"type": "0x20 Configuration", "status": _status(1), "partialDecoding": 1}),
    (
        "3320010345",
        {
            "type": "0x33 Set register status",
            "status": _status(1),
            "requestStatus": "success",
            "registerId": 837,
        },
    ),
    (
        "33200900ff",
        {
            "type": "0x33 Set register status",
            "status": _status(1),
            "requestStatus": "errorOtherReason",
            "registerId": 255,
        },
    ),
    ("ff01", {"type": "Unsupported"}),
    ("01", {"type": "Unsupported"}),
]


CORPUS = corpus_vectors("adeunis/pulse")


def test_corpus_is_present() -> None:
    assert len(CORPUS) >= 1


@pytest.mark.parametrize("vector", CORPUS, ids=[v["description"] for v in CORPUS])
def test_corpus_vector(vector: dict[str, Any]) -> None:
    # yaml examples (the corpus) may list keys in another order: no key order check here
    check_vector(CODEC, vector["fPort"], bytes.fromhex(vector["bytes_hex"]), vector["expected"])


@pytest.mark.parametrize(("hex_bytes", "content"), VECTORS, ids=[v[0][:14] for v in VECTORS])
def test_vector(hex_bytes: str, content: dict[str, Any]) -> None:
    decoded = check_vector(CODEC, 1, bytes.fromhex(hex_bytes), {"data": {"bytes": content}})
    assert decoded is not None
    assert list(decoded["bytes"]) == list(content), "key order follows the vendor"


def test_fport_is_ignored() -> None:
    data = bytes.fromhex("5a6700000127000100020003000414aba3e9")
    assert CODEC.decode(data, 1) == CODEC.decode(data, 200)


@pytest.fixture
def far_time_zone() -> Iterator[None]:
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Pacific/Kiritimati"  # UTC+14
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


@pytest.mark.usefixtures("far_time_zone")
def test_timestamp_is_utc_whatever_the_local_zone() -> None:
    decoded = CODEC.decode(bytes.fromhex("5a6700000127000100020003000414aba3e9"), 1)
    assert decoded["bytes"]["timestamp"] == "2023-12-28T19:22:17.000"


def test_largest_timestamp() -> None:
    decoded = CODEC.decode(bytes.fromhex("4604" + "00" * 8 + "ffffffff"), 1)
    assert decoded["bytes"]["timestamp"] == "2149-02-07T06:28:15.000"


@pytest.mark.parametrize(
    "hex_bytes",
    [
        "",
        "46",
        "4600000000",
        "460400000001000000020000",  # timestamp flagged but missing
        "5a000000",
        "5a0400000001",  # timestamp flagged, frame too short for value and time
        "5a00000000010002ff",  # odd number of difference bytes
        "1020010000",
        "3020010203",
        "33200103",
        "47200000",
        "1120000a",
        "12200007",
    ],
)
def test_truncated_frames_raise_codec_error(hex_bytes: str) -> None:
    with pytest.raises(CodecError):
        CODEC.decode(bytes.fromhex(hex_bytes), 1)


def test_measure_channel_a_history_frame() -> None:
    decoded = CODEC.decode(bytes.fromhex("5a6700000127000100020003000414aba3e9"), 1)
    assert CODEC.measure(decoded) == [Measurement("pulse_count", 295, "count", "A")]


def test_measure_channel_b_history_frame() -> None:
    decoded = CODEC.decode(bytes.fromhex("5b20000003e800100020"), 1)
    assert CODEC.measure(decoded) == [Measurement("pulse_count", 1000, "count", "B")]


def test_measure_both_counters() -> None:
    decoded = CODEC.decode(bytes.fromhex("460000001234000056780000"), 1)
    assert CODEC.measure(decoded) == [
        Measurement("pulse_count", 4660, "count", "A"),
        Measurement("pulse_count", 22136, "count", "B"),
    ]


@pytest.mark.parametrize(
    "hex_bytes", ["4720000a000b", "20200021", "3320010345", "ff01", "1120000a0014001e0028"]
)
def test_measure_other_frames_give_nothing(hex_bytes: str) -> None:
    assert CODEC.measure(CODEC.decode(bytes.fromhex(hex_bytes), 1)) == []


def test_codec_metadata() -> None:
    assert CODEC.models == ("adeunis/pulse-4",)


@given(st.binary(max_size=64), st.integers(min_value=0, max_value=255))
def test_fuzz_decode_and_measure(data: bytes, f_port: int) -> None:
    check_contract(CODEC, data, f_port)


@given(
    st.sampled_from([0x10, 0x11, 0x12, 0x20, 0x30, 0x33, 0x46, 0x47, 0x5A, 0x5B]),
    st.binary(max_size=40),
)
def test_fuzz_known_frame_codes(code: int, rest: bytes) -> None:
    check_contract(CODEC, bytes([code]) + rest, 1)
