"""a2d.syncwire owns both ends of the upload: what its encoder writes, its validator reads back as
sent, and the limits are its constants on both paths and in the server's OpenAPI schema."""

from __future__ import annotations

import gzip
import json

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from a2d import syncwire
from a2d.syncwire import WireError, read_fast, read_general, read_upload, record_json, upload_body

TS = "2026-06-02T08:15:31.412883Z"
payloads = st.dictionaries(
    st.text(max_size=6),
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=8),
    max_size=4,
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(min_size=1, max_size=syncwire.MAX_RECORD_ID), st.sampled_from(syncwire.STREAMS), payloads
        ),
        max_size=5,
    )
)
def test_what_the_encoder_writes_the_validator_reads_as_sent(records: list[tuple[str, str, dict]]) -> None:
    texts = [record_json(rid, stream, TS, orjson.dumps(p).decode()) for rid, stream, p in records]
    raw, headers = upload_body(texts)
    body = gzip.decompress(raw) if headers.get("Content-Encoding") == "gzip" else raw
    nul = any("\0" in rid or "\0" in orjson.dumps(p).decode("unicode_escape") for rid, _, p in records)
    try:
        got = read_upload(body)
    except WireError as exc:  # a NUL in a record id (400) or a payload (422): refused, and named
        assert nul and exc.status in (400, 422) and exc.detail.startswith("records[")
        return
    assert not nul
    assert [(c.record_id, c.stream, c.ts, json.loads(c.text)) for c in got] == [
        (rid, stream, TS, p) for rid, stream, p in records
    ]
    assert [c.text for c in got] == [orjson.dumps(p).decode() for _, _, p in records]  # the text, as sent


def test_a_small_body_goes_plain_and_a_larger_one_gzip() -> None:
    one = record_json("cs:up:1", "uplink", TS, '{"n":1}')
    raw, headers = upload_body([one])
    assert (
        headers == {"Content-Type": "application/json"}
        and json.loads(raw)["records"][0]["record_id"] == "cs:up:1"
    )
    many = [one] * (syncwire.GZIP_ABOVE_BYTES // len(one) + 1)
    raw, headers = upload_body(many)
    assert headers["Content-Encoding"] == "gzip" and len(json.loads(gzip.decompress(raw))["records"]) == len(
        many
    )


@pytest.mark.parametrize(
    ("field", "limit"),
    [("record_id", syncwire.MAX_RECORD_ID), ("stream", syncwire.MAX_STREAM), ("ts", syncwire.MAX_TS)],
)
def test_each_envelope_limit_is_the_constant_on_both_paths(field: str, limit: int) -> None:
    def body(value: str) -> bytes:
        record = {"record_id": "r", "stream": "uplink", "ts": TS, "payload": {}, field: value}
        return orjson.dumps({"records": [record]})

    assert read_fast(body("x" * (limit + 1))) is None  # not taken: the general path words the error
    for read in (read_general, read_upload):
        with pytest.raises(WireError) as caught:
            read(body("x" * (limit + 1)))
        assert caught.value.status == 400 and f"records[0].{field}" in caught.value.detail
    # at the limit the envelope is taken: what may still refuse it is a rule (422), not its length
    for read in (read_fast, read_general):
        try:
            assert read(body("x" * limit)) is not None
        except WireError as exc:
            assert exc.status == 422 and field in ("stream", "ts"), (read, exc.detail)


def test_too_many_records_is_413_on_both_paths() -> None:
    record = {"record_id": "r", "stream": "uplink", "ts": TS, "payload": {}}
    data = orjson.dumps({"records": [record] * (syncwire.MAX_BATCH_RECORDS + 1)})
    assert read_fast(data) is None
    with pytest.raises(WireError) as caught:
        read_upload(data)
    assert caught.value.status == 413
    assert len(read_upload(orjson.dumps({"records": [record] * syncwire.MAX_BATCH_RECORDS}))) == 5000


def test_the_servers_openapi_schema_states_the_same_limits() -> None:
    from sync_server.routes.records import UPLOAD_SCHEMA

    records = UPLOAD_SCHEMA["properties"]["records"]
    fields = records["items"]["properties"]
    assert records["maxItems"] == syncwire.MAX_BATCH_RECORDS
    assert (fields["record_id"]["maxLength"], fields["stream"]["maxLength"], fields["ts"]["maxLength"]) == (
        syncwire.MAX_RECORD_ID, syncwire.MAX_STREAM, syncwire.MAX_TS,
    )  # fmt: skip
