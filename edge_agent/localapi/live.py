"""``GET /v1/live``: the open live questions for kiosks and walls, from the agent's own file.

What the server's live stream last said (:mod:`edge_agent.livestore`), filtered by time when it is
read, so a question closes on time while the agent is offline. The answer carries an ``ETag``: a
kiosk asking every few seconds with ``If-None-Match`` gets a bodiless ``304`` while nothing changed.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from a2d import timeutil

from .. import livestore
from .content import etag_matches
from .context import ApiContext
from .http import Request, Response


def document(api: ApiContext) -> dict[str, Any]:
    """``{"questions": [...], "updated_at": ...}`` (seam A of docs/local-api.md)."""
    now = timeutil.parse(api.clock())
    with api.reader() as db:
        questions = livestore.open_questions(db, now)
        heard = livestore.heard_at(db)
    return {"questions": [q.as_json() for q in questions], "updated_at": heard}


def live_now(api: ApiContext, req: Request) -> Response:
    body = json.dumps(document(api), ensure_ascii=False, separators=(",", ":")).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag_matches(req.headers.get("If-None-Match"), etag):
        return Response(304, b"", headers)
    return Response(200, body, {"Content-Type": "application/json", **headers})


def town(api: ApiContext, poll_id: str) -> dict[str, Any] | None:
    """The town-wide totals of ``poll_id`` as the server last sent them (None: it sent none)."""
    with api.reader() as db:
        found = livestore.town(db, poll_id)
    return None if found is None else found.as_json()


def live_choices(api: ApiContext, poll_id: str) -> list[str] | None:
    """The answer ids of a live question the agent holds (None when ``poll_id`` is no such question)."""
    with api.reader() as db:
        q = livestore.question(db, poll_id)
    return None if q is None else q.answer_ids()
