"""What each wall view says, as plain data (no Kivy): texts in the pack's default language with a
second-language line, and the numbers with their percentages (numbers, never colour alone).

:func:`results_view` turns a question and the agent's ``GET /v1/polls/{id}/results`` answer
(seam B: this site's ``counts`` and the town's ``town.counts``) into rows; :func:`forecast_view`
words the forecast with the kiosk's own policy (:func:`kiosk.forecastview.forecast_day`);
:func:`notice_view` says what is counted here and where the public register is.
Two views that compare equal draw the same picture: the wall redraws only when a view changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from a2d.contentpack import ContentPack, pick

from ..forecastview import Bar, forecast_day
from ..i18n import Translator
from ..views import format_date
from .questions import Question


@dataclass(frozen=True)
class Line:
    """A text in the wall's language and, below it, the same in the second language ("" if none)."""

    text: str
    second: str = ""


class Words:
    """The kiosk's catalogs for the wall's two languages: ``tr(msgid)`` gives a :class:`Line`."""

    def __init__(self, translator: Translator, lang: str, second: str | None) -> None:
        self.translator, self.lang, self.second = translator, lang, second

    def tr(self, msgid: str, **fmt: Any) -> Line:
        first = self.translator.text(msgid, self.lang).format(**fmt)
        other = self.translator.text(msgid, self.second).format(**fmt) if self.second else ""
        return Line(first, other if other != first else "")

    def plural(self, singular: str, plural: str, n: int) -> Line:
        def one(lang: str) -> str:
            return self.translator.catalog(lang).ngettext(singular, plural, n).format(n=number(n, lang))

        first = one(self.lang)
        other = one(self.second) if self.second else ""
        return Line(first, other if other != first else "")

    def dated(self, msgid: str, iso: str) -> Line:
        """``msgid`` with ``{date}``, the date written as each language writes it (12.05.2026)."""

        def one(lang: str) -> str:
            def tr(m: str) -> str:
                return self.translator.text(m, lang)

            return tr(msgid).format(date=format_date(iso, tr))

        first = one(self.lang)
        other = one(self.second) if self.second else ""
        return Line(first, other if other != first else "")

    def text(self, text: Mapping[str, str]) -> Line:
        """A text of the pack (or of a live question): its second line only if it has that language."""
        first = pick(text, self.lang)
        other = text.get(self.second, "") if self.second else ""
        return Line(first, other if other != first else "")


def second_language(pack: ContentPack | None, setting: str) -> str | None:
    """``wall.second_language``: "none" for no second line, a code, or "" for the pack's first
    screen language after its default one (Offenburg: French)."""
    if setting == "none" or pack is None:
        return None
    if setting:
        return setting if setting != pack.default_language else None
    return next((x for x in pack.languages if x in ("de", "fr", "en") and x != pack.default_language), None)


def number(n: int, lang: str) -> str:
    """12345 → "12.345" (de), "12 345" (fr), "12,345" (en)."""
    sep = {"de": ".", "fr": "\u202f", "en": ","}.get(lang, ".")
    return f"{n:,}".replace(",", sep)


def percent(share: float, lang: str) -> str:
    """0.404 → "40 %" (de, fr: a narrow no-break space), "40%" (en)."""
    value = round(share * 100)
    return f"{value}%" if lang == "en" else f"{value}\u202f%"


@dataclass(frozen=True)
class Row:
    answer_id: str
    label: Line
    here: int
    here_share: float  #: 0..1 of this site's votes
    town: int | None  #: None: no town-wide numbers
    town_share: float | None


@dataclass(frozen=True)
class ResultsView:
    key: str
    kicker: Line  #: "Live-Frage" or "Umfrage"
    title: Line
    rows: tuple[Row, ...]  #: empty while the results are hidden or not known
    here_head: Line
    town_head: Line | None  #: None: no town column
    here_total: Line
    town_total: Line | None
    note: Line  #: why there are no bars or no town column ("" when all is there)
    lang: str
    live: bool = False


def counts_of(doc: Any, key: str = "counts") -> dict[str, int] | None:
    """``{"counts": {...}}`` of a results answer (or of its ``town``), checked; None if not there."""
    if not isinstance(doc, Mapping) or not isinstance(doc.get(key), Mapping):
        return None
    out = {}
    for k, v in doc[key].items():
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            return None
        out[str(k)] = v
    return out


def results_view(q: Question, doc: Mapping[str, Any] | None, w: Words) -> ResultsView:
    """One question's view from its results answer (``None``: the agent could not say)."""
    here = counts_of(doc) if doc is not None else None
    town_doc = doc.get("town") if doc is not None else None
    town = counts_of(town_doc)
    kicker = w.tr("Live-Frage") if q.live else w.tr("Umfrage")
    here_n = sum(here.values()) if here else 0
    town_n = sum(town.values()) if town else 0
    note = Line("")
    rows: tuple[Row, ...] = ()
    if q.hidden_until is not None:
        note = w.dated("Das Ergebnis zeigen wir, wenn die Umfrage endet ({date}).", q.hidden_until)
        town = None
    elif here is None:
        note = w.tr("Das Ergebnis ist gerade nicht abrufbar.")
        town = None
    else:
        rows = tuple(
            Row(a.id, w.text(a.label), here.get(a.id, 0), here.get(a.id, 0) / here_n if here_n else 0.0,
                town.get(a.id, 0) if town is not None else None,
                (town.get(a.id, 0) / town_n if town_n else 0.0) if town is not None else None)
            for a in q.answers
        )  # fmt: skip
        if town is None:
            note = w.tr("Stadtweite Zahlen sind noch nicht da.")
    return ResultsView(
        key=f"results:{q.id}", kicker=kicker, title=w.text(q.text), rows=rows,
        here_head=w.tr("Hier"), town_head=w.tr("Stadtweit") if town is not None else None,
        here_total=w.plural("{n} Stimme", "{n} Stimmen", here_n),
        town_total=w.plural("{n} Stimme", "{n} Stimmen", town_n) if town is not None else None,
        note=note, lang=w.lang, live=q.live,
    )  # fmt: skip


@dataclass(frozen=True)
class ForecastView:
    key: str
    title: Line
    sentence: Line
    peak: Line
    bars: tuple[Bar, ...]
    threshold: float | None
    legend: Line
    label: str  #: what the forecast is made of, who answers for it (the wall's language only)
    sample: str  #: "" unless the selftest draws its built-in example


def forecast_view(doc: Mapping[str, Any] | None, pack: ContentPack | None, w: Words) -> ForecastView | None:
    """The forecast view, or None when there is no forecast that says something about today."""
    if doc is None:
        return None
    records = pack.transparency if pack is not None else ()
    first = forecast_day(doc, w.lang, lambda m: w.translator.text(m, w.lang), records)
    if first is None:
        return None
    second = forecast_day(doc, w.second, lambda m: w.translator.text(m, w.second or w.lang), records) \
        if w.second else None  # fmt: skip

    def line(attr: str) -> Line:
        a = str(getattr(first, attr))
        b = str(getattr(second, attr)) if second is not None else ""
        return Line(a, b if b != a else "")

    return ForecastView("forecast", line("title"), line("sentence"), line("peak"), first.bars,
                        first.busy_threshold, line("legend"), first.label, first.sample)  # fmt: skip


@dataclass(frozen=True)
class NoticeView:
    key: str
    title: Line
    counted: tuple[Line, ...]  #: the systems that record something here (the pack's records)
    no_person: Line
    register: Line  #: "Alle Geräte und was sie erfassen: im öffentlichen Register" (or the contact)
    url: str  #: the register's address for the QR code; "" when the wall knows none
    contact: str


def notice_view(pack: ContentPack | None, register_url: str, w: Words) -> NoticeView:
    records = pack.transparency if pack is not None else ()
    counted = tuple(w.text(r.title) for r in records)
    kiosk = next((r for r in records if r.id == "kiosk"), records[0] if records else None)
    contact = pick(kiosk.fields.get("contact", {}), w.lang) if kiosk is not None else ""
    if register_url:
        register = w.tr("Alle Geräte und was sie erfassen: im öffentlichen Register")
    else:
        register = w.tr("Fragen dazu: {contact}", contact=contact) if contact else Line("")
    return NoticeView(
        "notice", w.tr("Was wird hier gezählt?"), counted,
        w.tr("Hier wird niemand als Person erfasst. Gezählt werden nur anonyme Zahlen."),
        register, register_url, contact,
    )  # fmt: skip


@dataclass(frozen=True)
class Header:
    place: str  #: the site's name, or the town's
    stamp: Line  #: "Stand: 15:02", or that the agent is not reachable


def header(pack: ContentPack | None, site: str, at: datetime | None, online: bool, w: Words) -> Header:
    place = ""
    if pack is not None:
        s = pack.site(site) if site else None
        place = pick(s.name, w.lang) if s is not None else pack.town
    if not online:
        stamp = w.tr("Keine Verbindung zum Gerät im Haus")
    elif at is None:
        stamp = Line("")
    else:
        stamp = w.tr("Stand: {time}", time=at.strftime("%H:%M"))
    return Header(place, stamp)


def views_of(
    questions: Sequence[Question], results: Mapping[str, Mapping[str, Any] | None],
    forecast: Mapping[str, Any] | None, pack: ContentPack | None, register_url: str, w: Words,
) -> list[ResultsView | ForecastView | NoticeView]:  # fmt: skip
    """The cycle: every current question, the forecast (if there is one), the notice."""
    out: list[ResultsView | ForecastView | NoticeView] = [
        results_view(q, results.get(q.id), w) for q in questions
    ]
    fc = forecast_view(forecast, pack, w)
    if fc is not None:
        out.append(fc)
    out.append(notice_view(pack, register_url, w))
    return out
