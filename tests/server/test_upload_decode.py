"""The upload validator (a2d.syncwire): its fast path and its general path agree on every body; the
fast one keeps the payload text."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from a2d.syncwire import STREAMS, Checked, WireError, read_fast, read_general, read_upload
from sync_server.readings import readings

RECORD = {
    "record_id": "cs:up:1",
    "stream": "uplink",
    "ts": "2026-06-02T08:15:31.412883Z",
    "payload": {
        "dev_eui": "24e124538b223344",
        "device_name": "feedback-rathaus-eg-1",
        "measurements": [{"quantity": "button_press", "value": 1, "unit": "count", "channel": "short"}],
        "meta": {"rssi": -87},
    },
}


def body(*records: dict) -> bytes:
    return orjson.dumps({"records": list(records)})


def test_fast_path_keeps_the_payload_text_and_finds_the_readings() -> None:
    data = body(RECORD)
    fast = read_fast(data)
    assert fast is not None
    (record,) = fast
    assert record.text == orjson.dumps(RECORD["payload"]).decode()
    assert (record.ts, record.hour) == ("2026-06-02T08:15:31.412883Z", "2026-06-02T08:00:00Z")
    found = readings("dev-1", record)
    assert [(r.quantity, r.channel, r.value, r.sensor, r.sensor_name, r.hour) for r in found] == [
        ("button_press", "short", 1.0, "24e124538b223344", "feedback-rathaus-eg-1", "2026-06-02T08:00:00Z")
    ]


def test_a_payload_over_several_lines_is_stored_on_one_line() -> None:
    data = json.dumps({"records": [RECORD]}, indent=2).encode()
    assert read_fast(data) is None  # the general path writes it again
    (record,) = read_upload(data)
    assert "\n" not in record.text and json.loads(record.text) == RECORD["payload"]


def test_bodies_the_fast_path_refuses_go_the_general_way() -> None:
    bad = [
        b'{"records": [{"record_id": "", "stream": "s", "ts": "t", "payload": {}}]}',
        b'{"records": [{"record_id": "a", "stream": "s", "ts": "t", "payload": [1]}]}',
        b'{"records": [1]}',
        b"{}",
    ]
    for data in bad:
        assert read_fast(data) is None, data
        with pytest.raises(WireError) as caught:
            read_upload(data)
        assert caught.value.status == 400


def test_the_rules_refuse_the_first_record_that_breaks_one() -> None:
    later_nul = {**RECORD, "record_id": "b", "payload": {"t": "\u0000"}}
    for data in (body(RECORD, {**RECORD, "stream": "nope"}, later_nul), body(RECORD, later_nul)):
        for read in (read_fast, read_general):
            with pytest.raises(WireError) as caught:
                read(data)
            assert caught.value.status == 422 and caught.value.detail.startswith("records[1] ")
    (record,) = read_upload(body({**RECORD, "ts": "2026-06-02T10:15:31+02:00"}))
    assert (record.ts, record.hour) == ("2026-06-02T08:15:31.000000Z", "2026-06-02T08:00:00Z")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)  # fmt: skip
records = st.fixed_dictionaries(
    {
        "record_id": st.text(min_size=1, max_size=12),
        "stream": st.sampled_from(STREAMS) | st.text(min_size=1, max_size=6),
        "ts": st.sampled_from(["2026-06-02T08:15:31.412883Z", "2026-02-30T08:15:31.412883Z", "2026-06-02"])
        | st.text(max_size=30),
        "payload": st.dictionaries(
            st.sampled_from(["dev_eui", "device_name", "measurements", "x"]), json_values, max_size=4
        ),
    }  # fmt: skip
)


def outcome(read: Any, data: bytes) -> Any:
    """What a path makes of a body: its records (the payload text read back, readings found), the
    refusal, or None when the fast path does not take it."""
    try:
        got: list[Checked] | None = read(data)
    except WireError as exc:
        return (type(exc), exc.status, exc.detail)
    if got is None:
        return None
    return [((*c[:4], json.loads(c.text), *c[5:]), readings("d", c)) for c in got]


@settings(max_examples=300, deadline=None)
@given(st.lists(records, min_size=1, max_size=4))
def test_fast_and_general_paths_agree(batch: list[dict]) -> None:
    data = body(*batch)
    fast = outcome(read_fast, data)
    if fast is not None:
        assert fast == outcome(read_general, data)
