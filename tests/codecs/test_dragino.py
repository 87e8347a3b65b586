"""Dragino LSE01 and LHT65 codecs: corpus vectors, extra vectors from the vendor codecs, fuzzing."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from a2d.measurements import Measurement
from edge_agent.codecs import dragino
from edge_agent.codecs._base import Codec, CodecError
from tests.vectors import check_contract, check_vector, corpus_vectors

CODECS: dict[str, Codec] = {c.id: c for c in dragino.CODECS}
LSE01 = CODECS["dragino/lse01"]
LHT65 = CODECS["dragino/lht65"]

# (fPort, bytes hex, expected {"data": ...} or {"errors": [...]}) beyond the corpus.
LSE01_VECTORS: list[tuple[int, str, dict[str, Any]]] = [
    # Negative probe and soil temperatures (the soil one offset by 0xFFFF, as the vendor does).
    (
        2,
        "0ce4ff9c0000ff38000000",
        {
            "data": {
                "Bat": 3.3,
                "TempC_DS18B20": "-10.0",
                "water_SOIL": "0.00",
                "temp_SOIL": "-1.99",
                "conduct_SOIL": 0,
            }
        },
    ),
    (
        2,
        "0d1600fa0bb80a28019000",
        {
            "data": {
                "Bat": 3.35,
                "TempC_DS18B20": "25.0",
                "water_SOIL": "30.00",
                "temp_SOIL": "26.00",
                "conduct_SOIL": 400,
            }
        },
    ),
    # The top two bits of the battery word are not part of the voltage; ten bytes suffice.
    (
        2,
        "cc8a0000000080010000",
        {
            "data": {
                "Bat": 3.21,
                "TempC_DS18B20": "0.0",
                "water_SOIL": "0.00",
                "temp_SOIL": "-327.66",
                "conduct_SOIL": 0,
            }
        },
    ),
    (3, "", {"errors": ["unknown FPort"]}),
]

_SHT = {"BatV": 3.062, "Bat_status": 3, "TempC_SHT": 28.29, "Hum_SHT": 88.6}

LHT65_VECTORS: list[tuple[int, str, dict[str, Any]]] = [
    (2, "cbf60b0d0376007fff7fff", {"data": {**_SHT, "Ext_sensor": "No external sensor"}}),
    # Type 9: probe temperature in bytes 0-1, battery status from byte 4, signed timestamp.
    (
        2,
        "0bb8ff9c01f4097fff7fff",
        {
            "data": {
                "TempC_DS": 30,
                "Bat_status": 0,
                "TempC_SHT": -1,
                "Hum_SHT": 50,
                "Work_mode": "DS18B20 & timestamp",
                "Systimestamp": 2147450879,
            }
        },
    ),
    (
        2,
        "cbf60b0d037609650a1b2c",
        {
            "data": {
                "TempC_DS": -133.22,
                "Bat_status": 0,
                "TempC_SHT": 28.29,
                "Hum_SHT": 88.6,
                "Work_mode": "DS18B20 & timestamp",
                "Systimestamp": 1695161132,
            }
        },
    ),
    (
        2,
        "cbf60b0d037609ffffff00",
        {
            "data": {
                "TempC_DS": -133.22,
                "Bat_status": 0,
                "TempC_SHT": 28.29,
                "Hum_SHT": 88.6,
                "Work_mode": "DS18B20 & timestamp",
                "Systimestamp": -256,
            }
        },
    ),
    # Type 15: the probe ID replaces the SHT reading (each byte followed by a space).
    (
        2,
        "0c1a28a18f630f01020304",
        {
            "data": {
                "BatV": 3.098,
                "Bat_status": 0,
                "Work_mode": "DS18B20ID",
                "ID": "28 a1 8f 63 01 02 03 04 ",
            }
        },
    ),
    (
        2,
        "cbf60b0d037604010000ff",
        {
            "data": {
                **_SHT,
                "Work_mode": "Interrupt Sensor send",
                "Exti_pin_level": "High",
                "Exti_status": "False",
            }
        },
    ),
    (2, "cbf60b0d037605012c7fff", {"data": {**_SHT, "Work_mode": "Illumination Sensor", "ILL_lx": 300}}),
    (2, "cbf60b0d03760604d27fff", {"data": {**_SHT, "Work_mode": "ADC Sensor", "ADC_V": 1.234}}),
    (
        2,
        "cbf60b0d037607ffff0000",
        {"data": {**_SHT, "Work_mode": "Interrupt Sensor count", "Exit_count": 65535}},
    ),
    (
        2,
        "cbf60b0d0376080000ffff",
        {"data": {**_SHT, "Work_mode": "Interrupt Sensor count", "Exit_count": 65535}},
    ),
    # Probe type set but not connected: 0x7FFF reads as 327.67.
    (
        2,
        "cbf60b0d0376817fff7fff",
        {
            "data": {
                **_SHT,
                "No_connect": "Sensor no connection",
                "Ext_sensor": "Temperature Sensor",
                "TempC_DS": 327.67,
            }
        },
    ),
    # Types without a decoder add nothing.
    (2, "cbf60b0d0376027fff7fff", {"data": dict(_SHT)}),
    (3, "", {"errors": ["unknown FPort"]}),
]


def _check_extra(codec: Codec, f_port: int, hex_bytes: str, expected: dict[str, Any]) -> None:
    """A vector beyond the corpus: also in the vendor codec's key order (the corpus yaml may differ)."""
    decoded = check_vector(codec, f_port, bytes.fromhex(hex_bytes), expected)
    if decoded is not None:
        assert list(decoded) == list(expected["data"]), "key order follows the vendor codec"


LSE01_CORPUS = corpus_vectors("dragino/lse01")
LHT65_CORPUS = corpus_vectors("dragino/lht65")


def test_corpus_is_present() -> None:
    assert len(LSE01_CORPUS) >= 2
    assert len(LHT65_CORPUS) >= 2


@pytest.mark.parametrize("vector", LSE01_CORPUS, ids=[v["description"] for v in LSE01_CORPUS])
def test_lse01_corpus_vector(vector: dict[str, Any]) -> None:
    check_vector(LSE01, vector["fPort"], bytes.fromhex(vector["bytes_hex"]), vector["expected"])


@pytest.mark.parametrize("vector", LHT65_CORPUS, ids=[v["description"] for v in LHT65_CORPUS])
def test_lht65_corpus_vector(vector: dict[str, Any]) -> None:
    check_vector(LHT65, vector["fPort"], bytes.fromhex(vector["bytes_hex"]), vector["expected"])


@pytest.mark.parametrize(("f_port", "hex_bytes", "expected"), LSE01_VECTORS)
def test_lse01_extra_vector(f_port: int, hex_bytes: str, expected: dict[str, Any]) -> None:
    _check_extra(LSE01, f_port, hex_bytes, expected)


@pytest.mark.parametrize(("f_port", "hex_bytes", "expected"), LHT65_VECTORS)
def test_lht65_extra_vector(f_port: int, hex_bytes: str, expected: dict[str, Any]) -> None:
    _check_extra(LHT65, f_port, hex_bytes, expected)


def test_lse01_values_are_strings_as_in_the_vendor_output() -> None:
    decoded = LSE01.decode(bytes.fromhex("ce2900f107a5099b6e2890"), 2)
    assert decoded["TempC_DS18B20"] == "24.1"
    assert decoded["temp_SOIL"] == "24.59"
    assert decoded["water_SOIL"] == "19.57"


def test_lse01_soil_temperature_keeps_the_vendor_offset() -> None:
    # Negative soil temperatures are raw - 0xFFFF, so 0xFFFF reads 0 and 0xFF9C reads -0.99.
    assert LSE01.decode(bytes.fromhex("0ce400000000ffff0000"), 2)["temp_SOIL"] == "0.00"
    assert LSE01.decode(bytes.fromhex("0ce400000000ff9c0000"), 2)["temp_SOIL"] == "-0.99"


@pytest.mark.parametrize("hex_bytes", ["", "ce29", "ce2900f107a5099b6e"])
def test_lse01_truncated_frames_raise_codec_error(hex_bytes: str) -> None:
    with pytest.raises(CodecError, match="truncated"):
        LSE01.decode(bytes.fromhex(hex_bytes), 2)


@pytest.mark.parametrize("hex_bytes", ["", "cbf60b0d0376010add7f", "cbf60b0d0376010add7fff00"])
def test_lht65_wrong_length_raises_codec_error(hex_bytes: str) -> None:
    with pytest.raises(CodecError, match="11 bytes"):
        LHT65.decode(bytes.fromhex(hex_bytes), 2)


def test_lht65_poll_reply_raises_codec_error() -> None:
    # The vendor codec returns nothing at all for poll replies (bit 6 of byte 6).
    with pytest.raises(CodecError, match="poll"):
        LHT65.decode(bytes.fromhex("cbf60b0d0376410add7fff"), 2)


def test_measure_lse01() -> None:
    decoded = LSE01.decode(bytes.fromhex("ce2900f107a5099b6e2890"), 2)
    assert LSE01.measure(decoded) == [
        Measurement("soil_moisture", 19.57, "%"),
        Measurement("soil_temperature", 24.59, "°C"),
        Measurement("conductivity", 28200, "µS/cm"),
        Measurement("battery_voltage", 3.625, "V"),
    ]


def test_measure_lht65_with_probe() -> None:
    decoded = LHT65.decode(bytes.fromhex("cbf60b0d0376010add7fff"), 2)
    assert LHT65.measure(decoded) == [
        Measurement("air_temperature", 28.29, "°C"),
        Measurement("humidity", 88.6, "%"),
        Measurement("air_temperature", 27.81, "°C", "external"),
        Measurement("battery_voltage", 3.062, "V"),
    ]


def test_measure_lht65_skips_a_disconnected_probe() -> None:
    decoded = LHT65.decode(bytes.fromhex("cbf60b0d0376817fff7fff"), 2)
    assert [m.channel for m in LHT65.measure(decoded)] == [None, None, None]


def test_measure_lht65_skips_no_sensor_reading() -> None:
    decoded = LHT65.decode(bytes.fromhex("cbf60b0d0376017fff7fff"), 2)
    assert "external" not in [m.channel for m in LHT65.measure(decoded)]


def test_measure_lht65_probe_id_frame() -> None:
    decoded = LHT65.decode(bytes.fromhex("0c1a28a18f630f01020304"), 2)
    assert LHT65.measure(decoded) == [Measurement("battery_voltage", 3.098, "V")]


def test_codec_metadata() -> None:
    assert LSE01.models == ("dragino/lse01-abp",)
    assert LHT65.models == ("dragino/lht65-abp",)


@pytest.mark.parametrize("codec_id", sorted(CODECS))
@given(data=st.binary(max_size=64), f_port=st.integers(min_value=0, max_value=255))
def test_fuzz_decode_and_measure(codec_id: str, data: bytes, f_port: int) -> None:
    check_contract(CODECS[codec_id], data, f_port)


@pytest.mark.parametrize("codec_id", sorted(CODECS))
@given(data=st.binary(min_size=10, max_size=11))
def test_fuzz_data_port(codec_id: str, data: bytes) -> None:
    check_contract(CODECS[codec_id], data, 2)
