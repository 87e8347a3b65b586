"""Parametric PCR2 codec against the vendor's examples and hand-built frames."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from a2d.measurements import Measurement
from edge_agent.codecs import CodecError, parametric
from tests.vectors import check_contract, check_vector, corpus_vectors

CODEC = parametric.CODECS[0]

CORPUS = [pytest.param(vector, id=vector["description"]) for vector in corpus_vectors("parametric/pcr2")]

# (bytes hex, fPort, expected data in the vendor's key order), worked out from the vendor codec.
EXTRA = [
    # the V5 config bytes of a later pcr2-codec.yaml (DeviceType 1), decoded by pcr2.js
    (
        "be010501030a0000020001000a05a00000000000780128003200c80107003c040101",
        190,
        {
            "DeviceType": 1,
            "Firmware": "3.10.0",
            "OperationMode": 0,
            "PayloadType": 2,
            "DeviceClass": 0,
            "UplinkType": 1,
            "UplinkInterval": 10,
            "LinkCheckInterval": 1440,
            "CapacityLimit": 0,
            "HoldoffTime": 0,
            "InactivityTimeout": 120,
            "RadarEnabled": 1,
            "BeamAngle": 40,
            "MinDist": 50,
            "MaxDist": 200,
            "MinSpeed": 1,
            "MaxSpeed": 7,
            "RadarAutotune": 0,
            "RadarSensitivity": 60,
            "SBXVersion": "4.1.1",
        },
    ),
    # ELSYS records; temperature -10.5 °C floors to -11
    ("0a000501ff97", 14, {"LTR": 5, "TEMP": -11}),
    # an unknown record type ends the frame
    ("0a0001ff160002", 14, {"LTR": 1}),
    ("0a0005160003ff97", 14, {"LTR": 5, "RTL": 3}),
    # extended V4, more people out than in since power-up, -2 °C, no solar charger
    (
        "be0104000000020005001200000000ffec",
        14,
        {"LTR": 0, "RTL": 2, "LTR_SUM": 5, "RTL_SUM": 18, "SBX_BATT": 0, "SBX_PV": 0, "DIFF": 13, "TEMP": -2},
    ),
    # extended V3, battery gauge 50, 300 mW PV, -2.1 °C floors to -3
    (
        "be0103000700000107000032012cffeb",
        14,
        {
            "LTR": 7,
            "RTL": 0,
            "LTR_SUM": 263,
            "RTL_SUM": 0,
            "SBX_BATT": 50,
            "SBX_PV": 300,
            "DIFF": 263,
            "TEMP": -3,
        },
    ),
    # frames the vendor codec answers with {}
    ("0066016700e1", 14, {}),  # Cayenne LPP, not decoded
    ("be0103000100020003000464", 14, {}),  # extended V3 of the wrong length
    ("aa01030003040000000001000a05a00000000050", 190, {}),  # 20-byte config without the V3 header
    ("0a0001", 1, {}),  # other fPorts
    ("", 2, {}),
]

# frames no vendor decoder accepts (the vendor codec throws)
NO_DECODER = [
    ("0b0001", 14, "application payload"),
    ("", 14, "application payload"),
    ("00030200000000000a05a00000", 190, "config payload"),
    ("", 190, "config payload"),
]


@pytest.mark.parametrize("vector", CORPUS)
def test_corpus_vector(vector: dict) -> None:
    decoded = check_vector(CODEC, vector["fPort"], bytes.fromhex(vector["bytes_hex"]), vector["expected"])
    assert decoded is not None


def test_corpus_is_present() -> None:
    assert len(CORPUS) == 9


@pytest.mark.parametrize(("hex_bytes", "f_port", "expected"), EXTRA)
def test_extra_vector(hex_bytes: str, f_port: int, expected: dict) -> None:
    decoded = check_vector(CODEC, f_port, bytes.fromhex(hex_bytes), {"data": expected})
    assert decoded is not None
    assert list(decoded) == list(expected)


def test_config_v2_key_order() -> None:
    decoded = CODEC.decode(bytes.fromhex("00030200000000000a05a0000050"), 190)
    assert list(decoded) == [
        "DeviceType",
        "FirmwareVersion",
        "OperatingMode",
        "PayloadType",
        "UplinkType",
        "UplinkInterval",
        "LinkCheckInterval",
        "HoldoffTime",
        "RadarSensitivity",
    ]


@pytest.mark.parametrize(("hex_bytes", "f_port", "what"), NO_DECODER)
def test_unknown_frames_are_codec_errors(hex_bytes: str, f_port: int, what: str) -> None:
    with pytest.raises(CodecError, match=what):
        CODEC.decode(bytes.fromhex(hex_bytes), f_port)


@pytest.mark.parametrize("hex_bytes", ["0a", "0a00011600", "0a00011600020100"])
def test_truncated_elsys_records_are_codec_errors(hex_bytes: str) -> None:
    with pytest.raises(CodecError, match="truncated"):
        CODEC.decode(bytes.fromhex(hex_bytes), 14)


def _pairs(found: list[Measurement]) -> dict[str, float]:
    assert all(m.channel is None for m in found)
    return {m.quantity: m.value for m in found}


def test_measure_extended_v3_with_battery_gauge() -> None:
    decoded = CODEC.decode(bytes.fromhex("be01030001000200030004640ce40139"), 14)
    assert _pairs(CODEC.measure(decoded)) == {
        "people_in": 1,
        "people_out": 2,
        "people_in_total": 3,
        "people_out_total": 4,
        "air_temperature": 31,
        "battery": 100,
    }


def test_measure_extended_v4_battery_voltage_is_not_a_percentage() -> None:
    decoded = CODEC.decode(bytes.fromhex("be010400010002000300041c200ce40139"), 14)
    assert "battery" not in _pairs(CODEC.measure(decoded))


def test_measure_elsys_and_config() -> None:
    decoded = CODEC.decode(bytes.fromhex("0a0001160002010023"), 14)
    assert _pairs(CODEC.measure(decoded)) == {"people_in": 1, "people_out": 2, "air_temperature": 3}
    config = CODEC.decode(bytes.fromhex("00030200000000000a05a0000050"), 190)
    assert CODEC.measure(config) == []


def test_models() -> None:
    assert CODEC.id == "parametric/pcr2"
    assert set(CODEC.models) == {"parametric/pcr2-id", "parametric/pcr2-od", "parametric/pcr2-ods"}


@given(st.binary(max_size=64), st.integers(min_value=0, max_value=255))
def test_fuzz_any_bytes(data: bytes, f_port: int) -> None:
    check_contract(CODEC, data, f_port)


@given(
    st.sampled_from([b"\x0a", b"\x00\x66", b"\xbe\x01\x03", b"\xbe\x01\x04", b"\xbe\x01\x05", b""]),
    st.binary(max_size=40),
    st.sampled_from([14, 190]),
)
def test_fuzz_known_headers(header: bytes, body: bytes, f_port: int) -> None:
    check_contract(CODEC, header + body, f_port)
