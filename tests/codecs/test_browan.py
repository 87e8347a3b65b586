"""Browan Tabs push button codec: vectors from the vendor examples and codec, fuzzing.

The shared corpus has no vector for this device, so every vector lives here: the codec yaml's
examples plus frames worked out by hand from the vendor decoder.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from a2d.measurements import Measurement
from edge_agent.codecs import browan
from edge_agent.codecs._base import Codec, CodecError
from tests.vectors import check_contract, check_vector, corpus_vectors

CODEC: Codec = {c.id: c for c in browan.CODECS}["browan/tbpb100"]

# (fPort, bytes hex, expected {"data": ...} or {"errors": [...]})
VECTORS: list[tuple[int, str, dict[str, Any]]] = [
    # Vendor example "Button I pressed".
    (147, "01fe370000040000", {"data": {"status": 1, "battery": 3.9, "temperatureBoard": 23}}),
    # Vendor example "Unknown FPort".
    (42, "01", {"errors": ["unknown FPort"]}),
    # Released: battery nibble 0xb -> 3.6 V, board 0x3a - 32 = 26 °C.
    (147, "000b3a0000000000", {"data": {"status": 0, "battery": 3.6, "temperatureBoard": 26}}),
    # Battery nibble 5 -> exactly 3 V; bit 7 of the temperature byte is ignored.
    (147, "0105bc0000010000", {"data": {"status": 1, "battery": 3, "temperatureBoard": 28}}),
    # Only bit 0 of the status byte counts.
    (147, "fe0f7f0000000000", {"data": {"status": 0, "battery": 4, "temperatureBoard": 95}}),
    # All-zero and empty frames carry nothing, whatever the port.
    (147, "0000000000000000", {"data": {}}),
    (42, "00000000", {"data": {}}),
    (147, "", {"data": {}}),
]


def test_corpus_has_no_vectors_yet() -> None:
    # If the corpus gains vectors, they are checked here too (yaml examples may order keys otherwise).
    for vector in corpus_vectors("browan/tbpb100"):
        check_vector(CODEC, vector["fPort"], bytes.fromhex(vector["bytes_hex"]), vector["expected"])


@pytest.mark.parametrize(("f_port", "hex_bytes", "expected"), VECTORS)
def test_vector(f_port: int, hex_bytes: str, expected: dict[str, Any]) -> None:
    decoded = check_vector(CODEC, f_port, bytes.fromhex(hex_bytes), expected)
    if decoded is not None:
        assert list(decoded) == list(expected["data"]), "key order follows the vendor codec"


def test_integral_battery_is_int() -> None:
    assert type(CODEC.decode(bytes.fromhex("0105bc0000010000"), 147)["battery"]) is int


@pytest.mark.parametrize("hex_bytes", ["01", "01fe"])
def test_truncated_frames_raise_codec_error(hex_bytes: str) -> None:
    with pytest.raises(CodecError, match="truncated"):
        CODEC.decode(bytes.fromhex(hex_bytes), 147)


def test_measure_press() -> None:
    decoded = CODEC.decode(bytes.fromhex("01fe370000040000"), 147)
    assert CODEC.measure(decoded) == [
        Measurement("button_press", 1, "count", "button"),
        Measurement("battery_voltage", 3.9, "V"),
    ]


def test_measure_release_gives_battery_only() -> None:
    decoded = CODEC.decode(bytes.fromhex("000b3a0000000000"), 147)
    assert CODEC.measure(decoded) == [Measurement("battery_voltage", 3.6, "V")]


def test_measure_empty_frame_gives_nothing() -> None:
    assert CODEC.measure(CODEC.decode(b"\x00" * 8, 147)) == []


def test_codec_metadata() -> None:
    assert CODEC.models == ()
    assert CODEC.description


@given(st.binary(max_size=64), st.integers(min_value=0, max_value=255))
def test_fuzz_decode_and_measure(data: bytes, f_port: int) -> None:
    check_contract(CODEC, data, f_port)


@given(st.binary(max_size=64))
def test_fuzz_push_button_port(data: bytes) -> None:
    if len(data) >= 3:
        CODEC.decode(data, 147)  # only frames too short for the three status bytes are rejected
    check_contract(CODEC, data, 147)
