"""``create_app(settings)``: the sync server as an ASGI app. Nothing is opened before it starts.

The database is opened (and migrated) when the app starts, unless the caller passes one it
opened itself (the CLI does, so a bad ``--db`` is a one-line error; tests do, to share it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from a2d import __version__, logs
from a2d.sdnotify import Watchdog
from a2d.syncwire import WireError

from . import retention
from .body import BodyError
from .config import ServerSettings
from .console.mount import mount as mount_console
from .db import Database, Refused, Unavailable, open_database
from .livehub import LiveHub
from .routes import ROUTERS
from .routes.heartbeat import HeartbeatRefused

log = logging.getLogger(__name__)

DESCRIPTION = """The town's central sync server for analog2digital edge devices.

Devices upload their outbox in idempotent batches and report heartbeats, each with its own
bearer token; admins list devices and heartbeats with the admin token. Hourly aggregates and
feedback tallies are open data (dl-de/by-2-0), readable without a token. See docs/sync-api.md.
"""


def open_and_migrate(settings: ServerSettings) -> Database:
    db = open_database(settings.db, pool_size=settings.pool_size, synchronous=settings.synchronous)
    try:
        for step in db.migrate():
            log.info("database migrated to version %s", step)
    except BaseException:
        db.close()
        raise
    return db


async def _feed_watchdog(watchdog: Watchdog) -> None:
    """Under systemd: ready once the database is open; then fed while the event loop turns."""
    watchdog.ready()
    if watchdog.every is None:
        return
    while True:
        await asyncio.sleep(min(watchdog.every, 5.0))
        watchdog.kick()


def live_stream_cap(settings: ServerSettings) -> int:
    """Open live streams allowed: half of ``server.max_connections`` (each holds a request slot)."""
    return max(1, settings.max_connections // 2) if settings.max_connections > 0 else 5000


def create_app(settings: ServerSettings, database: Database | None = None) -> FastAPI:
    """The app for ``settings``; with ``database`` given, the app uses it and leaves it open."""
    once = logs.Once(log)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = database if database is not None else await run_in_threadpool(open_and_migrate, settings)
        app.state.db = db
        pruning = asyncio.create_task(
            retention.run(db, settings.retention_days, once, settings.bundle_history_days),
            name="a2d-retention",
        )
        watchdog = Watchdog()
        feeding = asyncio.create_task(_feed_watchdog(watchdog), name="a2d-watchdog")
        hub = app.state.live = LiveHub(db, max_streams=live_stream_cap(settings))
        reading = asyncio.create_task(hub.run(), name="a2d-live")
        try:
            yield
        finally:
            watchdog.stopping()
            hub.close()
            for task in (feeding, pruning, reading):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            app.state.db = None
            if database is None:
                await run_in_threadpool(db.close)

    app = FastAPI(
        title="analog2digital sync server",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db_health = once
    app.state.db = database
    for router in ROUTERS:
        app.include_router(router)
    mount_console(app)  # the staff console and the public pages (HTML, not in the OpenAPI document)

    @app.exception_handler(BodyError)
    async def bad_body(request: Request, exc: BodyError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(WireError)  # a malformed body, a batch too large, a record refused
    async def bad_wire(request: Request, exc: WireError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(HeartbeatRefused)
    async def refused_heartbeat(request: Request, exc: HeartbeatRefused) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> JSONResponse:
        log.warning("the database refused the data of %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse({"detail": f"the database refused the data: {exc}"}, status_code=422)

    @app.exception_handler(RecursionError)
    async def too_deep(request: Request, exc: RecursionError) -> JSONResponse:
        # a body nested so deep that reading it ran out of stack: a bad body, not a server fault
        log.warning("%s %s: a body nested too deep to read (%s)", request.method, request.url.path, exc)
        return JSONResponse({"detail": "the body is nested too deeply"}, status_code=400)

    @app.exception_handler(Unavailable)
    async def unavailable(request: Request, exc: Unavailable) -> JSONResponse:
        once.failed("db", "database unavailable, answering 503: %s", exc)
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "5"})

    return app
