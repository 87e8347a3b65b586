"""Mounting the console and the public pages on the app (routers, static files, headers, errors)."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from . import web
from .headers import SecurityHeaders
from .pages import auditlog, calls, content, devices, fallback, public, signin, users
from .pages import results as results_page
from .pages import sensors as sensor_pages

#: in this order; the fallback (any other /console/ path) last
ROUTERS = (
    signin.router, devices.router, users.router, auditlog.router, public.router,
    content.router, results_page.router, calls.router, sensor_pages.router,
    fallback.router,
)  # fmt: skip


def mount(app: FastAPI) -> None:
    for router in ROUTERS:
        app.include_router(router)
    static = resources.files(__package__).joinpath("static")
    app.mount("/assets", StaticFiles(directory=str(static)), name="console-assets")
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(web.LoginRequired)
    async def login_required(request: Request, exc: web.LoginRequired) -> Response:
        return web.login_redirect(exc.next_path)

    @app.exception_handler(web.Forbidden)
    async def forbidden(request: Request, exc: web.Forbidden) -> Response:
        return web.message(request, "forbidden", 403)

    @app.exception_handler(web.BadCsrf)
    async def bad_csrf(request: Request, exc: web.BadCsrf) -> Response:
        return web.message(request, "csrf", 403)
