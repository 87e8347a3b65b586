"""Any other path under ``/console/``: to the login without a session, else 404. Mounted last."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from .. import web

router = APIRouter(prefix="/console", include_in_schema=False)


@router.api_route("/{rest:path}", methods=["GET", "POST"])
def unknown(request: Request, rest: str, who: Annotated[web.Staff, Depends(web.current)]) -> Response:
    return web.message(request, "notfound", 404)
