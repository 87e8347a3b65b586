"""Live questions on the server: start one, close one, list them with their town-wide counts.

The command line (``a2d server poll live|list|close``) and the admin API
(``/api/v1/admin/live``) both come here; both write straight into the database, and every
running server process notices within a second (:mod:`.livehub`) and tells its agents.

A question is checked before it is stored (:mod:`a2d.livewire`): a text, two to eight answers
whose ids (the slugs of their labels) differ, 1 minute to a week, and sites that the registry
knows when it knows any (a site nobody stands at would be a question nobody sees).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from a2d import livewire
from a2d.errors import KnownError
from a2d.livewire import LiveError, LiveQuestion

from .db import Database, LiveRow


class LiveRefused(KnownError):
    """A live question that cannot be started or closed; the message says why."""


def _now() -> datetime:
    return datetime.now(UTC)


def start(
    db: Database, question: str, answers: list[str], *, sites: list[str] | None = None,
    minutes: int = livewire.DEFAULT_MINUTES, started_by: str, now: datetime | None = None,
) -> LiveQuestion:  # fmt: skip
    """Check and store a new question open from now on for ``minutes``; :class:`LiveRefused` if bad."""
    at = now or _now()
    try:
        q = LiveQuestion.new(question, answers, now=at, minutes=minutes, sites=sites or ())
    except LiveError as exc:
        raise LiveRefused(str(exc)) from None
    known = {d.site for d in db.devices() if d.site}
    unknown = [s for s in q.sites if s not in known]
    if known and unknown:
        raise LiveRefused(
            f"no device stands at site {unknown[0]!r} (the registry knows: {', '.join(sorted(known))})"
        )
    doc = orjson.dumps(q.as_json()).decode()
    db.add_live(q.id, doc, q.opens_at, q.closes_at, started_by[:200], livewire.stamp(at))
    return q


def close(db: Database, question_id: str, closed_by: str, now: datetime | None = None) -> LiveRow:
    """Close a question now; :class:`LiveRefused` for an unknown one. Closing a closed one changes nothing."""
    row = db.live_question(question_id)
    if row is None:
        raise LiveRefused(f"no live question {question_id!r} (see a2d server poll list)")
    db.close_live(question_id, livewire.stamp(now or _now()), closed_by[:200])
    found = db.live_question(question_id)
    assert found is not None
    return found


def described(row: LiveRow, counts: dict[str, int], now: str) -> dict[str, Any]:
    """A question as ``poll list`` and the admin API show it: the wire document, its state, who
    started (and closed) it, and its town-wide counts per answer."""
    doc = row.as_json()
    answers = [a["id"] for a in doc.get("answers", []) if isinstance(a, dict)]
    full = {a: counts.get(a, 0) for a in answers}
    state = (
        "open" if row.opens_at <= now < row.closes_at else ("closed" if now >= row.closes_at else "planned")
    )
    return {
        **doc,
        "state": state,
        "started_by": row.started_by,
        "started_at": row.started_at,
        "closed_by": row.closed_by,
        "counts": full,
        "total": sum(full.values()),
    }


def listing(db: Database, limit: int = 100, now: datetime | None = None) -> list[dict[str, Any]]:
    """The newest ``limit`` questions, open and closed, with their counts."""
    rows = db.live_questions(None, limit)
    tallies = db.poll_tallies(r.id for r in rows)
    at = livewire.stamp(now or _now())
    return [described(r, tallies.get(r.id, {}), at) for r in rows]


def one(db: Database, question_id: str, now: datetime | None = None) -> dict[str, Any] | None:
    """One question as :func:`listing` shows it, None if unknown."""
    row = db.live_question(question_id)
    if row is None:
        return None
    return described(row, db.poll_tallies([row.id]).get(row.id, {}), livewire.stamp(now or _now()))
