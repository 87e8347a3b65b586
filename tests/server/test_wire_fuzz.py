"""Hypothesis: parse_records accepts exactly the protocol's shape, and no body makes the server fail."""

from __future__ import annotations

import gzip
import itertools
import zlib
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from a2d.syncwire import MAX_BATCH_RECORDS, STREAMS, WireError, parse_records, records_path
from sync_server.body import BodyError, gunzip
from sync_server.db import Database

from .conftest import add_device, bearer

TEXT = st.text(min_size=1, max_size=40)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip
RECORD = st.fixed_dictionaries(
    {
        "record_id": st.text(min_size=1, max_size=200),
        "stream": st.sampled_from(STREAMS) | TEXT,
        "ts": st.sampled_from(["2026-06-02T08:15:31.412883Z", "2026-06-02T10:15:31+02:00", "2026-06-02"])
        | st.text(max_size=40),
        "payload": st.dictionaries(st.text(max_size=8), JSON, max_size=4),
    }  # fmt: skip
)
#: a record with one field broken (wrong type, empty, too long) or missing
BROKEN = st.tuples(
    RECORD, st.sampled_from(["record_id", "stream", "ts", "payload"]), JSON | st.just(...)
).map(lambda t: {k: v for k, v in {**t[0], t[1]: t[2]}.items() if v is not ...})


@given(st.lists(RECORD, max_size=20))
def test_valid_batches_parse_to_the_same_records(records: list[dict[str, Any]]) -> None:
    parsed = parse_records({"records": records})
    assert [r.as_dict() for r in parsed] == records


@given(JSON)
@example({"records": "x"})
@example({"records": [None]})
def test_any_json_parses_or_raises_wire_error(value: Any) -> None:
    try:
        parse_records(value)
    except WireError as exc:
        assert str(exc)


@given(st.lists(RECORD, max_size=5), BROKEN, st.integers(0, 5))
def test_one_broken_record_rejects_the_batch(
    good: list[dict[str, Any]], broken: dict[str, Any], at: int
) -> None:
    records = [*good[:at], broken, *good[at:]]
    try:
        parsed = parse_records({"records": records})
    except WireError:
        return
    # the "broken" field happened to be a valid value: then the batch must be exactly what was sent
    assert [r.as_dict() for r in parsed] == records


_ids = itertools.count()


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(
    st.binary(max_size=200),
    JSON.map(orjson.dumps),
    st.lists(RECORD | BROKEN, max_size=6).map(lambda rs: orjson.dumps({"records": rs})),
))  # fmt: skip
def test_no_body_makes_the_server_fail(client: TestClient, db: Database, body: bytes) -> None:
    device, token = add_device(db, f"fuzz-{next(_ids)}")
    for raw, encoding in ((body, None), (gzip.compress(body), "gzip"), (body, "gzip")):
        headers = bearer(token) if encoding is None else {**bearer(token), "Content-Encoding": encoding}
        r = client.post(records_path(device), content=raw, headers=headers)
        assert r.status_code in (200, 400, 422), (r.status_code, r.text)
        if r.status_code == 422:  # a record the server cannot store (stream, time, NUL) is named
            assert r.json()["detail"].startswith("records["), r.text
        if r.status_code == 200:
            acked = r.json()["acked"]
            assert acked == [rec.record_id for rec in parse_records(orjson.loads(body))]
            assert set(acked) <= {s.record_id for s in db.records(device)}


@given(st.binary(max_size=3000), st.integers(1, 4000))
def test_gunzip_never_returns_more_than_the_limit(data: bytes, limit: int) -> None:
    raw = gzip.compress(data)
    if len(data) <= limit:
        assert gunzip(raw, limit) == data
    else:
        with pytest.raises(BodyError) as caught:
            gunzip(raw, limit)
        assert caught.value.status == 413


def test_gunzip_takes_several_members_and_rejects_garbage() -> None:
    assert gunzip(gzip.compress(b"ab") + gzip.compress(b"cd"), 10) == b"abcd"
    assert gunzip(gzip.compress(b"ab") + b"\0\0", 10) == b"ab"
    with pytest.raises(BodyError):
        gunzip(gzip.compress(b"ab") + b"junk", 10)
    with pytest.raises(BodyError, match="truncated"):
        gunzip(gzip.compress(b"abcdef" * 100)[:-12], 10_000)
    bomb = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    raw = bomb.compress(b"\0" * 50_000_000) + bomb.flush()
    with pytest.raises(BodyError) as caught:
        gunzip(raw, 1000)
    assert caught.value.status == 413


def test_the_batch_limit_is_the_protocols() -> None:
    assert MAX_BATCH_RECORDS == 5000
