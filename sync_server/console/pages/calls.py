"""``/console/help``: the open help calls of the Lotse's sites (all for admins), closed from there.

The page lists the calls on the server (it works without JavaScript: a refresh link); the vendored
``help.js`` keeps ``/console/help/stream`` open, a server-sent-events stream that sends the list
again (rendered by the same template) within about a second of any change, and plays a short
sound when a new call came. ``POST /console/help/close`` closes one call (CSRF-checked,
audit-logged as ``help.close``); the agent of its kiosk learns it through its live stream.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from a2d.timeutil import iso, parse

from ... import helpcalls
from ...db import Database, Tx
from ...deps import DB
from .. import audit, i18n, sessions, web

router = APIRouter(prefix="/console/help", include_in_schema=False)
Lotse = Annotated[web.Staff, Depends(web.require("lotse"))]

#: seconds between two looks at the database while a console stream is open
EVERY_S = 1.0
#: seconds between keep-alive comments, and between checks that the session still lives
KEEPALIVE_S = 15.0
#: seconds a stream lasts before the server ends it (the browser connects again by itself)
MAX_STREAM_S = 300.0
#: console streams one server process holds at most (each holds one of uvicorn's request slots)
MAX_STREAMS = 50


def _mine(db: Database, who: web.Staff) -> list[helpcalls.Call]:
    return [c for c in helpcalls.open_calls(db) if who.user.sees_site(c.site)]


def _list_html(request: Request, calls: list[helpcalls.Call]) -> str:
    """The list of calls as the page shows it (the stream sends the same fragment)."""
    lang = web.language(request)
    staff: web.Staff = request.state.staff
    return (
        web.environment()
        .get_template("help_calls.html")
        .render(t=i18n.catalog(lang), calls=calls, csrf=staff.session.csrf, csrf_field=web.CSRF_FIELD)
    )


@router.get("")
async def calls_page(request: Request, who: Lotse, db: DB) -> Response:
    """The open calls of the user's sites, the one waiting longest first."""
    calls = await run_in_threadpool(_mine, db, who)
    t = i18n.catalog(web.language(request))
    closed = request.query_params.get("closed") == "1"
    return web.render(request, "help.html", t.help_title, calls_html=_list_html(request, calls),
                      keys=_keys(calls), closed=closed)  # fmt: skip


def _keys(calls: list[helpcalls.Call]) -> str:
    return " ".join(f"{c.device_id}/{c.request_id}" for c in calls)


def _signed_in(db: Database, token: str, life: sessions.Lifetime) -> bool:
    """Whether the session still lives, without counting the stream as use of it (an open page
    must not keep a session alive forever)."""
    rows = db.query(
        "SELECT token_hash, username, csrf, created_at, last_seen_at FROM console_sessions WHERE token_hash = ?",
        (sessions.token_hash(token),),
    )
    return bool(rows) and life.alive(sessions.Session(*(str(x) for x in rows[0])), web.now())


@router.get("/stream")
async def stream(request: Request, who: Lotse, db: DB) -> Response:
    """Server-sent events: ``event: calls`` with ``{"count", "keys", "html"}`` at once and after
    every change; ``event: signedout`` when the session ended; a comment every 15 s."""
    state = request.app.state
    if getattr(state, "help_streams", 0) >= MAX_STREAMS:
        return Response("too many open help streams; reload later", 503, headers={"Retry-After": "30"})
    return StreamingResponse(_events(request, who, db), media_type="text/event-stream",
                             headers={"X-Accel-Buffering": "no"})  # fmt: skip


def _closing(request: Request) -> bool:
    hub = getattr(request.app.state, "live", None)
    return hub is not None and bool(hub.closed)


async def _events(request: Request, who: web.Staff, db: Database) -> AsyncIterator[bytes]:
    state = request.app.state
    state.help_streams = getattr(state, "help_streams", 0) + 1
    token = request.cookies.get(web.SESSION_COOKIE, "")
    life = web.lifetime(state.settings)
    try:
        yield b"retry: 3000\n\n"
        sent, ends = "", time.monotonic() + MAX_STREAM_S
        checked = time.monotonic()
        while time.monotonic() < ends and not _closing(request):
            calls = await run_in_threadpool(_mine, db, who)
            keys = _keys(calls)
            if keys != sent:
                sent = keys
                doc: dict[str, Any] = {"count": len(calls), "keys": keys, "html": _list_html(request, calls)}
                yield b"event: calls\ndata: " + orjson.dumps(doc) + b"\n\n"
            if time.monotonic() - checked >= KEEPALIVE_S:
                checked = time.monotonic()
                if not await run_in_threadpool(_signed_in, db, token, life):
                    yield b"event: signedout\ndata: {}\n\n"
                    return
                yield b": keep-alive\n\n"
            await asyncio.sleep(EVERY_S)
    finally:
        state.help_streams -= 1


def _waited(call: helpcalls.Call, now: str) -> str:
    try:
        return f"{int((parse(now) - parse(call.opened_at)).total_seconds())} s"
    except ValueError:
        return "?"


@router.post("/close")
async def close(request: Request, who: Lotse, db: DB, form: web.PostedForm) -> Response:
    """Close one call of the user's sites; closing a closed one changes nothing."""
    device_id, request_id = form.get("device_id", "")[:100], form.get("request_id", "")[:100]
    call = await run_in_threadpool(helpcalls.find, db, device_id, request_id)
    if call is None or not who.user.sees_site(call.site):
        return web.message(request, "notfound", 404)
    now = iso(web.now())

    def change(tx: Tx) -> bool:
        if not helpcalls.close(tx, device_id, request_id, who.user.username, now):
            return False
        audit.write(tx, who.actor, "help.close", f"{device_id}/{request_id}",
                    f"site {call.site or '-'}, kiosk {call.kiosk_id or '-'}, waited {_waited(call, now)}", now)  # fmt: skip
        return True

    await run_in_threadpool(db.transact, change)
    return web.redirect("/console/help?closed=1")
