"""``/console/login`` and ``/console/logout``: signing in and out, and ``/console/`` itself."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from a2d.timeutil import iso

from ...deps import DB, Settings
from .. import audit, i18n, login, sessions, web
from ..lockout import Rule

router = APIRouter(prefix="/console", include_in_schema=False)


def _login_page(request: Request, next_path: str, status: int = 200, error: str = "", username: str = "",
                notice: str = "") -> Response:  # fmt: skip
    token = request.cookies.get(web.LOGIN_COOKIE) or web.new_login_token()
    t = i18n.catalog(web.language(request))
    response = web.render(request, "login.html", t.login_title, status, login_token=token, next=next_path,
                          error=error, username=username, notice=notice)  # fmt: skip
    web.set_cookie(request, response, web.LOGIN_COOKIE, token)
    return response


@router.get("/login")
def login_form(request: Request, next: str = "", bye: str = "") -> Response:
    t = i18n.catalog(web.language(request))
    return _login_page(request, web.safe_next(next), notice=t.logged_out if bye else "")


@router.post("/login")
async def login_post(request: Request, db: DB, settings: Settings) -> Response:
    form = await web.read_form(request)
    if not web.same(form.get(web.CSRF_FIELD), request.cookies.get(web.LOGIN_COOKIE)):
        raise web.BadCsrf()
    rule = Rule(allowed=settings.console_lockout_after, base_s=settings.console_lockout_base_s)
    username, password = form.get("username", ""), form.get("password", "")
    when = web.now()
    outcome = await run_in_threadpool(login.attempt, db, rule, username, password, web.address(request), when)
    t = i18n.catalog(web.language(request))
    next_path = web.safe_next(form.get("next"))
    if outcome.user is None:
        text = (
            t.fmt("login_locked", minutes=max(1, round(outcome.locked_s / 60)))
            if outcome.locked_s
            else t.login_failed
        )
        return _login_page(request, next_path, 401 if not outcome.locked_s else 429, text, username[:64])
    token, _ = await run_in_threadpool(sessions.create, db, outcome.user.username, web.address(request), when)
    response = web.redirect(next_path)
    web.set_cookie(request, response, web.SESSION_COOKIE, token)
    response.delete_cookie(web.LOGIN_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(request: Request, db: DB, who: Annotated[web.Staff, Depends(web.current)],
                 form: web.PostedForm) -> Response:  # fmt: skip
    """Ends the session (deletes it in the database) and clears the cookie."""

    def end() -> None:
        sessions.end(db, request.cookies.get(web.SESSION_COOKIE, ""))
        audit.record(db, who.actor, "logout", who.user.username, "", iso(web.now()))

    await run_in_threadpool(end)
    response = web.redirect("/console/login?bye=1")
    response.delete_cookie(web.SESSION_COOKIE, path="/")
    return response


@router.get("")
@router.get("/")
def home(who: Annotated[web.Staff, Depends(web.current)]) -> Response:
    return web.redirect(web.HOME)
