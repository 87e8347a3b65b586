"""How a console page is written: the one place for templates, sessions, roles and forms.

A page is a route that returns :func:`render` of its template. A console page takes the signed-in
user with ``who: Annotated[Staff, Depends(require("admin"))]`` (the roles that may see it; admins
may see everything); without a session the visitor is sent to the login (303), with the wrong role
gets 403. A form handler also takes ``form: PostedForm``: the urlencoded body, read with a size
cap, whose ``csrf_token`` field matched the session's (else 403 before the handler runs). Every
change is written to the audit log with :func:`sync_server.console.audit.write` (``who.actor``).
docs/console.md, "Adding a page", shows a whole example.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from a2d.timeutil import parse

from ..config import ServerSettings
from ..deps import DB
from . import accounts, i18n, sessions
from .audit import Actor

SESSION_COOKIE = "a2d_console"
LOGIN_COOKIE = "a2d_login"  # the login form's CSRF token (double submit: there is no session yet)
CSRF_FIELD = "csrf_token"
MAX_FORM_BYTES = 64 * 1024
LOCAL_TIME = ZoneInfo("Europe/Berlin")
HOME = "/console/devices"


class LoginRequired(Exception):
    """No live session: the visitor goes to the login page and comes back to ``next``."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class Forbidden(Exception):
    """Signed in, but the role does not allow this page (403)."""


class BadCsrf(Exception):
    """A form post without its CSRF token, or with a wrong one (403)."""


@dataclass(frozen=True)
class Staff:
    """The signed-in user of this request and their session."""

    user: accounts.User
    session: sessions.Session
    address: str

    @property
    def actor(self) -> Actor:
        return Actor(self.user.username, self.address)


def address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def now() -> datetime:
    return datetime.now(UTC)


def lifetime(s: ServerSettings) -> sessions.Lifetime:
    return sessions.Lifetime(
        timedelta(minutes=s.console_session_idle_minutes), timedelta(hours=s.console_session_max_hours)
    )


def secure(request: Request) -> bool:
    """Cookies are Secure when this request came over HTTPS or the server serves TLS at all."""
    settings: ServerSettings = request.app.state.settings
    return request.url.scheme == "https" or bool(settings.tls_cert)


def set_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int | None = None
) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/", httponly=True, samesite="strict", secure=secure(request)
    )


def safe_next(target: str | None) -> str:
    """Where to go after the login: a console path of this server only, never another site."""
    if (
        not target
        or not target.startswith("/console/")
        or target.startswith("/console/login")
        or any(c in target for c in "\\\r\n\t")
        or "//" in target
        or len(target) > 500
    ):
        return HOME
    return target


def _current(request: Request, db: DB) -> Staff:
    token = request.cookies.get(SESSION_COOKIE, "")
    s = sessions.find(db, token, lifetime(request.app.state.settings), now()) if token else None
    user = accounts.find(db, s.username) if s else None
    if s is None or user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(safe_next(target) if request.method == "GET" else HOME)
    staff = Staff(user, s, address(request))
    request.state.staff = staff
    return staff


async def current(request: Request, db: DB) -> Staff:
    """The signed-in user (any role), else :class:`LoginRequired`."""
    return await run_in_threadpool(_current, request, db)


def require(*roles: str) -> Any:
    """A dependency: the signed-in user if their role is one of ``roles`` or admin, else 403."""
    allowed = {"admin", *roles}

    async def dependency(who: Annotated[Staff, Depends(current)]) -> Staff:
        if who.user.role not in allowed:
            raise Forbidden()
        return who

    return dependency


async def read_form(request: Request) -> dict[str, str]:
    """The urlencoded body as a dict (the last value of a repeated field), at most 64 KiB."""
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_FORM_BYTES:
            raise BadCsrf()
    return dict(parse_qsl(data.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=200))


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


async def posted(request: Request, who: Annotated[Staff, Depends(current)]) -> dict[str, str]:
    """The form of a signed-in user's post, once its CSRF token matched the session's."""
    form = await read_form(request)
    if not same(form.get(CSRF_FIELD), who.session.csrf):
        raise BadCsrf()
    return form


#: a route parameter: the posted form, CSRF-checked
PostedForm = Annotated[dict[str, str], Depends(posted)]


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader(__package__, "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local"] = local_time
    return env


def local_time(text: str | None, missing: str = "–") -> str:
    """An ISO UTC time as the town reads it: ``02.06.2026 10:15`` (Europe/Berlin)."""
    if not text:
        return missing
    try:
        return parse(text).astimezone(LOCAL_TIME).strftime("%d.%m.%Y %H:%M")
    except ValueError:
        return text[:40]


def language(request: Request) -> str:
    return i18n.choose(request.query_params.get("lang"), request.cookies.get(i18n.COOKIE))


def render(request: Request, template: str, title: str, status: int = 200, **context: Any) -> HTMLResponse:
    """The page ``template`` in the visitor's language, with what every page's frame needs."""
    lang = language(request)
    t = i18n.catalog(lang)
    staff: Staff | None = getattr(request.state, "staff", None)
    html = environment().get_template(template).render(
        t=t, lang=lang, languages=i18n.LANGUAGES, title=title, path=request.url.path,
        staff=staff.user if staff else None, csrf=staff.session.csrf if staff else "",
        csrf_field=CSRF_FIELD, **context,
    )  # fmt: skip
    response = HTMLResponse(html, status_code=status)
    if request.query_params.get("lang") in i18n.LANGUAGES:
        set_cookie(request, response, i18n.COOKIE, lang, max_age=365 * 86400)
    return response


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def login_redirect(next_path: str) -> RedirectResponse:
    return redirect("/console/login?next=" + quote(next_path, safe="/"))


def message(request: Request, key: str, status: int) -> HTMLResponse:
    """A plain page with a title and one sentence from the catalog (``key``\\ _title/_text)."""
    t = i18n.catalog(language(request))
    return render(request, "message.html", t[f"{key}_title"], status, text=t[f"{key}_text"])


def new_login_token() -> str:
    return secrets.token_urlsafe(24)
