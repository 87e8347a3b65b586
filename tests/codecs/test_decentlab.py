"""Decentlab DL-5TM, DL-SMTP and DL-TRS12 codecs against the vendor's examples and hand-built frames."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from a2d.measurements import Measurement
from edge_agent.codecs import CodecError, decentlab
from tests.vectors import check_contract, check_vector, corpus_vectors

CODECS = {codec.id: codec for codec in decentlab.CODECS}

VWC = "m³⋅m⁻³"


def _reading(display_name: str, value: float, unit: str | None = None) -> dict:
    entry: dict = {"displayName": display_name, "value": value}
    if unit is not None:
        entry["unit"] = unit
    return entry


CORPUS = [
    pytest.param(device, vector, id=f"{device}:{vector['description']}")
    for device in ("decentlab/dl-5tm", "decentlab/dl-smtp")
    for vector in corpus_vectors(device)
]

# (codec id, bytes hex, fPort, expected data); expected values in the vendor's key order.
EXTRA = [
    # dl-trs12-codec.yaml, example 1
    (
        "decentlab/dl-trs12",
        "0210d3000346be813d00000c80",
        1,
        {
            "protocol_version": 2,
            "device_id": 4307,
            "dielectric_permittivity": _reading("Dielectric permittivity", 1.1831248966814998),
            "volumetric_water_content": _reading("Volumetric water content", 0.006886900000000029, VWC),
            "soil_temperature": _reading("Soil temperature", 31.7, "°C"),
            "electrical_conductivity": _reading("Electrical conductivity", 0, "µS⋅cm⁻¹"),
            "battery_voltage": _reading("Battery voltage", 3.2, "V"),
        },
    ),
    # dl-trs12-codec.yaml, example 2 (battery only)
    (
        "decentlab/dl-trs12",
        "0210d300020c80",
        1,
        {"protocol_version": 2, "device_id": 4307, "battery_voltage": _reading("Battery voltage", 3.2, "V")},
    ),
    # hand-built: wet soil, frost, 500 µS/cm, 3.000 V
    (
        "decentlab/dl-trs12",
        "0210d300035dc07fcc01f40bb8",
        1,
        {
            "protocol_version": 2,
            "device_id": 4307,
            "dielectric_permittivity": _reading("Dielectric permittivity", 11.128148748544076),
            "volumetric_water_content": _reading("Volumetric water content", 0.23536, VWC),
            "soil_temperature": _reading("Soil temperature", -5.2, "°C"),
            "electrical_conductivity": _reading("Electrical conductivity", 500, "µS⋅cm⁻¹"),
            "battery_voltage": _reading("Battery voltage", 3, "V"),
        },
    ),
    # hand-built: sensor group only, no battery word
    (
        "decentlab/dl-trs12",
        "0210d300015dc07fcc01f4",
        1,
        {
            "protocol_version": 2,
            "device_id": 4307,
            "dielectric_permittivity": _reading("Dielectric permittivity", 11.128148748544076),
            "volumetric_water_content": _reading("Volumetric water content", 0.23536, VWC),
            "soil_temperature": _reading("Soil temperature", -5.2, "°C"),
            "electrical_conductivity": _reading("Electrical conductivity", 500, "µS⋅cm⁻¹"),
        },
    ),
    # hand-built: a flag bit beyond the device's groups and trailing bytes are ignored
    (
        "decentlab/dl-trs12",
        "0210d300060bb8ffff",
        2,
        {"protocol_version": 2, "device_id": 4307, "battery_voltage": _reading("Battery voltage", 3, "V")},
    ),
    # hand-built DL-5TM frame: permittivity 11.1, 10 °C, 3.1 V
    (
        "decentlab/dl-5tm",
        "020abc0003022b01f40c1c",
        1,
        {
            "protocol_version": 2,
            "device_id": 2748,
            "dielectric_permittivity": _reading("Dielectric permittivity", 11.1),
            "volumetric_water_content": _reading("Volumetric water content", 0.2092353133, VWC),
            "soil_temperature": _reading("Soil temperature", 10, "°C"),
            "battery_voltage": _reading("Battery voltage", 3.1, "V"),
        },
    ),
]

# (codec id, bytes hex, the vendor's error messages)
ERRORS = [
    ("decentlab/dl-trs12", "0310d300020c80", ["protocol version 3 doesn't match v2"]),
    ("decentlab/dl-5tm", "", ["protocol version undefined doesn't match v2"]),
    ("decentlab/dl-smtp", "000b5000020b3b", ["protocol version 0 doesn't match v2"]),
]

TRUNCATED = [
    ("decentlab/dl-trs12", "0210d3000346be813d"),  # group needs 3 words, has 2
    ("decentlab/dl-5tm", "02023b00030037027100"),  # battery word cut in half
    ("decentlab/dl-smtp", "020b50"),  # no flags
]


@pytest.mark.parametrize(("device", "vector"), CORPUS)
def test_corpus_vector(device: str, vector: dict) -> None:
    check_vector(CODECS[device], vector["fPort"], bytes.fromhex(vector["bytes_hex"]), vector["expected"])


def test_corpus_is_present() -> None:
    assert len(CORPUS) == 4


@pytest.mark.parametrize(("device", "hex_bytes", "f_port", "expected"), EXTRA)
def test_extra_vector(device: str, hex_bytes: str, f_port: int, expected: dict) -> None:
    decoded = check_vector(CODECS[device], f_port, bytes.fromhex(hex_bytes), {"data": expected})
    assert decoded is not None
    assert list(decoded) == list(expected)
    for name, entry in expected.items():
        if isinstance(entry, dict):
            assert list(decoded[name]) == list(entry)


@pytest.mark.parametrize(("device", "hex_bytes", "errors"), ERRORS)
def test_vendor_errors(device: str, hex_bytes: str, errors: list[str]) -> None:
    check_vector(CODECS[device], 1, bytes.fromhex(hex_bytes), {"errors": errors})


@pytest.mark.parametrize(("device", "hex_bytes"), TRUNCATED)
def test_truncated_frames_are_codec_errors(device: str, hex_bytes: str) -> None:
    with pytest.raises(CodecError, match="truncated"):
        CODECS[device].decode(bytes.fromhex(hex_bytes), 1)


def _by_key(found: list[Measurement]) -> dict[tuple[str, str | None], Measurement]:
    return {(m.quantity, m.channel): m for m in found}


def test_measure_5tm() -> None:
    codec = CODECS["decentlab/dl-5tm"]
    found = _by_key(codec.measure(codec.decode(bytes.fromhex("02023b0003003702710c60"), 1)))
    assert set(found) == {("soil_moisture", None), ("soil_temperature", None), ("battery_voltage", None)}
    assert found["soil_moisture", None].value == pytest.approx(-2.15397767)
    assert found["soil_moisture", None].unit == "%"
    assert found["soil_temperature", None].value == 22.5
    assert found["battery_voltage", None].value == 3.168


def test_measure_smtp_skips_unconnected_depths() -> None:
    codec = CODECS["decentlab/dl-smtp"]
    frame = "020b50000309018a8c09438a9809278a920b3c8aa50c9c8a8c11e08aa500000000000000000b3b"
    found = _by_key(codec.measure(codec.decode(bytes.fromhex(frame), 1)))
    moisture = [-0.39, -0.258, -0.314, 0.752, 1.456, 4.152]
    temperature = [27, 27.12, 27.06, 27.25, 27, 27.25]
    expected = {("battery_voltage", None)}
    for depth in range(6):
        channel = f"depth_{depth}"
        expected |= {("soil_moisture", channel), ("soil_temperature", channel)}
        assert found["soil_moisture", channel].value == pytest.approx(moisture[depth])
        assert found["soil_temperature", channel].value == pytest.approx(temperature[depth])
    assert set(found) == expected
    assert found["battery_voltage", None].value == 2.875


def test_measure_trs12() -> None:
    codec = CODECS["decentlab/dl-trs12"]
    found = _by_key(codec.measure(codec.decode(bytes.fromhex("0210d300035dc07fcc01f40bb8"), 1)))
    assert found["soil_moisture", None].value == pytest.approx(23.536)
    assert found["soil_temperature", None].value == -5.2
    assert found["conductivity", None].value == 500
    assert found["conductivity", None].unit == "µS/cm"
    assert found["battery_voltage", None].value == 3
    assert len(found) == 4


def test_measure_battery_only_frame() -> None:
    codec = CODECS["decentlab/dl-smtp"]
    found = codec.measure(codec.decode(bytes.fromhex("020b5000020b3b"), 1))
    assert [(m.quantity, m.value) for m in found] == [("battery_voltage", 2.875)]


def test_codec_names() -> None:
    assert set(CODECS) == {"decentlab/dl-5tm", "decentlab/dl-smtp", "decentlab/dl-trs12"}
    for codec in decentlab.CODECS:
        assert codec.id == codec.id.lower()
        assert codec.description


def _check_fuzz(data: bytes, f_port: int) -> None:
    for codec in decentlab.CODECS:
        check_contract(codec, data, f_port)


@given(st.binary(max_size=64), st.integers(min_value=0, max_value=255))
def test_fuzz_any_bytes(data: bytes, f_port: int) -> None:
    _check_fuzz(data, f_port)


@given(st.binary(min_size=2, max_size=4), st.binary(max_size=60), st.integers(min_value=0, max_value=255))
def test_fuzz_version_2_frames(header: bytes, body: bytes, f_port: int) -> None:
    _check_fuzz(b"\x02" + header + body, f_port)
