"""Live questions: a question staff start now, open for some minutes, at some sites or everywhere.

One shape travels three ways: the sync server sends it to its agents on their live stream, the
agent keeps it in its SQLite file and serves it to kiosks (``GET /v1/live``), and kiosks and walls
show it. On the wire a question is::

    {"id": "live-7f3a9c2e", "text": {"de": "Soll der Marktplatz autofrei werden?"},
     "answers": [{"id": "ja", "label": {"de": "Ja"}}, {"id": "nein", "label": {"de": "Nein"}}],
     "opens_at": "2026-12-03T15:00:00Z", "closes_at": "2026-12-03T15:10:00Z", "sites": ["buergerbuero"]}

``text`` and ``label`` map a language code to the text (at least one language; kiosks fall back to
German, then to the first there is). An answer's ``id`` is the slug of its label ("Ja" -> "ja"),
unique in the question. ``sites`` empty means every site. Times are UTC, to the second. A kiosk
votes on a live question as on any poll: ``poll_id`` = the question's id, ``choice`` = an answer id.

Nothing here touches the network or a file; :class:`LiveQuestion` is checked on the way in
(:meth:`LiveQuestion.from_json` raises :class:`LiveError` naming the field).
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

#: how long a question stays open unless staff say otherwise, and the longest they may ask for
DEFAULT_MINUTES = 30
MAX_MINUTES = 7 * 24 * 60
MIN_ANSWERS = 2
MAX_ANSWERS = 8
MAX_TEXT = 500
MAX_LABEL = 80
MAX_SITES = 50
MAX_QUESTIONS = 20  #: open questions a device is sent at most (the newest)
MAX_HELP_CLOSED = 100  #: ids of help requests closed on the server a device is sent at most
_ID = re.compile(r"^live-[0-9a-f]{8,32}$")
_SLUG_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_LANG = re.compile(r"^[a-z]{2,3}$")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_SPELLED_OUT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


class LiveError(ValueError):
    """A live question that does not follow the shape; the message names the field."""


def new_id() -> str:
    """A fresh question id, ``live-`` and 8 random hex digits."""
    return f"live-{secrets.token_hex(4)}"


def stamp(at: datetime) -> str:
    """``2026-12-03T15:00:00Z``: the one time form of live questions (UTC, to the second)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: Any, name: str = "time") -> datetime:
    """An ISO 8601 time (``Z`` or an offset; none means UTC) as an aware UTC datetime."""
    if not isinstance(text, str) or not text.isascii() or len(text) > 40:
        raise LiveError(f"{name} must be an ISO 8601 time such as 2026-12-03T15:00:00Z")
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise LiveError(
            f"{name} must be an ISO 8601 time such as 2026-12-03T15:00:00Z, not {text!r}"
        ) from None
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).astimezone(UTC)


def slug(label: str) -> str:
    """``"Ja, gern!"`` -> ``"ja-gern"`` (umlauts spelled out, other accents dropped); "" if nothing is left."""
    text = unicodedata.normalize("NFKD", label.lower().translate(_SPELLED_OUT))
    text = text.encode("ascii", "ignore").decode()
    return _NOT_ALNUM.sub("-", text).strip("-")[:64].rstrip("-")


def _clean(text: Any, name: str, limit: int) -> str:
    """Text from outside: a string of 1..limit characters without control characters."""
    if not isinstance(text, str) or not text.strip() or len(text) > limit:
        raise LiveError(f"{name} must be text of 1-{limit} characters")
    if any(unicodedata.category(c) == "Cc" for c in text):
        raise LiveError(f"{name} must not hold control characters")
    return text.strip()


def _texts(doc: Any, name: str, limit: int) -> dict[str, str]:
    if not isinstance(doc, Mapping) or not doc or len(doc) > 8:
        raise LiveError(f'{name} must map 1-8 language codes to text, e.g. {{"de": "..."}}')
    out = {}
    for lang, text in doc.items():
        if not isinstance(lang, str) or not _LANG.match(lang):
            raise LiveError(f"{name}: {lang!r:.20} is no language code such as de")
        out[lang] = _clean(text, f"{name}.{lang}", limit)
    return out


def pick(text: Mapping[str, str], lang: str) -> str:
    """The text in ``lang``, else German, else the first there is."""
    return text.get(lang) or text.get("de") or next(iter(text.values()), "")


@dataclass(frozen=True, slots=True)
class Answer:
    id: str
    label: Mapping[str, str]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "label": dict(self.label)}


def answers_from_labels(labels: Sequence[str], lang: str = "de") -> tuple[Answer, ...]:
    """Answers from their labels in one language ("Ja,Nein"): ids are the slugs; :class:`LiveError`
    for fewer than two, more than :data:`MAX_ANSWERS`, an empty one or two with the same id."""
    found = [label.strip() for label in labels]
    if any(not label for label in found):
        raise LiveError("an answer is empty (two commas in a row, or one at the end?)")
    if len(found) < MIN_ANSWERS:
        raise LiveError(f"a live question needs at least {MIN_ANSWERS} answers, e.g. Ja,Nein")
    if len(found) > MAX_ANSWERS:
        raise LiveError(f"a live question takes at most {MAX_ANSWERS} answers, not {len(found)}")
    out: list[Answer] = []
    for i, label in enumerate(found):
        text = _clean(label, f"answers[{i}]", MAX_LABEL)
        answer_id = slug(text) or f"a{i + 1}"
        twin = next((a for a in out if a.id == answer_id), None)
        if twin is not None:
            raise LiveError(
                f"the answers {twin.label[lang]!r} and {text!r} are the same (both {answer_id!r})"
            )
        out.append(Answer(answer_id, {lang: text}))
    return tuple(out)


def check_sites(sites: Iterable[str]) -> tuple[str, ...]:
    out = tuple(dict.fromkeys(s.strip() for s in sites if s.strip()))
    if len(out) > MAX_SITES:
        raise LiveError(f"at most {MAX_SITES} sites, not {len(out)}")
    for s in out:
        if len(s) > 63 or not _SLUG_ID.match(s):
            raise LiveError(f"site {s!r:.70}: lower-case letters and digits joined by single hyphens")
    return out


def check_minutes(minutes: int) -> int:
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= MAX_MINUTES:
        raise LiveError(f"minutes must lie between 1 and {MAX_MINUTES} (a week), not {minutes!r}")
    return minutes


@dataclass(frozen=True, slots=True)
class LiveQuestion:
    """One live question; see the module docstring."""

    id: str
    text: Mapping[str, str]
    answers: tuple[Answer, ...]
    opens_at: str
    closes_at: str
    sites: tuple[str, ...] = ()

    @classmethod
    def new(
        cls, question: str, labels: Sequence[str], *, now: datetime, minutes: int = DEFAULT_MINUTES,
        sites: Iterable[str] = (), lang: str = "de",
    ) -> LiveQuestion:  # fmt: skip
        """A question staff start now: checked, with a new id, open for ``minutes``."""
        text = {lang: _clean(question, "question", MAX_TEXT)}
        answers = answers_from_labels(labels, lang)
        minutes = check_minutes(minutes)
        opens = now.astimezone(UTC).replace(microsecond=0)
        return cls(new_id(), text, answers, stamp(opens), stamp(opens + timedelta(minutes=minutes)),
                   check_sites(sites))  # fmt: skip

    @classmethod
    def from_json(cls, doc: Any) -> LiveQuestion:
        if not isinstance(doc, Mapping):
            raise LiveError("a live question must be a JSON object")
        qid = doc.get("id")
        if not isinstance(qid, str) or not _ID.match(qid):
            raise LiveError(f"id must look like live-7f3a9c2e, not {qid!r:.40}")
        raw = doc.get("answers")
        if not isinstance(raw, list) or not MIN_ANSWERS <= len(raw) <= MAX_ANSWERS:
            raise LiveError(f"answers must be a list of {MIN_ANSWERS}-{MAX_ANSWERS} answers")
        answers: list[Answer] = []
        for i, a in enumerate(raw):
            if not isinstance(a, Mapping):
                raise LiveError(f"answers[{i}] must be an object {{id, label}}")
            aid = a.get("id")
            if not isinstance(aid, str) or not _SLUG_ID.match(aid) or len(aid) > 64:
                raise LiveError(f"answers[{i}].id must be a slug such as ja, not {aid!r:.40}")
            if any(b.id == aid for b in answers):
                raise LiveError(f"answers[{i}].id {aid!r} is there twice")
            answers.append(Answer(aid, _texts(a.get("label"), f"answers[{i}].label", MAX_LABEL)))
        sites = doc.get("sites", [])
        if not isinstance(sites, list) or not all(isinstance(s, str) for s in sites):
            raise LiveError("sites must be a list of site ids")
        opens, closes = (
            parse_time(doc.get("opens_at"), "opens_at"),
            parse_time(doc.get("closes_at"), "closes_at"),
        )
        if closes <= opens:
            raise LiveError("closes_at must lie after opens_at")
        return cls(qid, _texts(doc.get("text"), "text", MAX_TEXT), tuple(answers), stamp(opens), stamp(closes),
                   check_sites(sites))  # fmt: skip

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": dict(self.text),
            "answers": [a.as_json() for a in self.answers],
            "opens_at": self.opens_at,
            "closes_at": self.closes_at,
            "sites": list(self.sites),
        }

    def is_open(self, at: datetime) -> bool:
        """Open at ``at``: ``opens_at <= at < closes_at``."""
        return self.opens_at <= stamp(at) < self.closes_at

    def for_site(self, site: str) -> bool:
        """Asked at ``site`` (every site when ``sites`` is empty; a device with no site gets those only)."""
        return not self.sites or site in self.sites

    def answer_ids(self) -> list[str]:
        return [a.id for a in self.answers]


@dataclass(frozen=True, slots=True)
class Town:
    """Town-wide totals of one poll (every device's counted votes) as the server last sent them."""

    counts: Mapping[str, int]
    total: int
    at: str

    def as_json(self) -> dict[str, Any]:
        return {"counts": dict(self.counts), "total": self.total, "at": self.at}

    @classmethod
    def from_json(cls, doc: Any) -> Town:
        if not isinstance(doc, Mapping) or not isinstance(doc.get("counts"), Mapping):
            raise LiveError("town totals must be {counts, total, at}")
        counts = {}
        for k, v in doc["counts"].items():
            if (
                not isinstance(k, str)
                or len(k) > 64
                or isinstance(v, bool)
                or not isinstance(v, int)
                or v < 0
            ):
                raise LiveError("town totals: counts must map answer ids to whole numbers")
            counts[k] = v
        return cls(counts, sum(counts.values()), stamp(parse_time(doc.get("at"), "at")))


def check_help_ids(doc: Any) -> tuple[str, ...]:
    """The ids of help requests a snapshot names: a list of at most :data:`MAX_HELP_CLOSED` texts of
    1-64 printable characters (the local API's limit for a help request's id)."""
    if not isinstance(doc, list) or len(doc) > MAX_HELP_CLOSED:
        raise LiveError(f"help_closed must be a list of at most {MAX_HELP_CLOSED} help request ids")
    for i in doc:
        if not isinstance(i, str) or not 0 < len(i) <= 64 or not i.isprintable():
            raise LiveError(f"help_closed: {i!r:.70} is no help request id (1-64 printable characters)")
    return tuple(dict.fromkeys(doc))


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the server's live stream sends a device: its open questions, the town-wide totals
    of its current polls (the open questions and the pack polls it asked about), and the ids of
    this device's help requests that staff closed on the server (``help_closed``, which the agent
    closes too; the server names one until the agent's own record of the close reached it)."""

    questions: tuple[LiveQuestion, ...]
    town: Mapping[str, Town] = field(default_factory=dict)
    at: str = ""
    help_closed: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "questions": [q.as_json() for q in self.questions],
            "town": {poll: t.as_json() for poll, t in self.town.items()},
            "at": self.at,
            "help_closed": list(self.help_closed),
        }

    @classmethod
    def from_json(cls, doc: Any) -> Snapshot:
        if not isinstance(doc, Mapping) or not isinstance(doc.get("questions"), list):
            raise LiveError('a live snapshot must be {"questions": [...], "town": {...}, "at": ...}')
        if len(doc["questions"]) > MAX_QUESTIONS:
            raise LiveError(f"a live snapshot holds at most {MAX_QUESTIONS} questions")
        questions = tuple(LiveQuestion.from_json(q) for q in doc["questions"])
        town_doc = doc.get("town") or {}
        if not isinstance(town_doc, Mapping) or len(town_doc) > 200:
            raise LiveError("town must map poll ids to totals")
        town = {str(p)[:64]: Town.from_json(t) for p, t in town_doc.items()}
        help_closed = check_help_ids(doc.get("help_closed", []))  # absent from a server before issue 15
        return cls(questions, town, stamp(parse_time(doc.get("at"), "at")), help_closed)
