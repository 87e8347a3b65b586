"""Netvox R312A codec: corpus vectors, extra vectors worked out from the vendor codec, fuzzing."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from a2d.measurements import Measurement
from edge_agent.codecs import netvox
from edge_agent.codecs._base import Codec, CodecError
from tests.vectors import check_contract, check_vector, corpus_vectors

CODEC: Codec = {c.id: c for c in netvox.CODECS}["netvox/r312a"]

# (fPort, bytes hex, expected {"data": ...} or {"errors": [...]}) beyond the corpus.
EXTRA_VECTORS: list[tuple[int, str, dict[str, Any]]] = [
    # Low battery flag: the voltage becomes a string.
    (
        6,
        "014d019d010100000000",
        {
            "data": {
                "Device": "R312A",
                "Volt": "2.9(low battery)",
                "Alarm": 1,
                "FunctionKeyTrigger": "fuctionkey1",
            }
        },
    ),
    # R312 shares the format; in this codec version it also reports "Alarm".
    (
        6,
        "0155011e000200000000",
        {"data": {"Device": "R312", "Volt": 3, "Alarm": 0, "FunctionKeyTrigger": "fuctionkey2"}},
    ),
    # An unknown function key byte leaves the key out.
    (6, "014d0120000500000000", {"data": {"Device": "R312A", "Volt": 3.2, "Alarm": 0}}),
    (
        6,
        "0110000f0b2021011500",
        {"data": {"Device": "RB02I", "SWver": 1.5, "HWver": 11, "Datecode": "20210115"}},
    ),
    (
        7,
        "814d010000000000000000",
        {"data": {"Cmd": "ConfigReportRsp", "Device": "R312A", "Status": "Failure"}},
    ),
    (
        7,
        "824d000a0e100f00000000",
        {
            "data": {
                "Cmd": "ReadConfigReportRsp",
                "Device": "R312A",
                "MinTime": 10,
                "MaxTime": 3600,
                "BatteryChange": 1.5,
            }
        },
    ),
    (13, "8101", {"data": {"Cmd": "SetButtonPressTimeRsp", "Status": "Failure"}}),
    (13, "0203", {"data": {"Cmd": "GetButtonPressTimeReq"}}),
    (1, "014d011e01000000000000", {"errors": ["unknown FPort"]}),
]


CORPUS = corpus_vectors("netvox/r312a")


def test_corpus_is_present() -> None:
    assert len(CORPUS) >= 6


@pytest.mark.parametrize("vector", CORPUS, ids=[v["description"] for v in CORPUS])
def test_corpus_vector(vector: dict[str, Any]) -> None:
    # yaml examples (the corpus) may list keys in another order: no key order check here
    check_vector(CODEC, vector["fPort"], bytes.fromhex(vector["bytes_hex"]), vector["expected"])


@pytest.mark.parametrize(("f_port", "hex_bytes", "expected"), EXTRA_VECTORS)
def test_extra_vector(f_port: int, hex_bytes: str, expected: dict[str, Any]) -> None:
    decoded = check_vector(CODEC, f_port, bytes.fromhex(hex_bytes), expected)
    if decoded is not None:
        assert list(decoded) == list(expected["data"]), "key order follows the vendor codec"


def test_integral_values_are_ints() -> None:
    decoded = CODEC.decode(bytes.fromhex("014d00640b201907180000"), 6)
    assert type(decoded["SWver"]) is int


@pytest.mark.parametrize(
    ("f_port", "hex_bytes"),
    [(6, ""), (6, "014d"), (6, "014d00640b2019"), (6, "014d011e01"), (7, "82"), (7, "824d0384"), (13, "")],
)
def test_truncated_frames_raise_codec_error(f_port: int, hex_bytes: str) -> None:
    with pytest.raises(CodecError, match="truncated"):
        CODEC.decode(bytes.fromhex(hex_bytes), f_port)


def test_measure_status_report() -> None:
    decoded = CODEC.decode(bytes.fromhex("014d011e01000000000000"), 6)
    assert CODEC.measure(decoded) == [
        Measurement("button_press", 1, "count", "alarm"),
        Measurement("battery_voltage", 3, "V"),
    ]


def test_measure_low_battery_without_alarm() -> None:
    decoded = CODEC.decode(bytes.fromhex("014d019d000000000000"), 6)
    assert CODEC.measure(decoded) == [Measurement("battery_voltage", 2.9, "V")]


@pytest.mark.parametrize(
    ("f_port", "hex_bytes"), [(6, "014d00640b201907180000"), (7, "824d038407080100000000"), (13, "8205")]
)
def test_measure_config_frames_give_nothing(f_port: int, hex_bytes: str) -> None:
    assert CODEC.measure(CODEC.decode(bytes.fromhex(hex_bytes), f_port)) == []


def test_codec_metadata() -> None:
    assert CODEC.models == ()
    assert CODEC.description


@given(st.binary(max_size=64), st.integers(min_value=0, max_value=255))
def test_fuzz_decode_and_measure(data: bytes, f_port: int) -> None:
    check_contract(CODEC, data, f_port)


@given(st.sampled_from([6, 7, 13]), st.sampled_from([0x01, 0x02, 0x81, 0x82]), st.binary(max_size=12))
def test_fuzz_known_ports(f_port: int, first: int, rest: bytes) -> None:
    check_contract(CODEC, bytes([first]) + rest, f_port)
