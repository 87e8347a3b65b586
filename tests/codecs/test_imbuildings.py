"""The shared IMBuildings codec against the vendor's example and hand-built frames of each device type."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from a2d.measurements import Measurement
from edge_agent.codecs import CodecError, imbuildings
from tests.vectors import check_contract, check_vector, corpus_vectors

CODEC = imbuildings.CODECS[0]

CORPUS = [
    pytest.param(vector, id=vector["description"]) for vector in corpus_vectors("imbuildings/people-counter")
]

PEOPLE_COUNTER_V6 = "02060004a30b00f0d40e0001000000000020000d000a6a"

# (bytes hex, fPort, expected data in the vendor's key order), worked out from the vendor codec.
EXTRA = [
    # people counter, LoRaWAN variant 6, body only on fPort 26 (last 13 bytes of the corpus frame)
    (
        "0001000000000020000d000a6a",
        26,
        {
            "device_status": 0,
            "battery_voltage": 2.56,
            "counter_a": 0,
            "counter_b": 0,
            "sensor_status": 32,
            "total_counter_a": 13,
            "total_counter_b": 10,
            "payload_counter": 106,
        },
    ),
    # people counter, variant 7 body only on fPort 27
    ("20000d000a", 27, {"sensor_status": 32, "total_counter_a": 13, "total_counter_b": 10}),
    # people counter, LoRaWAN variant 5: counters A 7, B 11, 3.30 V
    (
        "02050004a30b00f0d40e00014a0007000b2005",
        1,
        {
            "device_type_identifier": 2,
            "device_type": "People Counter",
            "device_type_variant": 5,
            "device_id": "0004a30b00f0d40e",
            "device_status": 0,
            "battery_voltage": 3.3,
            "counter_a": 7,
            "counter_b": 11,
            "sensor_status": 32,
            "payload_counter": 5,
        },
    ),
    # people counter, NB-IoT variant 2 with RSSI -56
    (
        "0202a1b2c3d4e5f600012cc8030420",
        1,
        {
            "device_type_identifier": 2,
            "device_type": "People Counter",
            "device_type_variant": 2,
            "device_id": "a1b2c3d4e5f6",
            "device_status": 0,
            "battery_voltage": 3,
            "rssi": -56,
            "counter_a": 3,
            "counter_b": 4,
            "sensor_status": 32,
        },
    ),
    # people counter, variant 7 with header (15 bytes): the vendor reads status and battery from
    # the bytes that also hold the sensor status and total A
    (
        "02070004a30b00f0d40e20000d000a",
        1,
        {
            "device_type_identifier": 2,
            "device_type": "People Counter",
            "device_type_variant": 7,
            "device_id": "0004a30b00f0d40e",
            "device_status": 32,
            "battery_voltage": 0.13,
            "sensor_status": 32,
            "total_counter_a": 13,
            "total_counter_b": 10,
        },
    ),
    # comfort sensor, LoRaWAN variant 3: 23.32 °C, 45 %, 800 ppm, presence
    (
        "01030004a30b00f0aa01000148091c1194032001",
        1,
        {
            "device_type_identifier": 1,
            "device_type": "Comfort Sensor CO2",
            "device_type_variant": 3,
            "device_id": "0004a30b00f0aa01",
            "battery_voltage": 3.28,
            "device_status": 0,
            "temperature": 23.32,
            "humidity": 45,
            "presence": 1,
            "co2": 800,
        },
    ),
    # comfort sensor, NB-IoT variant 1: -1 °C (signed), 67.2 %
    (
        "0101a1b2c3d4e5f6000136c2ff9c1a4001f401",
        1,
        {
            "device_type_identifier": 1,
            "device_type": "Comfort Sensor CO2",
            "device_type_variant": 1,
            "device_id": "a1b2c3d4e5f6",
            "battery_voltage": 3.1,
            "rssi": -62,
            "temperature": -1,
            "humidity": 67.2,
            "presence": 1,
            "co2": 500,
        },
    ),
    # comfort sensor, variant 4: min/max/current temperature
    (
        "0104a1b2c3d4e5f600011900ff9c08fc0960",
        1,
        {
            "device_type_identifier": 1,
            "device_type": "Comfort Sensor CO2",
            "device_type_variant": 4,
            "device_id": "a1b2c3d4e5f6",
            "battery_voltage": 2.81,
            "rssi": 0,
            "min_temperature": -1,
            "max_temperature": 23,
            "current_temperature": 24,
        },
    ),
    # comfort sensor, variant 5: presence alert
    (
        "0105a1b2c3d4e5f6000119ff01",
        1,
        {
            "device_type_identifier": 1,
            "device_type": "Comfort Sensor CO2",
            "device_type_variant": 5,
            "device_id": "a1b2c3d4e5f6",
            "battery_voltage": 2.81,
            "rssi": -1,
            "presence_event": 1,
        },
    ),
    # button (Moodbox), variants 1 and 2
    (
        "0301a1b2c3d4e5f60001190001",
        1,
        {
            "device_type_identifier": 3,
            "device_type": "Button",
            "device_type_variant": 1,
            "device_id": "a1b2c3d4e5f6",
            "device_status": 0,
            "battery_voltage": 2.81,
            "rssi": 0,
            "button_pressed": 1,
        },
    ),
    (
        "0302a1b2c3d4e5f6000119000000000000000003",
        1,
        {
            "device_type_identifier": 3,
            "device_type": "Button",
            "device_type_variant": 2,
            "device_id": "a1b2c3d4e5f6",
            "device_status": 0,
            "battery_voltage": 2.81,
            "rssi": 0,
            "button_pressed": 1,
        },
    ),
    # pulse counter
    (
        "0401a1b2c3d4e5f6000119000000000000000007",
        1,
        {
            "device_type_identifier": 4,
            "device_type": "Counter",
            "device_type_variant": 1,
            "device_id": "a1b2c3d4e5f6",
            "device_status": 0,
            "battery_voltage": 2.81,
            "rssi": 0,
            "counter": 7,
        },
    ),
    # the vendor codec answers {} for wrong lengths, variant 1 and unknown types
    ("0401a1b2c3d4e5f60001190000000000000007", 1, {}),
    ("0201a1b2c3d4e5f6000119000000000000000000000000", 1, {}),
    ("0906000000", 1, {}),
    ("", 1, {}),
    (PEOPLE_COUNTER_V6[:-2], 1, {}),
]

# frames the vendor codec cannot read (it throws, or yields NaN / undefined fields)
BROKEN = [
    ("0206000000", 1),  # header shorter than the 6-byte device id
    ("0107", 1),
    ("0206000000", 26),  # header-less body shorter than 13 bytes
    ("200d000a", 27),
    ("02070004a30b00f0d40e2000", 1),  # variant 7 without the battery bytes
]


@pytest.mark.parametrize("vector", CORPUS)
def test_corpus_vector(vector: dict) -> None:
    decoded = check_vector(CODEC, vector["fPort"], bytes.fromhex(vector["bytes_hex"]), vector["expected"])
    assert decoded is not None
    assert list(decoded) == list(vector["expected"]["data"])


def test_corpus_is_present() -> None:
    assert len(CORPUS) == 1


@pytest.mark.parametrize(("hex_bytes", "f_port", "expected"), EXTRA)
def test_extra_vector(hex_bytes: str, f_port: int, expected: dict) -> None:
    decoded = check_vector(CODEC, f_port, bytes.fromhex(hex_bytes), {"data": expected})
    assert decoded is not None
    assert list(decoded) == list(expected)


@pytest.mark.parametrize(("hex_bytes", "f_port"), BROKEN)
def test_unreadable_frames_are_codec_errors(hex_bytes: str, f_port: int) -> None:
    with pytest.raises(CodecError, match="too short"):
        CODEC.decode(bytes.fromhex(hex_bytes), f_port)


def _pairs(found: list[Measurement]) -> dict[tuple[str, str | None], float]:
    return {(m.quantity, m.channel): m.value for m in found}


def test_measure_people_counter() -> None:
    found = _pairs(CODEC.measure(CODEC.decode(bytes.fromhex("02050004a30b00f0d40e00014a0007000b2005"), 1)))
    assert found == {
        ("people_in", None): 7,
        ("people_out", None): 11,
        ("battery_voltage", None): 3.3,
    }
    found = _pairs(CODEC.measure(CODEC.decode(bytes.fromhex(PEOPLE_COUNTER_V6), 1)))
    assert found == {
        ("people_in", None): 0,
        ("people_out", None): 0,
        ("people_in_total", None): 13,
        ("people_out_total", None): 10,
        ("battery_voltage", None): 2.56,
    }


def test_measure_comfort_sensor_and_button() -> None:
    comfort = CODEC.decode(bytes.fromhex("01030004a30b00f0aa01000148091c1194032001"), 1)
    assert _pairs(CODEC.measure(comfort)) == {
        ("air_temperature", None): 23.32,
        ("humidity", None): 45,
        ("battery_voltage", None): 3.28,
    }
    button = CODEC.decode(bytes.fromhex("0301a1b2c3d4e5f60001190001"), 1)
    assert _pairs(CODEC.measure(button)) == {("button_press", "button"): 1, ("battery_voltage", None): 2.81}
    released = CODEC.decode(bytes.fromhex("0301a1b2c3d4e5f60001190000"), 1)
    assert _pairs(CODEC.measure(released)) == {("battery_voltage", None): 2.81}


def test_measure_of_empty_decode() -> None:
    assert CODEC.measure({}) == []


def test_models_cover_every_device_on_the_shared_codec() -> None:
    assert CODEC.id == "imbuildings/people-counter"
    assert set(CODEC.models) == {
        "imbuildings/imbuildings-people-counter",
        "imbuildings/imbuildings-office-occupancy-counter",
        "imbuildings/imbuildings-comfort-sensor",
        "imbuildings/imbuildings-moodbox",
        "imbuildings/comfort-sensor",
    }
    assert all(name == name.lower() for name in CODEC.models)


@given(st.binary(max_size=64), st.integers(min_value=0, max_value=255))
def test_fuzz_any_bytes(data: bytes, f_port: int) -> None:
    check_contract(CODEC, data, f_port)


@given(
    st.integers(min_value=1, max_value=4),
    st.integers(min_value=0, max_value=8),
    st.binary(max_size=30),
    st.sampled_from([1, 26, 27]),
)
def test_fuzz_typed_frames(payload_type: int, variant: int, body: bytes, f_port: int) -> None:
    check_contract(CODEC, bytes([payload_type, variant]) + body, f_port)
