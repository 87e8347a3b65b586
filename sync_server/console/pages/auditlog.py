"""``/console/audit`` (admins): the audit log, newest first, 200 rows a page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ...deps import DB
from .. import audit, i18n, web

router = APIRouter(prefix="/console", include_in_schema=False)
PAGE = 200


@router.get("/audit")
async def audit_log(request: Request, who: Annotated[web.Staff, Depends(web.require())], db: DB,
                    before: int | None = None) -> Response:  # fmt: skip
    entries = await run_in_threadpool(audit.entries, db, PAGE, before)
    t = i18n.catalog(web.language(request))
    older = entries[-1].seq if len(entries) == PAGE else None
    return web.render(request, "audit.html", t.audit_title, entries=entries, older=older)
