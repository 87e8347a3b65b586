"""``GET /api/v1/healthz``: is the server up and its database reachable?"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from a2d.syncwire import API

from ..db import Unavailable
from ..deps import DB

router = APIRouter(tags=["health"])


@router.get(f"{API}/healthz", summary="Health check", responses={503: {"description": "database down"}})
def healthz(db: DB) -> Any:
    """`200 {"ok": true}` when the server answers and its database does too; `503` otherwise.
    Needs no token: for load balancers and monitoring.
    """
    try:
        db.ping()
    except Unavailable as exc:
        return JSONResponse({"ok": False, "detail": str(exc)}, status_code=503)
    return {"ok": True}
