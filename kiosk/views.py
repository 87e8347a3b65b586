"""What each screen says, as plain data (no Kivy): the screens draw it, speech reads it, tests check it.

Every builder takes the content (from the pack), the screen language and a translator for the
kiosk's own words, and returns a frozen view whose ``spoken`` text is what "Vorlesen" reads: the
same words the screen shows, in the same language, in reading order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

from a2d.contentpack import (
    TRANSPARENCY_FIELDS,
    Choice,
    ContentPack,
    Poll,
    Service,
    TransparencyRecord,
    pick,
    pick_items,
)
from a2d.livewire import LiveQuestion

from .i18n import LANGUAGE_NAMES, N_, UI_LANGUAGES, Translator

Tr = Callable[[str], str]

#: DTPR-style labels of the transparency fields (German msgids; our own wording)
FIELD_LABELS: dict[str, str] = {
    "purpose": N_("Wozu?"),
    "technology": N_("Welche Technik?"),
    "data_type": N_("Welche Daten?"),
    "processing": N_("Was passiert mit den Daten?"),
    "storage": N_("Wo werden sie gespeichert?"),
    "access": N_("Wer hat Zugriff?"),
    "retention": N_("Wie lange?"),
    "accountable": N_("Wer ist verantwortlich?"),
    "legal_basis": N_("Rechtsgrundlage"),
    "contact": N_("Kontakt"),
    "active_until": N_("In Betrieb bis"),
}
#: DTPR shapes: hexagons for purpose, technology and accountability, circles for data and its
#: processing, squares for storage, access and the rest.
FIELD_SHAPES: dict[str, str] = {
    "purpose": "hexagon",
    "technology": "hexagon",
    "accountable": "hexagon",
    "data_type": "circle",
    "processing": "circle",
}
ATTRACT_TEXT = N_("Berühren Sie den Bildschirm")


def join(*parts: str) -> str:
    """Sentences for the speaker: empty parts dropped, each ending in a full stop or similar."""
    out = []
    for part in parts:
        part = " ".join(part.split())
        if not part:
            continue
        out.append(part if part[-1] in ".!?:" else part + ".")
    return " ".join(out)


def format_date(iso: str, tr: Tr) -> str:
    """``2026-05-12`` → ``12.05.2026`` (the pattern comes from the catalog); bad input unchanged."""
    try:
        d = date.fromisoformat(iso[:10])
    except ValueError:
        return iso
    return tr("{day}.{month}.{year}").format(day=f"{d.day:02d}", month=f"{d.month:02d}", year=d.year)


@dataclass(frozen=True)
class Attract:
    lines: tuple[tuple[str, str], ...]  #: (language, "Berühren Sie den Bildschirm") for de, fr, en
    spoken: str


def attract(text_in: Callable[[str, str], str]) -> Attract:
    lines = tuple((lang, text_in(ATTRACT_TEXT, lang)) for lang in UI_LANGUAGES)
    return Attract(lines=lines, spoken=lines[0][1])


@dataclass(frozen=True)
class Tile:
    id: str
    icon: str
    title: str
    summary: str


@dataclass(frozen=True)
class Home:
    heading: str
    intro: str
    tiles: tuple[Tile, ...]
    feedback: str
    transparency: str
    help: str
    spoken: str


def home(pack: ContentPack, lang: str, tr: Tr, *, closed: str | None = None) -> Home:
    """``closed``: after hours, what is read where "Hilfe holen" was (kiosk/afterhours.py)."""
    tiles = tuple(Tile(s.id, s.icon, pick(s.title, lang), pick(s.summary, lang)) for s in pack.services)
    heading = tr("Willkommen! Was möchten Sie tun?")
    intro = tr("Tippen Sie auf ein Feld.")
    feedback, transparency, help_ = tr("Ihre Meinung"), tr("Was erfasst dieses Gerät?"), tr("Hilfe holen")
    spoken = join(
        pack.town, heading, intro, *(join(t.title, t.summary) for t in tiles), feedback, transparency,
        help_ if closed is None else closed,
    )  # fmt: skip
    return Home(heading, intro, tiles, feedback, transparency, help_, spoken)


@dataclass(frozen=True)
class ServiceDetail:
    id: str
    icon: str
    title: str
    summary: str
    body: str
    bring_heading: str
    bring: tuple[str, ...]
    hours_heading: str
    hours: str
    where_heading: str
    where: str
    updated: str  #: "Stand: 12.05.2026"
    url: str
    qr_hint: str
    help: str
    spoken: str


def service(s: Service, lang: str, tr: Tr) -> ServiceDetail:
    title, summary, body = pick(s.title, lang), pick(s.summary, lang), pick(s.body, lang)
    bring = pick_items(s.bring, lang)
    hours, where = pick(s.hours, lang), pick(s.where, lang)
    updated = tr("Stand: {date}").format(date=format_date(s.updated, tr))
    qr_hint = tr("Mit dem Handy weitermachen: Code scannen")
    bring_h, hours_h, where_h = tr("Das brauchen Sie"), tr("Öffnungszeiten"), tr("Wo?")
    spoken = join(
        title,
        summary,
        body,
        join(bring_h + ":", *bring) if bring else "",
        join(hours_h + ":", hours) if hours else "",
        join(where_h, where) if where else "",
        updated,
        qr_hint,
    )
    return ServiceDetail(
        s.id, s.icon, title, summary, body, bring_h, bring, hours_h, hours, where_h, where,
        updated, s.url, qr_hint, tr("Hilfe holen"), spoken,
    )  # fmt: skip


@dataclass(frozen=True)
class ChoiceView:
    id: str
    label: str
    icon: str
    level: int  #: 0..4 on a smiley scale (worst → best), -1 for multiple choice


@dataclass(frozen=True)
class PollView:
    id: str
    kind: str
    counter: str  #: "Frage 1 von 2"
    question: str
    choices: tuple[ChoiceView, ...]
    spoken: str


def _levels(n: int) -> list[int]:
    return [round(i * 4 / (n - 1)) for i in range(n)] if n > 1 else [2]


def poll(p: Poll, index: int, count: int, lang: str, tr: Tr) -> PollView:
    levels = _levels(len(p.choices)) if p.kind == "smiley" else [-1] * len(p.choices)
    choices = tuple(
        ChoiceView(c.id, pick(c.label, lang), c.icon, lvl) for c, lvl in zip(p.choices, levels, strict=True)
    )
    counter = tr("Frage {n} von {total}").format(n=index + 1, total=count)
    question = pick(p.question, lang)
    spoken = join(counter, question, *(c.label for c in choices))
    return PollView(p.id, p.kind, counter, question, choices, spoken)


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    share: float  #: 0..1 of all votes


@dataclass(frozen=True)
class Thanks:
    heading: str  #: "Danke!"
    message: str
    bars: tuple[Bar, ...]  #: empty when results are hidden or not known
    total: str
    next_label: str | None
    spoken: str


def thanks(
    p: Poll, lang: str, tr: Tr, counts: Mapping[str, int] | None, *, again: bool, has_next: bool
) -> Thanks:
    """After a vote (or on coming back to a poll this visit already answered)."""
    heading = tr("Danke!")
    message = tr("Ihre Stimme ist gespeichert.") if not again else tr("Sie haben hier schon abgestimmt.")
    bars: tuple[Bar, ...] = ()
    total = ""
    if p.results == "after_close":
        closes = format_date(p.closes or "", tr)
        message = join(
            message, tr("Das Ergebnis zeigen wir, wenn die Umfrage endet ({date}).").format(date=closes)
        )
    elif counts is None:
        message = join(message, tr("Das Ergebnis ist gerade nicht abrufbar."))
    else:
        n = sum(counts.values())
        bars = tuple(
            Bar(pick(c.label, lang), counts.get(c.id, 0), counts.get(c.id, 0) / n if n else 0.0)
            for c in p.choices
        )
        total = tr("Stimmen bisher: {n}").format(n=n)
    next_label = tr("Nächste Frage") if has_next else None
    spoken = join(heading, message, *(f"{b.label}: {round(b.share * 100)} %" for b in bars), total)
    return Thanks(heading, message, bars, total, next_label, spoken)


@dataclass(frozen=True)
class FieldView:
    key: str
    label: str
    text: str
    shape: str


@dataclass(frozen=True)
class Transparency:
    heading: str
    intro: str
    titles: tuple[tuple[str, str], ...]  #: (record id, title) for the list
    selected: str
    fields: tuple[FieldView, ...]
    spoken: str


def transparency(
    records: Sequence[TransparencyRecord], selected: str | None, lang: str, tr: Tr
) -> Transparency:
    heading = tr("Was erfasst dieses Gerät?")
    intro = tr("Hier steht, welche Daten dieses Gerät und die Sensoren in der Nähe erfassen.")
    titles = tuple((r.id, pick(r.title, lang)) for r in records)
    record = next((r for r in records if r.id == selected), records[0] if records else None)
    fields: tuple[FieldView, ...] = ()
    if record is not None:
        fields = tuple(
            FieldView(
                key,
                tr(FIELD_LABELS[key]),
                pick(record.fields.get(key, {}), lang),
                FIELD_SHAPES.get(key, "square"),
            )
            for key in TRANSPARENCY_FIELDS
        )
    title = pick(record.title, lang) if record else ""
    spoken = join(heading, title, *(join(f.label, f.text) for f in fields))
    return Transparency(heading, intro, titles, record.id if record else "", fields, spoken)


@dataclass(frozen=True)
class HelpView:
    heading: str
    message: str
    spoken: str


def help_sent(tr: Tr, *, again: bool) -> HelpView:
    heading = tr("Hilfe ist unterwegs") if not again else tr("Hilfe ist schon gerufen")
    message = tr("Eine Lotsin oder ein Lotse kommt gleich zu Ihnen. Bitte bleiben Sie hier am Gerät.")
    return HelpView(heading, message, join(heading, message))


@dataclass(frozen=True)
class SettingsView:
    heading: str
    languages: tuple[tuple[str, str], ...]  #: (code, own name)
    language_heading: str
    text_heading: str
    text_options: tuple[str, str]
    contrast_heading: str
    contrast_options: tuple[str, str]
    speech_heading: str
    speech_options: tuple[str, str]
    volume_heading: str
    volume_options: tuple[str, str]
    done: str
    lotsen: str
    spoken: str


def settings(pack_languages: Sequence[str], tr: Tr) -> SettingsView:
    codes = [c for c in ("de", "fr", "en", "ls") if c in UI_LANGUAGES or c in pack_languages]
    languages = tuple((c, LANGUAGE_NAMES[c]) for c in codes)
    v = SettingsView(
        heading=tr("Einstellungen"),
        languages=languages,
        language_heading=tr("Sprache"),
        text_heading=tr("Schriftgröße"),
        text_options=(tr("Normal"), tr("Groß")),
        contrast_heading=tr("Kontrast"),
        contrast_options=(tr("Normal"), tr("Hoher Kontrast")),
        speech_heading=tr("Jede Seite vorlesen"),
        speech_options=(tr("Aus"), tr("An")),
        volume_heading=tr("Lautstärke"),
        volume_options=(tr("Leiser"), tr("Lauter")),
        done=tr("Fertig"),
        lotsen=tr("Lotsen-Modus"),
        spoken="",
    )
    spoken = join(
        v.heading,
        join(v.language_heading + ":", *(name for _, name in languages)),
        join(v.text_heading + ":", *v.text_options),
        join(v.contrast_heading + ":", *v.contrast_options),
        join(v.speech_heading + ":", *v.speech_options),
        join(v.volume_heading + ":", *v.volume_options),
        v.done,
    )
    return replace(v, spoken=spoken)


@dataclass(frozen=True)
class PromptView:
    question: str  #: "Brauchen Sie mehr Zeit?"
    countdown: str  #: what happens, and in how many seconds
    button: str  #: "Ja, weiter"
    spoken: str


def idle_prompt(tr: Translator, seconds: float) -> PromptView:
    """The prompt over an idle visit, ``seconds`` before the wipe (rounded to whole seconds)."""
    left = max(0, round(seconds))
    question, button = tr("Brauchen Sie mehr Zeit?"), tr("Ja, weiter")
    countdown = tr.plural(
        "Tippen Sie irgendwo, dann geht es weiter. Sonst wird in {seconds} Sekunde alles gelöscht.",
        "Tippen Sie irgendwo, dann geht es weiter. Sonst wird in {seconds} Sekunden alles gelöscht.",
        left,
    ).format(seconds=left)
    return PromptView(question, countdown, button, f"{question} {countdown} {button}.")


def as_poll(q: LiveQuestion) -> Poll:
    """A live question as the poll page shows it: multiple choice, results after the vote."""
    choices = tuple(Choice(a.id, a.label, "check") for a in q.answers)
    return Poll(q.id, "choice", q.text, choices, "after_vote", q.closes_at)


@dataclass(frozen=True)
class LiveTile:
    id: str
    title: str  #: "Jetzt abstimmen: Soll der Marktplatz autofrei werden?"


def live_tiles(questions: Sequence[LiveQuestion], lang: str, tr: Tr) -> tuple[LiveTile, ...]:
    """The home screen's large tiles for the live questions open now, newest first."""
    return tuple(LiveTile(q.id, tr("Jetzt abstimmen: {question}").format(question=pick(q.text, lang)))
                 for q in questions)  # fmt: skip
