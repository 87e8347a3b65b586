"""The locale's calendar: public holidays, school holidays, event days, as one day table.

``--holidays`` names the regions whose days matter, ``COUNTRY[-SUBDIV]`` comma separated, e.g.
``DE-BW,FR-6AE`` for Offenburg (both sides of the Rhine) or ``NZ-AUK`` for Auckland. Public holidays
come from the ``holidays`` package (imported here only, at training time); school holidays for
Baden-Württemberg and French zone B from the table ``school_holidays.json`` beside this module,
for other regions from the ``holidays`` package where it knows them. The device gets the result as a
:class:`forecasting.features.Calendar` inside the model bundle and needs neither.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from a2d.errors import KnownError
from a2d.forecastwire import Calendar

log = logging.getLogger(__name__)

SCHOOL_TABLE = Path(__file__).with_name("school_holidays.json")
#: time zone of a country when --tz is not given (countries with one zone only)
ZONES = {
    "DE": "Europe/Berlin",
    "FR": "Europe/Paris",
    "NZ": "Pacific/Auckland",
    "AT": "Europe/Vienna",
    "CH": "Europe/Zurich",
    "NL": "Europe/Amsterdam",
    "BE": "Europe/Brussels",
    "LU": "Europe/Luxembourg",
    "IT": "Europe/Rome",
    "PL": "Europe/Warsaw",
    "CZ": "Europe/Prague",
    "DK": "Europe/Copenhagen",
    "GB": "Europe/London",
    "IE": "Europe/Dublin",
}


class LocaleError(KnownError):
    """A --holidays item the calendar cannot use, or an unreadable events file."""


@dataclass(frozen=True)
class Region:
    country: str
    subdiv: str | None

    def __str__(self) -> str:
        return self.country + (f"-{self.subdiv}" if self.subdiv else "")


def parse_locale(text: str) -> list[Region]:
    """``"DE-BW,FR-6AE"`` → regions; ``""`` → none (a calendar of weekends only)."""
    out = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        country, _, subdiv = item.partition("-")
        if len(country) != 2 or not country.isalpha():
            raise LocaleError(
                f"--holidays item {item!r} is not COUNTRY[-SUBDIV] (e.g. DE-BW, FR-6AE, NZ-AUK)"
            )
        out.append(Region(country.upper(), subdiv.upper() or None))
    return out


def default_zone(regions: Sequence[Region]) -> str:
    for r in regions:
        if r.country in ZONES:
            return ZONES[r.country]
    raise LocaleError("give the series' time zone with --tz (an IANA name such as Europe/Berlin)")


def public_holidays(regions: Sequence[Region], years: Iterable[int]) -> dict[str, str]:
    """ISO date → holiday name(s), over all regions (names joined when regions differ)."""
    import holidays

    years = list(years)
    out: dict[str, str] = {}
    for r in regions:
        try:
            days = holidays.country_holidays(r.country, subdiv=r.subdiv, years=years)
        except NotImplementedError:
            raise LocaleError(f"the holidays package does not know the country {r.country!r}") from None
        except ValueError as exc:
            raise LocaleError(f"--holidays {r}: {exc}") from exc
        for day, name in days.items():
            key = day.isoformat()
            label = f"{name} ({r})"
            out[key] = label if key not in out else f"{out[key]}; {label}"
    return out


def school_holidays(regions: Sequence[Region], years: Iterable[int]) -> tuple[set[str], list[str]]:
    """(ISO dates of school holidays in any region, notes on regions without school holidays)."""
    table = json.loads(SCHOOL_TABLE.read_text(encoding="utf-8"))
    aliases = {alias: key for key, names in table["regions"].items() for alias in names}
    periods: dict[str, list[tuple[date, date]]] = {}
    for region, start, end, _name in table["periods"]:
        periods.setdefault(region, []).append((date.fromisoformat(start), date.fromisoformat(end)))
    years = list(years)
    days: set[str] = set()
    notes: list[str] = []
    for r in regions:
        key = aliases.get(str(r))
        if key is not None:
            for a, b in periods[key]:
                d = a
                while d <= b:
                    days.add(d.isoformat())
                    d += timedelta(days=1)
            continue
        found = _school_from_package(r, years)
        if found is None:
            notes.append(f"no school holidays known for {r}")
        days |= found or set()
    return days, notes


def _school_from_package(r: Region, years: list[int]) -> set[str] | None:
    import holidays

    try:
        cal = holidays.country_holidays(r.country, subdiv=r.subdiv, years=years, categories=("school",))
    except (NotImplementedError, ValueError, KeyError):
        return None
    return {d.isoformat() for d in cal} or None


def read_events(path: str | Path) -> set[str]:
    """An event-day file: CSV with a ``date`` column (ISO dates; other columns such as ``name`` are
    ignored)."""
    p = Path(path)
    try:
        with p.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise LocaleError(f"cannot read the events file {p}: {exc.strerror or exc}") from exc
    out = set()
    for i, row in enumerate(rows, start=2):
        text = (row.get("date") or "").strip()
        try:
            out.add(date.fromisoformat(text[:10]).isoformat())
        except ValueError:
            raise LocaleError(f"{p} line {i}: {text!r} is not a date (YYYY-MM-DD)") from None
    return out


def build(locale: str, first: date, last: date, events: Iterable[str] = ()) -> tuple[Calendar, list[str]]:
    """The calendar of ``locale`` from ``first`` to ``last``, and notes on what is missing."""
    regions = parse_locale(locale)
    years = range(first.year, last.year + 1)
    holidays_ = public_holidays(regions, years) if regions else {}
    school, notes = school_holidays(regions, years) if regions else (set(), ["no --holidays given"])
    cal = Calendar(
        first=first,
        last=last,
        holidays={k: v for k, v in holidays_.items() if first.isoformat() <= k <= last.isoformat()},
        school=frozenset(d for d in school if first.isoformat() <= d <= last.isoformat()),
        events=frozenset(events),
        locale=",".join(str(r) for r in regions),
    )
    for note in notes:
        log.info("calendar: %s", note)
    return cal, notes
