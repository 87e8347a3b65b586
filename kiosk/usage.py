"""The kiosk's anonymous usage counters: per day, how many visits began, which screens showed,
which languages were chosen. Counters only: no time finer than the day, no row per visit, nothing
about a citizen. A day's counters leave the kiosk once, as one :class:`a2d.localapi.UsageReport`,
when the day is over (or when the kiosk stops: the rest of that day follows in a second report).

Time is passed in (``today``), no I/O: :class:`UsageCounter` is pure bookkeeping; the controller
hands its finished reports to the agent client, whose outbox keeps them durably.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from a2d.localapi import UsageReport

#: screens that are no part of a visit (the kiosk waiting, wiped, or not ready) are not counted,
#: nor the Lotsen pages (staff at work, not citizens)
NOT_COUNTED = frozenset({"attract", "wiped", "nocontent", "claim", "afterhours", "lotsen_pin", "lotsen"})


@dataclass
class _Day:
    sessions: int = 0
    screens: dict[str, int] = field(default_factory=dict)
    languages: dict[str, int] = field(default_factory=dict)

    def empty(self) -> bool:
        return not (self.sessions or self.screens or self.languages)


class UsageCounter:
    """Counts for the day ``today()`` says it is; :meth:`finished` hands over the days gone by.

    >>> days = iter(["2026-06-02", "2026-06-02", "2026-06-02", "2026-06-03", "2026-06-03"])
    >>> c = UsageCounter("kiosk-1", lambda: date.fromisoformat(next(days)))
    >>> c.session(); c.screen("home"); c.language("fr")
    >>> [(r.day, r.sessions, r.screens, r.languages) for r in c.finished()]
    [('2026-06-02', 1, {'home': 1}, {'fr': 1})]
    >>> c.finished()
    []
    """

    def __init__(self, kiosk_id: str, today: Callable[[], date]) -> None:
        self.kiosk_id = kiosk_id
        self.today = today
        self._days: dict[str, _Day] = {}

    def _day(self) -> _Day:
        return self._days.setdefault(self.today().isoformat(), _Day())

    def session(self) -> None:
        self._day().sessions += 1

    def screen(self, name: str) -> None:
        if name and name not in NOT_COUNTED:
            counts = self._day().screens
            counts[name] = counts.get(name, 0) + 1

    def language(self, lang: str) -> None:
        if lang:
            counts = self._day().languages
            counts[lang] = counts.get(lang, 0) + 1

    def finished(self) -> list[UsageReport]:
        """The reports of the days before today (each handed over once)."""
        today = self.today().isoformat()
        return self._take([d for d in self._days if d < today])

    def everything(self) -> list[UsageReport]:
        """The reports of every day counted so far, today's too (when the kiosk stops)."""
        return self._take(list(self._days))

    def _take(self, days: list[str]) -> list[UsageReport]:
        out = []
        for day in sorted(days):
            d = self._days.pop(day)
            if not d.empty():
                out.append(UsageReport(str(uuid.uuid4()), self.kiosk_id, day, d.sessions, dict(d.screens),
                                       dict(d.languages)))  # fmt: skip
        return out
