"""A site's opening hours: :class:`SiteHours`.

``PH`` (public holiday) means the public holidays of the site's ISO 3166-2 region, as the
``holidays`` library knows them (``DE-BW`` has Epiphany and Corpus Christi, ``DE-BE`` has not).
The ``opening_hours`` library's own calendar knows only nation-wide days, so every rule whose
weekday selector names ``PH`` (``PH off``, ``Su,PH off``, ``PH 10:00-12:00``) is repeated as a
dated rule for each holiday of the years around the moment asked about. Other rules are the
library's, unchanged: exceptions such as ``Dec 24 off``, months, week numbers, times past midnight.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from a2d.errors import KnownError

if TYPE_CHECKING:
    import opening_hours

#: longest expression we take (OpenStreetMap caps a tag's value at 255 characters; staff may add
#: a few dated exceptions beyond that)
MAX_EXPRESSION = 1000
_REGION = re.compile(r"^([A-Z]{2})(?:-([A-Z0-9]{1,3}))?$")
_DAY = r"(?:Mo|Tu|We|Th|Fr|Sa|Su)(?:-(?:Mo|Tu|We|Th|Fr|Sa|Su))?"
#: a rule whose leading weekday selector names PH, and what follows it (``off``, times)
_PH_RULE = re.compile(rf"^\s*((?:{_DAY}|PH|SH)(?:\s*,\s*(?:{_DAY}|PH|SH))*)\b\s*(.*?)\s*$")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class HoursError(KnownError, ValueError):
    """An expression, region or time zone we cannot use; the text says which and why."""


def _holiday_dates(country: str, subdiv: str | None, years: tuple[int, ...]) -> list[date]:
    import holidays

    try:
        days = holidays.country_holidays(country, subdiv=subdiv, years=years)
    except NotImplementedError as exc:
        raise HoursError(f"no public holidays known for region {country}-{subdiv}: {exc}") from None
    return sorted(days)


def _ph_tails(expression: str) -> list[str]:
    """What each PH rule says (``off``, ``10:00-12:00``): rules are split at ``;``."""
    tails = []
    for rule in expression.split(";"):
        m = _PH_RULE.match(rule)
        if m and "PH" in re.split(r"\s*,\s*", m.group(1)):
            tails.append(m.group(2) or "00:00-24:00")
    return tails


@dataclass(frozen=True)
class SiteHours:
    """Opening hours of one site; build with :meth:`parse`, ask with :meth:`is_open`.

    >>> h = SiteHours.parse("Mo-Fr 08:00-12:00; PH off", region="DE-BW")
    >>> h.is_open(datetime(2026, 6, 4, 10, tzinfo=h.tz))  # Corpus Christi, a holiday in BW
    False
    """

    expression: str
    region: str
    tz: ZoneInfo
    _ph: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def parse(cls, expression: str, region: str = "DE-BW", tz: str = "Europe/Berlin") -> SiteHours:
        """Check everything now, so a bad pack fails when it is published, not at 8 on a Monday."""
        import opening_hours

        if not isinstance(expression, str) or not expression.strip():
            raise HoursError("opening hours are empty (24/7 is written as such)")
        if len(expression) > MAX_EXPRESSION or not expression.isprintable():
            raise HoursError(
                f"opening hours must be one printable line of at most {MAX_EXPRESSION} characters"
            )
        m = _REGION.match(region)
        if not m:
            raise HoursError(f"region must be an ISO 3166-2 code such as DE-BW, not {region!r:.20}")
        try:
            zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise HoursError(f"unknown time zone {tz!r:.40}") from None
        try:
            opening_hours.OpeningHours(expression, timezone=zone, auto_country=False, auto_timezone=False)
        except Exception as exc:  # noqa: BLE001 - the library raises ParserError and others; all mean "bad text"
            first = " ".join(str(exc).split())[:200]
            raise HoursError(
                f"opening hours {expression!r:.80} are not valid OSM opening_hours: {first}"
            ) from None
        hours = cls(expression.strip(), region, zone, tuple(_ph_tails(expression)))
        hours._calendar(datetime.now(zone).year)  # the region's holidays load, or fail, now
        return hours

    def _calendar(self, year: int) -> opening_hours.OpeningHours:
        return _compiled(self.expression, self.region, self.tz.key, self._ph, year)

    def local(self, at: datetime) -> datetime:
        """``at`` in the site's zone (a naive time is taken as the site's local time)."""
        return at.replace(tzinfo=self.tz) if at.tzinfo is None else at.astimezone(self.tz)

    def is_open(self, at: datetime) -> bool:
        at = self.local(at)
        return bool(self._calendar(at.year).is_open(at))

    def next_change(self, at: datetime) -> datetime | None:
        """When the state (open or closed) next changes after ``at``; None: never (24/7, closed)."""
        at = self.local(at)
        nxt = self._calendar(at.year).next_change(at)
        return None if nxt is None else self.local(nxt)

    def next_open(self, at: datetime) -> datetime | None:
        """``at`` itself when open, else when the site opens next (None: not within a year)."""
        at = self.local(at)
        if self.is_open(at):
            return at
        nxt, limit = at, at + timedelta(days=366)
        while nxt < limit:  # bounded: a change is at least a minute after the one before
            step = self.next_change(nxt)
            if step is None or step <= nxt:
                return None
            nxt = step
            if self.is_open(nxt):
                return nxt
        return None

    def closes_at(self, at: datetime) -> datetime | None:
        """When an open site closes next (None when closed now or open for good)."""
        return self.next_change(at) if self.is_open(at) else None

    def as_json(self) -> dict[str, Any]:
        return {"opening_hours": self.expression, "region": self.region, "timezone": self.tz.key}


@lru_cache(maxsize=64)
def _compiled(
    expression: str, region: str, tz: str, ph: tuple[str, ...], year: int
) -> opening_hours.OpeningHours:
    """The expression with the region's holidays of ``year - 1 .. year + 1`` as dated PH rules."""
    import opening_hours

    rules = [expression.rstrip().rstrip(";")]
    if ph:
        country, _, subdiv = region.partition("-")
        for day in _holiday_dates(country, subdiv or None, (year - 1, year, year + 1)):
            stamp = f"{day.year} {_MONTHS[day.month - 1]} {day.day:02d}"
            rules.extend(f"{stamp} {tail}" for tail in ph)
    return opening_hours.OpeningHours(
        "; ".join(rules), timezone=ZoneInfo(tz), auto_country=False, auto_timezone=False
    )
