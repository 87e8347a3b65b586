"""Milesight codecs: vendor-exact decoding, errors on truncated frames, canonical measurements."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from a2d.measurements import Measurement
from edge_agent.codecs import milesight
from edge_agent.codecs._base import Codec, CodecError
from tests.vectors import check_contract, check_vector, corpus_vectors

CODECS: dict[str, Codec] = {codec.id: codec for codec in milesight.CODECS}
IDS = sorted(CODECS)

CORPUS = [(device, vector) for device in IDS for vector in corpus_vectors(device)]


def test_codec_ids_and_models() -> None:
    assert IDS == [
        "milesight-iot/ct101",
        "milesight-iot/em300-di",
        "milesight-iot/em300-th",
        "milesight-iot/vs121",
        "milesight-iot/vs133",
        "milesight-iot/ws101",
        "milesight-iot/ws156",
        "milesight-iot/ws52x",
    ]
    names = [name for codec in milesight.CODECS for name in (codec.id, *codec.models)]
    assert len(names) == len(set(names))
    assert all(name == name.lower() for name in names)
    assert CODECS["milesight-iot/ws156"].models == ("milesight-iot/ws136",)


def test_corpus_is_there() -> None:
    devices = {device for device, _ in CORPUS}
    assert devices >= {
        "milesight-iot/ws101",
        "milesight-iot/ws156",
        "milesight-iot/vs133",
        "milesight-iot/ws52x",
        "milesight-iot/ct101",
        "milesight-iot/em300-th",
    }


@pytest.mark.parametrize(("device", "vector"), CORPUS, ids=[f"{d}:{v['bytes_hex']}" for d, v in CORPUS])
def test_corpus_vector(device: str, vector: dict[str, Any]) -> None:
    check_vector(CODECS[device], vector["fPort"], bytes.fromhex(vector["bytes_hex"]), vector["expected"])


# Examples of the codec yaml files of the TTN device repository (vs121, em300-di: no corpus yet),
# and frames worked out from the vendor decoders. (device, fPort, bytes hex, expected data)
VECTORS: list[tuple[str, int, str, dict[str, Any]]] = [
    # WS101: press types, battery, an unknown press type is left out
    ("milesight-iot/ws101", 85, "017564ff2e02", {"battery": 100, "button": "long"}),
    ("milesight-iot/ws101", 85, "ff2e03", {"button": "double"}),
    ("milesight-iot/ws101", 85, "ff2e09017532", {"battery": 50}),
    ("milesight-iot/ws101", 85, "", {}),
    ("milesight-iot/ws101", 85, "ff2e0101", {"button": "short"}),  # a lone trailing byte ends it
    # WS156: the button record is three bytes, only the first is reported
    ("milesight-iot/ws156", 85, "ff34020100017550", {"button": 2, "battery": 80}),
    # WS52x
    (
        "milesight-iot/ws52x",
        85,
        "0374ed0805816406835604000007c91027087000",
        {"voltage": 228.5, "power": 100, "energy": 1110, "current": 10000, "button": "close"},
    ),
    ("milesight-iot/ws52x", 85, "068300000080", {"energy": -2147483648}),
    ("milesight-iot/ws52x", 85, "0374ed08ff01", {"voltage": 228.5}),
    # VS133: line 4, totals and period on one line object
    (
        "milesight-iot/vs133",
        85,
        "0cd2010000000dd2020000000ecc03000400",
        {"line_4": {"total_in": 1, "total_out": 2, "period_in": 3, "period_out": 4}},
    ),
    ("milesight-iot/vs133", 85, "03d2ffffffff", {"line_1": {"total_in": 4294967295}}),
    # VS121 (yaml example first)
    (
        "milesight-iot/vs121",
        85,
        "04c903030002",
        {
            "people_counter_all": 3,
            "region_count": 3,
            "regions": [{"index": 0, "count": 1}, {"index": 1, "count": 1}, {"index": 2, "count": 0}],
        },
    ),
    (
        "milesight-iot/vs121",
        85,
        "04c9050200ff",
        {
            "people_counter_all": 5,
            "region_count": 2,
            "regions": [{"index": 0, "count": 1}, {"index": 1, "count": 1}],
        },
    ),
    ("milesight-iot/vs121", 85, "04c900000000", {"people_counter_all": 0, "region_count": 0, "regions": []}),
    (
        "milesight-iot/vs121",
        85,
        "04c907020001ff01",
        {
            "people_counter_all": 7,
            "region_count": 2,
            "regions": [{"index": 0, "count": 1}, {"index": 1, "count": 0}],
        },
    ),
    # CT101: device information, measurements, sensor states, alarms, configuration replies
    (
        "milesight-iot/ct101",
        85,
        "ff0110ff090110ff0a0114ffff0100ff166136d19286560000ff0f00fffe01ff0b01",
        {
            "ipso_version": "v1.0",
            "hardware_version": "v1.1",
            "firmware_version": "v1.14",
            "tsl_version": "v1.0",
            "sn": "6136d19286560000",
            "lorawan_class": "Class A",
            "reset_event": "reset",
            "device_status": "on",
        },
    ),
    (
        "milesight-iot/ct101",
        85,
        "0397102700000498c40909670401",
        {"total_current": 100, "current": 25, "temperature": 26},
    ),
    (
        "milesight-iot/ct101",
        85,
        "0498ffff0967fdff",
        {"current_sensor_status": "read failed", "temperature_sensor_status": "over range alarm"},
    ),
    ("milesight-iot/ct101", 85, "0967ffff", {"temperature_sensor_status": "read failed"}),
    (
        "milesight-iot/ct101",
        85,
        "8967180101",
        {"temperature": 28, "temperature_alarm": "temperature threshold alarm"},
    ),
    (
        "milesight-iot/ct101",
        85,
        "ff06096400c80000000000",
        {
            "current_alarm_config": {
                "condition": "below",
                "threshold_min": 100,
                "threshold_max": 200,
                "alarm_interval": 0,
                "alarm_counts": 0,
            }
        },
    ),
    (
        "milesight-iot/ct101",
        85,
        "ff06220a00f6ff00000000",
        {"temperature_alarm_config": {"condition": "above", "threshold_min": 1, "threshold_max": -1}},
    ),
    ("milesight-iot/ct101", 85, "ff8e002c01", {"report_interval": 300}),
    (
        "milesight-iot/ct101",
        85,
        "ff1001fe2701ff2801ff020a00fef20300",
        {
            "reboot": "yes",
            "clear_current_cumulative": "yes",
            "report_status": "yes",
            "alarm_report_interval": 10,
            "alarm_report_counts": 3,
        },
    ),
    # EM300-TH
    ("milesight-iot/em300-th", 85, "0367f6ff046871", {"temperature": -1, "humidity": 56.5}),
    ("milesight-iot/em300-th", 85, "03670501", {"temperature": 26.1}),
    # EM300-DI (yaml example first), history records in both modes, a too short history record
    ("milesight-iot/em300-di", 85, "01755c05c800010000", {"battery": 92, "pulse": 256}),
    ("milesight-iot/em300-di", 85, "0367140104686e050001", {"temperature": 27.6, "humidity": 55, "gpio": 1}),
    (
        "milesight-iot/em300-di",
        85,
        "20ce9e74466310015d0200e8030000",
        {"history": [{"timestamp": 1665561758, "temperature": 27.2, "humidity": 46.5, "pulse": 1000}]},
    ),
    (
        "milesight-iot/em300-di",
        85,
        "20ce9e74466310015d010100000000",
        {"history": [{"timestamp": 1665561758, "temperature": 27.2, "humidity": 46.5, "gpio": 1}]},
    ),
    ("milesight-iot/em300-di", 85, "017550" + "20ce0102", {"battery": 80}),
    ("milesight-iot/em300-di", 85, "05c8ffffffff", {"pulse": 4294967295}),
]


def _json_types(x: Any) -> Any:
    """The value with its exact JSON shape: key order and int/float kept."""
    if isinstance(x, dict):
        return [(k, _json_types(v)) for k, v in x.items()]
    if isinstance(x, list):
        return [_json_types(v) for v in x]
    return (type(x).__name__, x)


@pytest.mark.parametrize(("device", "f_port", "hex_bytes", "expected"), VECTORS)
def test_vector(device: str, f_port: int, hex_bytes: str, expected: dict[str, Any]) -> None:
    decoded = check_vector(CODECS[device], f_port, bytes.fromhex(hex_bytes), {"data": expected})
    # key order and number kinds as JSON.stringify prints them (integral numbers without ".0")
    assert _json_types(decoded) == _json_types(expected)


ERRORS: list[tuple[str, str, str]] = [
    ("milesight-iot/ct101", "fe55", "unknown downlink response"),
    ("milesight-iot/ct101", "ff", "unknown downlink response"),
    ("milesight-iot/ct101", "0498c409ff99", "unknown downlink response"),
    ("milesight-iot/ws101", "0175", "truncated frame"),
    ("milesight-iot/ws156", "ff34", "truncated frame"),
    ("milesight-iot/ws52x", "07c910", "truncated frame"),
    ("milesight-iot/vs133", "05cc0500", "truncated frame"),
    ("milesight-iot/vs121", "04c90102", "truncated frame"),
    ("milesight-iot/ct101", "8498b80bd007c409", "truncated frame"),
    ("milesight-iot/em300-th", "0367", "truncated frame"),
    ("milesight-iot/em300-di", "20ce9e74466310015d0200e80300", "truncated frame"),
]


@pytest.mark.parametrize(("device", "hex_bytes", "message"), ERRORS)
def test_error(device: str, hex_bytes: str, message: str) -> None:
    with pytest.raises(CodecError) as caught:
        CODECS[device].decode(bytes.fromhex(hex_bytes), 85)
    assert caught.value.errors[0].startswith(message)


def _canonical(ms: list[Measurement]) -> list[tuple[str, float, str, str | None]]:
    return [(m.quantity, m.value, m.unit, m.channel) for m in ms]


MEASURE: list[tuple[str, str, list[tuple[str, float, str, str | None]]]] = [
    ("milesight-iot/ws101", "ff2e01", [("button_press", 1, "count", "short")]),
    (
        "milesight-iot/ws101",
        "017564ff2e02",
        [("button_press", 1, "count", "long"), ("battery", 100, "%", None)],
    ),
    ("milesight-iot/ws156", "ff3401", [("button_press", 1, "count", "1")]),
    (
        "milesight-iot/ws156",
        "ff34020100017550",
        [("button_press", 1, "count", "2"), ("battery", 80, "%", None)],
    ),
    (
        "milesight-iot/vs133",
        "03d24800000004d2c800000006d20000000007d20000000005cc0000000008cc00000000",
        [
            ("people_in_total", 72, "count", "line_1"),
            ("people_out_total", 200, "count", "line_1"),
            ("people_in", 0, "count", "line_1"),
            ("people_out", 0, "count", "line_1"),
            ("people_in_total", 0, "count", "line_2"),
            ("people_out_total", 0, "count", "line_2"),
            ("people_in", 0, "count", "line_2"),
            ("people_out", 0, "count", "line_2"),
        ],
    ),
    ("milesight-iot/vs121", "04c903030002", [("occupancy", 3, "count", None)]),
    ("milesight-iot/ws52x", "0374ed08", [("voltage", 228.5, "V", None)]),
    ("milesight-iot/ws52x", "068356040000", [("energy", 1110, "Wh", None)]),
    ("milesight-iot/ws52x", "087001", []),
    (
        "milesight-iot/ws52x",
        "0374ed0805816406835604000007c91027087000",
        [("voltage", 228.5, "V", None), ("energy", 1110, "Wh", None), ("current", 10.0, "A", None)],
    ),
    ("milesight-iot/ct101", "8498b80bd007c40905", [("current", 25, "A", None)]),
    ("milesight-iot/ct101", "0498ffff", []),
    ("milesight-iot/ct101", "ff0110", []),
    (
        "milesight-iot/em300-th",
        "0175320367c80004683c",
        [("air_temperature", 20, "°C", None), ("humidity", 30, "%", None), ("battery", 50, "%", None)],
    ),
    (
        "milesight-iot/em300-di",
        "01755c05c800010000",
        [("pulse_count", 256, "count", None), ("battery", 92, "%", None)],
    ),
    (
        "milesight-iot/em300-di",
        "0367140104686e050001",
        [("air_temperature", 27.6, "°C", None), ("humidity", 55, "%", None)],
    ),
]


@pytest.mark.parametrize(("device", "hex_bytes", "expected"), MEASURE)
def test_measure(device: str, hex_bytes: str, expected: list[tuple[str, float, str, str | None]]) -> None:
    codec = CODECS[device]
    assert _canonical(codec.measure(codec.decode(bytes.fromhex(hex_bytes), 85))) == expected


def _record_strategy() -> st.SearchStrategy[bytes]:
    """Frames that look like Milesight records often enough to reach the handlers."""
    heads = st.sampled_from(
        [
            b"\x01\x75",
            b"\x03\x67",
            b"\x04\x68",
            b"\x05\x00",
            b"\x05\xc8",
            b"\x20\xce",
            b"\xff\x2e",
            b"\xff\x34",
            b"\x03\x74",
            b"\x05\x81",
            b"\x06\x83",
            b"\x07\xc9",
            b"\x08\x70",
            b"\x03\xd2",
            b"\x05\xcc",
            b"\x0e\xcc",
            b"\x04\xc9",
            b"\xff\x16",
            b"\xff\x06",
            b"\xfe\x8e",
            b"\x03\x97",
            b"\x04\x98",
            b"\x09\x67",
            b"\x84\x98",
            b"\x89\x67",
        ]
    )
    record = st.tuples(heads, st.binary(max_size=13)).map(lambda r: r[0] + r[1])
    return st.lists(record, max_size=5).map(b"".join).map(lambda b: b[:64])


@pytest.mark.parametrize("device", IDS)
@settings(max_examples=300, deadline=None)
@given(data=st.one_of(st.binary(max_size=64), _record_strategy()), f_port=st.integers(0, 255))
def test_fuzz(device: str, data: bytes, f_port: int) -> None:
    check_contract(CODECS[device], data, f_port)
