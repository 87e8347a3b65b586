"""The fast upload decoder and the general path agree on every body; the fast one keeps payload text."""

from __future__ import annotations

import json

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from a2d.syncwire import parse_records
from sync_server.readings import readings
from sync_server.routes.records import parse_body
from sync_server.upload import decode

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


def general(data: bytes) -> list[tuple[str, str, str, str]]:
    return [
        (r.record_id, r.stream, r.ts, orjson.dumps(r.payload).decode())
        for r in parse_records(orjson.loads(data))
    ]


def test_fast_path_keeps_the_payload_text_and_finds_the_readings() -> None:
    data = body(RECORD)
    fast = decode(data)
    assert fast is not None
    ((record, text),) = fast
    assert json.loads(text) == RECORD["payload"]
    assert text == orjson.dumps(RECORD["payload"]).decode()
    found = readings("dev-1", record)
    assert [(r.quantity, r.channel, r.value, r.sensor) for r in found] == [
        ("button_press", "short", 1.0, "24e124538b223344")
    ]


def test_a_payload_over_several_lines_is_stored_on_one_line() -> None:
    data = json.dumps({"records": [RECORD]}, indent=2).encode()
    assert decode(data) is None  # the general path re-serialises it
    ((record, text),) = parse_body(data)
    assert "\n" not in text and json.loads(text) == RECORD["payload"]


def test_bodies_the_fast_path_refuses_go_the_general_way() -> None:
    bad = [
        b'{"records": [{"record_id": "", "stream": "s", "ts": "t", "payload": {}}]}',
        b'{"records": [{"record_id": "a", "stream": "s", "ts": "t", "payload": [1]}]}',
        b'{"records": [1]}',
        b"{}",
    ]
    for data in bad:
        assert decode(data) is None, data


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    rid=st.text(min_size=1, max_size=12),
    ts=st.text(max_size=30),
    payload=st.dictionaries(
        st.sampled_from(["dev_eui", "device_name", "measurements", "x"]), json_values, max_size=4
    ),
)
def test_fast_and_general_paths_agree(rid: str, ts: str, payload: dict) -> None:
    data = body({"record_id": rid, "stream": "uplink", "ts": ts, "payload": payload})
    fast = decode(data)
    if fast is None:
        return
    expected = general(data)
    got = [(r.record_id, r.stream, r.ts, text) for r, text in fast]
    assert [g[:3] for g in got] == [e[:3] for e in expected]
    assert [json.loads(g[3]) for g in got] == [json.loads(e[3]) for e in expected]
    full = parse_records(orjson.loads(data))
    assert [readings("d", r) for r, _ in fast] == [readings("d", r) for r in full]
