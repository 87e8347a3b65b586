"""The questions a wall shows: the content pack's current polls and the agent's open live questions.

A :class:`Question` is the one shape both become: its texts as language maps, its answers in
order, and whether its results may be shown yet (a pack poll with ``results = "after_close"``
keeps its counts hidden until it closes, as the kiosk's thanks page does).

Live questions come from the agent's ``GET /v1/live`` as the kiosk's agent client keeps them
(:class:`a2d.livewire.LiveQuestion`, checked there); :func:`from_live` takes one over.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from a2d.contentpack import ContentPack, Poll
from a2d.livewire import LiveQuestion

Text = Mapping[str, str]


@dataclass(frozen=True)
class Answer:
    id: str
    label: Text


@dataclass(frozen=True)
class Question:
    id: str
    text: Text
    answers: tuple[Answer, ...]
    live: bool = False
    #: the date (ISO) until which the counts stay hidden (``after_close``); None: shown at once
    hidden_until: str | None = None
    kind: str = "choice"  #: "smiley" (worst → best), "choice", or "live"


def from_poll(p: Poll) -> Question:
    hidden = p.closes if p.results == "after_close" else None
    return Question(p.id, p.question, tuple(Answer(c.id, c.label) for c in p.choices),
                    hidden_until=hidden, kind=p.kind)  # fmt: skip


def _closes_on(closes: str) -> date | None:
    try:
        return datetime.fromisoformat(closes.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def current_polls(pack: ContentPack | None, today: date) -> list[Question]:
    """The pack's polls still open on ``today`` (no ``closes``, or closing today or later)."""
    if pack is None:
        return []
    out = []
    for p in pack.polls:
        ends = _closes_on(p.closes) if p.closes else None
        if ends is None or ends >= today:
            out.append(from_poll(p))
    return out


def from_live(q: LiveQuestion) -> Question:
    """A live question of the agent (``GET /v1/live``, read by the kiosk's agent client)."""
    return Question(q.id, q.text, tuple(Answer(a.id, a.label) for a in q.answers), live=True, kind="live")


def current(live: Sequence[Question], polls: Sequence[Question]) -> list[Question]:
    """What the wall cycles through: the live questions first, then the pack's polls."""
    seen: set[str] = set()
    out = []
    for q in [*live, *polls]:
        if q.id not in seen:
            seen.add(q.id)
            out.append(q)
    return out
