"""Live questions over HTTP: each device's stream of them, and the admin routes that start them.

``GET /api/v1/devices/{device_id}/live`` (the device's token) is a server-sent-events stream: the
open questions for the device's site and the town-wide totals of its current polls, sent at once
and again within about a second of any change (:mod:`..livehub`); a comment line keeps it alive
every :data:`KEEPALIVE_S` seconds, and it ends after :data:`MAX_STREAM_S` seconds (the device
connects again, and a revoked token is refused then at the latest).

``/api/v1/admin/live`` (admin token): start a question, list them, close one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from a2d import livewire
from a2d.syncwire import API

from .. import body, live
from ..auth import DeviceId, admin
from ..db import Database
from ..deps import DB
from ..livehub import MAX_POLLS_PER_STREAM, LiveHub, StreamRefused
from .responses import ADMIN_ERRORS, ERRORS

log = logging.getLogger(__name__)

#: seconds between keep-alive comments on a quiet stream (the agent gives up after three missed)
KEEPALIVE_S = 15.0
#: seconds a stream lasts before the server ends it (the agent reconnects at once)
MAX_STREAM_S = 300.0
#: a start body is a question and a few answers (64 KiB, as the other admin routes take)
MAX_LIVE_BODY = 64 * 1024

devices = APIRouter(tags=["devices"])
admins = APIRouter(
    prefix=f"{API}/admin", tags=["admin"], dependencies=[Depends(admin)], responses=ADMIN_ERRORS
)


def live_path(device_id: str) -> str:
    return f"{API}/devices/{device_id}/live"


def _hub(request: Request) -> LiveHub:
    hub: LiveHub | None = getattr(request.app.state, "live", None)
    if hub is None or hub.closed:
        raise HTTPException(503, "the server is not serving live streams now", headers={"Retry-After": "5"})
    return hub


def _site(db: Database, device_id: str) -> str:
    return next((d.site for d in db.devices() if d.device_id == device_id), "")


def _polls(text: str) -> list[str]:
    polls = [p for p in text.split(",") if p]
    if len(polls) > MAX_POLLS_PER_STREAM or any(len(p) > 64 or not p.isprintable() for p in polls):
        raise HTTPException(
            400, f"polls: at most {MAX_POLLS_PER_STREAM} poll ids of 1-64 printable characters"
        )
    return polls


@devices.get(
    live_path("{device_id}"),
    summary="The device's live questions, as server-sent events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "the stream"},
               429: {"description": "this device holds its streams already"},
               503: {"description": "the server holds as many streams as it may"}, **ERRORS},
)  # fmt: skip
async def live_stream(
    request: Request, device: DeviceId, db: DB,
    polls: Annotated[str, Query(max_length=1400, description="pack poll ids, comma-separated")] = "",
) -> Response:  # fmt: skip
    """Server-sent events: `event: live` with `data: {"questions": [...], "town": {poll_id: {"counts",
    "total", "at"}}, "at", "help_closed": [...]}`: the open live questions for this device's site
    (`a2d.livewire`), the town-wide totals of those questions and of the pack polls named in
    `?polls=`, and the ids of this device's help requests staff closed on the console (until the
    device's own record of their closing arrived). Sent at once, then
    whenever it changes for this device (within about a second); `: keep-alive` every 15 s.
    """
    hub = _hub(request)
    wanted = _polls(polls)
    try:  # refuse in the status line when it is clear already; the slot itself is taken below
        hub.check(device)
    except StreamRefused as exc:
        return JSONResponse({"detail": str(exc)}, exc.status, headers={"Retry-After": "30"})
    site = await run_in_threadpool(_site, db, device)
    return StreamingResponse(
        _events(hub, db, device, site, wanted),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _events(
    hub: LiveHub, db: Database, device: str, site: str, polls: list[str]
) -> AsyncIterator[bytes]:
    try:
        async with hub.listener(device, polls):
            yield b"retry: 5000\n\n"
            sent = b""
            ends = time.monotonic() + MAX_STREAM_S
            while not hub.closed and time.monotonic() < ends:
                state = hub.state
                version = state.version
                if version > 0:  # version 0: nothing read yet, which must not go out as "nothing open"
                    snap = state.snapshot(site, polls, device)
                    same = orjson.dumps([[q.as_json() for q in snap.questions],
                                         {p: t.counts for p, t in snap.town.items()}, snap.help_closed])  # fmt: skip
                    if same != sent:
                        sent = same
                        yield b"event: live\ndata: " + orjson.dumps(snap.as_json()) + b"\n\n"
                if not await hub.wait(version, min(KEEPALIVE_S, max(0.0, ends - time.monotonic()))):
                    if await run_in_threadpool(db.device_token_hash, device) is None:
                        return  # revoked while listening
                    yield b": keep-alive\n\n"
    except StreamRefused as exc:
        yield b"event: refused\ndata: " + orjson.dumps({"detail": str(exc)}) + b"\n\n"


# --- admin ------------------------------------------------------------------------------------------


def _start_body(raw: bytes) -> dict[str, Any]:
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise body.BodyError(400, f"the body is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise body.BodyError(400, 'the body must be an object {"question", "answers", "sites", "minutes"}')
    question, answers = doc.get("question"), doc.get("answers")
    sites, minutes, by = doc.get("sites", []), doc.get("minutes", livewire.DEFAULT_MINUTES), doc.get("by", "")
    if isinstance(answers, str):
        answers = answers.split(",")
    if not isinstance(question, str):
        raise body.BodyError(400, "question: the question's text")
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise body.BodyError(400, 'answers: a list of labels such as ["Ja", "Nein"]')
    if not isinstance(sites, list) or not all(isinstance(s, str) for s in sites):
        raise body.BodyError(400, "sites: a list of site ids (empty: every site)")
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise body.BodyError(400, f"minutes: a whole number from 1 to {livewire.MAX_MINUTES}")
    if not isinstance(by, str) or len(by) > 80 or not by.isprintable():
        raise body.BodyError(400, "by: who starts it, up to 80 printable characters")
    return {"question": question, "answers": answers, "sites": sites, "minutes": minutes, "by": by}


@admins.post("/live", summary="Start a live question", status_code=201,
             responses={400: ERRORS[400], 413: ERRORS[413], 422: {"description": "a question that cannot be asked"}})  # fmt: skip
async def start_live(request: Request, db: DB) -> dict[str, Any]:
    """Start a question now: body `{"question": "...", "answers": ["Ja", "Nein"], "sites": [],
    "minutes": 30, "by": "Bürgerbüro"}` (`sites` empty: every site; `minutes` 1 to 10080, default 30;
    `by` optional, kept as who started it). Agents at those sites show it within seconds. The answer
    is the question as `GET /api/v1/admin/live` lists it.
    """
    doc = _start_body(await body.read(request, MAX_LIVE_BODY))
    by = f"admin API ({doc['by']})" if doc["by"] else "admin API"

    def run() -> dict[str, Any]:
        q = live.start(
            db, doc["question"], doc["answers"], sites=doc["sites"], minutes=doc["minutes"], started_by=by
        )
        found = live.one(db, q.id)
        assert found is not None
        return found

    try:
        return await run_in_threadpool(run)
    except live.LiveRefused as exc:
        raise HTTPException(422, str(exc)) from None


@admins.get("/live", summary="List live questions")
async def list_live(db: DB, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    """The newest live questions, open and closed: each as devices get it, with `state` (open,
    closed), `started_by`, `started_at`, `closed_by` and the town-wide `counts` and `total`."""
    return {"questions": await run_in_threadpool(live.listing, db, limit)}


@admins.post("/live/{question_id}/close", summary="Close a live question now",
             responses={404: {"description": "no such question"}})  # fmt: skip
async def close_live(request: Request, question_id: str, db: DB) -> dict[str, Any]:
    """Close the question now (its results stay); closing a closed one changes nothing. No body."""
    raw = (await body.read(request, MAX_LIVE_BODY)).strip()
    if raw and raw.replace(b" ", b"") != b"{}":
        raise body.BodyError(400, "this route takes no body (or {})")

    def run() -> dict[str, Any]:
        live.close(db, question_id, "admin API")
        found = live.one(db, question_id)
        assert found is not None
        return found

    try:
        return await run_in_threadpool(run)
    except live.LiveRefused as exc:
        raise HTTPException(404, str(exc)) from None
