"""Feedback results for ``/console/results``: every question with its words, counted per site and day.

Two sources of questions: the polls of the published content packs (every target: all devices, a
site, a device) and the live questions staff started (:mod:`sync_server.live`). The votes are the
``feedback`` records the agents uploaded (a kiosk's vote and a mapped button's press look the same:
``decoded.poll_id`` and ``decoded.choice``; a press marked ``"counted": false`` counts for nothing,
as in :mod:`sync_server.livevotes`). They are counted per answer, per site of the device that sent
them and per day in the town's time (Europe/Berlin), inside a window of days. The town-wide totals
since the beginning come from ``poll_tallies`` (kept at upload), shown only to users who see every
site.

Small counts are suppressed as in open data: a number from 1 to ``min_count - 1`` is never shown,
the page and the CSV say "unter 5" instead (:func:`shown`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

import orjson

from a2d import contentpack, livewire
from a2d.timeutil import iso, parse

from .. import livevotes
from ..db import Database
from . import register

#: days a window covers unless the form asks otherwise, and the most it may ask for
DEFAULT_DAYS = 30
MAX_DAYS = 366


@dataclass(frozen=True)
class Question:
    """A poll or a live question with the words citizens saw (``answers``: id → label)."""

    id: str
    text: str
    answers: dict[str, str]
    source: str  # "pack" (a content pack's poll) or "live"
    sites: tuple[str, ...] = ()  # a live question's sites (empty: all); a pack poll's: ()
    state: str = ""  # a live question's state: open, closed, planned
    closes_at: str = ""

    def label(self, answer: str) -> str:
        return self.answers.get(answer, answer)


@dataclass
class Counts:
    """The counted votes of one question in a window: per (site, day, answer)."""

    cells: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def add(self, site: str, day: str, answer: str, n: int = 1) -> None:
        key = (site, day, answer)
        self.cells[key] = self.cells.get(key, 0) + n

    def by(self, *, site: bool = False, day: bool = False) -> dict[tuple[str, ...], int]:
        """Summed over what is not asked for: keys (site?, day?, answer)."""
        out: dict[tuple[str, ...], int] = {}
        for (s, d, a), n in self.cells.items():
            key = (*((s,) if site else ()), *((d,) if day else ()), a)
            out[key] = out.get(key, 0) + n
        return out

    def sites(self) -> list[str]:
        return sorted({s for s, _, _ in self.cells})

    def days(self) -> list[str]:
        return sorted({d for _, d, _ in self.cells})

    @property
    def total(self) -> int:
        return sum(self.cells.values())


def shown(n: int, min_count: int) -> int | None:
    """The number as it may be shown: None when it is a small count (1 to ``min_count - 1``)."""
    return None if 0 < n < min_count else n


def questions(db: Database, lang: str, live_limit: int = 200) -> list[Question]:
    """Every question: the live ones (newest first), then the polls of the published packs."""
    out: list[Question] = []
    now = livewire.stamp(datetime.now(UTC))
    for row in db.live_questions(None, live_limit):
        doc = row.as_json()
        text = contentpack.pick(doc.get("text", {}), lang)
        answers = {
            str(a["id"]): contentpack.pick(a.get("label", {}), lang)
            for a in doc.get("answers", [])
            if isinstance(a, dict) and "id" in a
        }
        state = (
            "open"
            if row.opens_at <= now < row.closes_at
            else ("closed" if now >= row.closes_at else "planned")
        )
        out.append(Question(row.id, text, answers, "live", tuple(doc.get("sites", ())), state, row.closes_at))
    seen = {q.id for q in out}
    for pack in register.packs(db):
        for poll in pack.pack.polls:
            if poll.id in seen:
                continue
            seen.add(poll.id)
            answers = {c.id: contentpack.pick(c.label, lang) for c in poll.choices}
            out.append(Question(poll.id, contentpack.pick(poll.question, lang), answers, "pack"))
    return out


def window(start: str | None, end: str | None, today: date) -> tuple[date, date]:
    """The days ``[first, last]`` of a form's ``from``/``to`` (``YYYY-MM-DD``); ValueError if bad."""
    last = date.fromisoformat(end) if end else today
    first = date.fromisoformat(start) if start else last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ValueError("from must not lie after to")
    if (last - first).days >= MAX_DAYS:
        raise ValueError(f"at most {MAX_DAYS} days at once")
    return first, last


def count(
    db: Database, poll_id: str, first: date, last: date, tz: tzinfo, sees: Iterable[str] | None = None
) -> Counts:
    """The counted votes for ``poll_id`` in the local days ``first`` to ``last``, per site and day.

    ``sees``: the sites the user may see (None: all). A device without a site counts under ``""``.
    """
    start = iso(datetime.combine(first, time(), tzinfo=tz))
    end = iso(datetime.combine(last + timedelta(days=1), time(), tzinfo=tz))
    site_of = {d.device_id: d.site for d in db.devices()}
    allowed = None if sees is None else set(sees)
    rows = db.query(
        "SELECT device_id, ts, payload FROM records WHERE stream = ? AND ts >= ? AND ts < ?",
        (livevotes.STREAM, start, end),
    )
    out = Counts()
    for device_id, ts, payload in rows:
        site = site_of.get(str(device_id), "")
        if allowed is not None and site not in allowed:
            continue
        answer = _answer(str(payload), poll_id)
        if answer is None:
            continue
        day = parse(str(ts)).astimezone(tz).date().isoformat()
        out.add(site, day, answer)
    return out


def _answer(payload: str, poll_id: str) -> str | None:
    """The counted answer a feedback payload gives ``poll_id``, None if it gives none."""
    if poll_id not in payload:  # most records are about other polls: skip the JSON parse
        return None
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(doc, dict) or doc.get("counted") is False or not isinstance(doc.get("decoded"), dict):
        return None
    decoded = doc["decoded"]
    choice = decoded.get("choice")
    if decoded.get("poll_id") != poll_id or not isinstance(choice, str) or not choice:
        return None
    return choice[: livevotes.MAX_ID]


def answers_of(question: Question, counts: Counts, totals: dict[str, int] | None = None) -> list[str]:
    """The question's answers in its order, then any answer only the votes know."""
    extra = {a for _, _, a in counts.cells} | set(totals or {})
    return [*question.answers, *sorted(extra - set(question.answers))]
