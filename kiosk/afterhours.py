"""What the kiosk says after hours instead of "Hilfe holen" (plain data, no Kivy).

"Wir sind wieder da: Montag, 8 Uhr" in the visit's language: the weekday comes from the catalogs
("heute" and "morgen" where it fits), the time of day is written as each language writes it
(:func:`clock_time`): "8 Uhr" and "8:30 Uhr" in German and Leichte Sprache, "8 h" and "8 h 30" in
French, "8 am" and "6:30 pm" in English. Further than a week ahead the date is added.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from .i18n import N_

Tr = Callable[[str], str]

#: Monday first, as ``datetime.weekday()`` counts
WEEKDAYS = (N_("Montag"), N_("Dienstag"), N_("Mittwoch"), N_("Donnerstag"), N_("Freitag"),
            N_("Samstag"), N_("Sonntag"))  # fmt: skip


def clock_time(at: datetime, lang: str) -> str:
    """The time of day as a notice on a door says it in ``lang`` (German for other languages)."""
    h, m = at.hour, at.minute
    if lang == "en":
        suffix = "am" if h < 12 else "pm"
        h12 = h % 12 or 12
        return f"{h12} {suffix}" if m == 0 else f"{h12}:{m:02d} {suffix}"
    if lang == "fr":
        return f"{h} h" if m == 0 else f"{h} h {m:02d}"
    return f"{h} Uhr" if m == 0 else f"{h}:{m:02d} Uhr"


def when_text(reopens: datetime, now: datetime, lang: str, tr: Tr) -> str:
    """ "Montag, 8 Uhr", "morgen, 8 Uhr", "heute, 14 Uhr" (both times in the site's zone)."""
    days = (reopens.date() - now.date()).days
    if days == 0:
        day = tr("heute")
    elif days == 1:
        day = tr("morgen")
    else:
        day = tr(WEEKDAYS[reopens.weekday()])
        if days >= 7:
            day += " " + tr("{day}.{month}.{year}").format(
                day=f"{reopens.day:02d}", month=f"{reopens.month:02d}", year=reopens.year
            )
    return f"{day}, {clock_time(reopens, lang)}"


@dataclass(frozen=True)
class ClosedNotice:
    """Where "Hilfe holen" was: ``heading`` ("Wir sind wieder da: Montag, 8 Uhr") and ``message``."""

    heading: str
    message: str
    spoken: str


def closed_notice(reopens: datetime | None, now: datetime, lang: str, tr: Tr) -> ClosedNotice:
    """The notice for a closed office; ``reopens`` None: no opening known within a year."""
    if reopens is None:
        heading = tr("Das Büro ist geschlossen.")
    else:
        heading = tr("Wir sind wieder da: {when}").format(when=when_text(reopens, now, lang, tr))
    message = tr("Jetzt ist niemand da, der helfen kann. Alle Informationen hier können Sie weiter lesen.")
    spoken = " ".join(p if p[-1] in ".!?" else p + "." for p in (heading, message))
    return ClosedNotice(heading, message, spoken)
