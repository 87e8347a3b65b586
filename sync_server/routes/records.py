"""``POST /api/v1/devices/{device_id}/records``: the upload of a device's outbox, in batches.

This is the hot path: the raw body is read once, inflated if gzip, and checked by
:func:`a2d.syncwire.read_upload`, the protocol's validator (the payloads stay the JSON text they
came as; a refusal names the record); the rows go to the database in one statement, together with
the canonical measurements they carry for the hourly aggregates (added for the records that were
new only), and the answer is sent only after the commit. Should the database still refuse the
batch's data, the record it refuses is found by halving the batch (the halves it takes are stored:
a batch sent again is acknowledged again) and named in a 422.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from a2d import syncwire
from a2d.localapi import UsageReport
from a2d.timeutil import utc_now

from .. import body, helpcalls, livevotes, usage
from ..auth import DeviceId
from ..db import Database, Reading, RecordRow, Refused, Vote
from ..deps import DB, note_db_ok
from ..readings import of_batch
from .responses import ERRORS

log = logging.getLogger(__name__)
router = APIRouter(tags=["devices"])


class Acked(BaseModel):
    acked: list[str]


UPLOAD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["records"],
    "properties": {
        "records": {
            "type": "array",
            "maxItems": syncwire.MAX_BATCH_RECORDS,
            "items": {
                "type": "object",
                "required": ["record_id", "stream", "ts", "payload"],
                "properties": {
                    "record_id": {"type": "string", "minLength": 1, "maxLength": syncwire.MAX_RECORD_ID},
                    "stream": {"type": "string", "minLength": 1, "maxLength": syncwire.MAX_STREAM,
                               "examples": ["uplink"]},
                    "ts": {"type": "string", "maxLength": syncwire.MAX_TS, "examples": ["2026-06-02T08:15:31.412883Z"]},
                    "payload": {"type": "object"},
                },
            },
        }
    },
}  # fmt: skip


def accept_batch(db: Database, device_id: str, raw: bytes, content_encoding: str | None) -> bytes:
    """Store one upload and return the JSON answer; raises BodyError / WireError for bad bodies."""
    records = syncwire.read_upload(body.decode(raw, content_encoding, syncwire.MAX_BODY_BYTES))
    received_at = utc_now()
    rows: list[RecordRow] = [
        (device_id, rid, stream, ts, text, received_at) for rid, stream, ts, _, text, *_ in records
    ]
    counted = records
    if len({row[1] for row in rows}) < len(
        rows
    ):  # a record twice in one batch is stored, and counted, as its first
        seen: set[str] = set()
        counted = [r for r in records if not (r.record_id in seen or seen.add(r.record_id))]  # type: ignore[func-returns-value]
    found = of_batch(device_id, counted)
    votes: list[Vote] = [
        v for r in counted if r.stream == livevotes.STREAM and (v := livevotes.vote(device_id, r)) is not None
    ]
    reports: list[tuple[str, UsageReport]] = [
        (r.record_id, u) for r in counted if r.stream == usage.STREAM and (u := usage.report(r)) is not None
    ]
    calls: list[helpcalls.HelpEvent] = [
        h
        for r in counted
        if r.stream == helpcalls.STREAM and (h := helpcalls.event(device_id, r)) is not None
    ]
    if rows:
        try:
            db.store_records(rows, found, votes)
        except Refused as exc:
            raise _which_refused(db, rows, found, exc, votes) from exc
    usage.store(db, device_id, reports)  # after the records: a batch sent again adds nothing twice
    if calls:  # after the records: a batch sent again after a crash here applies them again, alike
        helpcalls.apply(db, calls, received_at)
    log.debug("stored a batch of %d records from %s", len(rows), device_id)
    return orjson.dumps({"acked": [row[1] for row in rows]})


def _which_refused(
    db: Database, rows: list[RecordRow], found: list[Reading], refusal: Refused, votes: list[Vote]
) -> syncwire.RecordRefused:
    """The 422 naming the record the database refuses, found by halving: the half it takes is
    stored, the other halved again, until one record is left; that one is stored alone for its
    own reason. If it goes in alone (the refusal came of records together), the batch is named."""

    def store(part: list[RecordRow]) -> Refused | None:
        ids = {row[1] for row in part}
        try:
            db.store_records(
                part, [r for r in found if r.record_id in ids], [v for v in votes if v.record_id in ids]
            )
        except Refused as exc:
            return exc
        return None

    lo, hi = 0, len(rows)  # a refused record lies in rows[lo:hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if store(rows[lo:mid]) is None:
            lo = mid
        else:
            hi = mid
    alone = store(rows[lo:hi])
    if alone is None:
        return syncwire.RecordRefused(None, "", f"the database refused the batch: {refusal}")
    log.warning("the database refused record %s of %s: %s", rows[lo][1], rows[lo][0], alone)
    return syncwire.RecordRefused(lo, rows[lo][1], f"the database refused it: {alone}")


@router.post(
    syncwire.records_path("{device_id}"),
    summary="Upload a batch of records",
    response_class=Response,
    responses={200: {"model": Acked, "description": "every record of the batch is stored"}, **ERRORS},
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": UPLOAD_SCHEMA}}}
    },
)
async def upload_records(request: Request, device: DeviceId, db: DB) -> Response:
    """Upsert a batch of at most 5000 records by `(device_id, record_id)` and acknowledge them.

    The answer `{"acked": [record_id, ...]}` lists every record of the batch and is sent only after
    the database committed them; uploading the same batch again stores nothing twice and is
    acknowledged again. The body may be gzip-compressed (`Content-Encoding: gzip`) and may not
    exceed 8 MiB, compressed or inflated (413). A record already held keeps its first payload.
    """
    raw = await body.read(request, syncwire.MAX_BODY_BYTES)
    answer = await run_in_threadpool(accept_batch, db, device, raw, request.headers.get("content-encoding"))
    note_db_ok(request)
    return Response(answer, media_type="application/json")
