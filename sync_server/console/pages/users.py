"""``/console/users`` (admins): list, add, remove users, change roles, set new passwords."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from a2d.timeutil import iso

from ...deps import DB
from .. import accounts, i18n, passwords, web

router = APIRouter(prefix="/console/users", include_in_schema=False)
Admin = Annotated[web.Staff, Depends(web.require())]


def _sites(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


async def _page(request: Request, db: DB, status: int = 200, error: str = "", notice: str = "") -> Response:
    t = i18n.catalog(web.language(request))
    users = await run_in_threadpool(accounts.users, db)
    return web.render(request, "users.html", t.users_title, status, users=users, roles=accounts.ROLES,
                      error=error, saved=request.query_params.get("saved") == "1", min_length=passwords.MIN_LENGTH)  # fmt: skip


@router.get("")
async def users(request: Request, who: Admin, db: DB) -> Response:
    return await _page(request, db)


@router.post("")
async def change(request: Request, who: Admin, db: DB, form: web.PostedForm) -> Response:
    """One form action per post: ``add``, ``set-role``, ``reset-password`` or ``remove``."""
    action, name = form.get("action", ""), form.get("username", "").strip()
    now = iso(web.now())
    try:
        if action == "add":
            await run_in_threadpool(accounts.add, db, name, form.get("role", ""), form.get("password", ""),
                                    now, who.actor, _sites(form.get("sites", "")))  # fmt: skip
        elif action == "set-role":
            await run_in_threadpool(accounts.set_role, db, name, form.get("role", ""), now, who.actor,
                                    _sites(form.get("sites", "")))  # fmt: skip
        elif action == "reset-password":
            await run_in_threadpool(
                accounts.reset_password, db, name, form.get("password", ""), now, who.actor
            )
        elif action == "remove":
            if name == who.user.username:
                raise accounts.AccountError("you cannot remove yourself")
            await run_in_threadpool(accounts.remove, db, name, now, who.actor)
        else:
            raise accounts.AccountError(f"unknown action {action!r:.40}")
    except (accounts.AccountError, passwords.WeakPassword) as exc:
        return await _page(request, db, 400, error=str(exc))
    if name == who.user.username and action != "add":  # own role or password changed: sign in again
        return web.redirect("/console/login")
    return web.redirect("/console/users?saved=1")
