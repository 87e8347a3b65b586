"""Content packs: the services, polls and transparency records a kiosk shows, in every language.

A pack is one JSON document (``docs/content-pack.md`` describes every field). A town publishes it
as a signed ``content`` bundle or points the edge agent at a file; the agent serves it to kiosks at
``GET /v1/content`` (:mod:`a2d.localapi`). :func:`parse` checks the whole document and raises
:class:`ContentError` naming the first bad field (``services[2].url``), so a broken pack never
reaches a screen.

Every user-facing text is a :data:`Text`: a mapping from language code to text. ``de``, ``fr`` and
``en`` are the screen languages; ``ls`` is Leichte Sprache (German, optional per text). :func:`pick`
chooses the text for a language with the fallback every screen uses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .buttons import valid_name
from .errors import KnownError

FORMAT = "a2d-content/1"
LANGUAGES = ("de", "fr", "en", "ls")
#: Languages a screen can be set to; ``ls`` is offered where the content has it.
SCREEN_LANGUAGES = ("de", "fr", "en")
TRANSPARENCY_FIELDS = (
    "purpose",
    "technology",
    "data_type",
    "processing",
    "storage",
    "access",
    "retention",
    "accountable",
    "legal_basis",
    "contact",
    "active_until",
)
POLL_KINDS = ("smiley", "choice")
RESULTS = ("after_vote", "after_close")
MAX_PACK_BYTES = 4 * 1024 * 1024
MAX_TEXT = 4000

Text = Mapping[str, str]

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_ICON = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
#: a site id: the slug form device ids have (``ov-zell-weierbach``)
_SITE_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
#: ISO 3166-2: a country, or a country and its subdivision (``DE``, ``DE-BW``, ``FR-67``)
_REGION = re.compile(r"^[A-Z]{2}(?:-[A-Z0-9]{1,3})?$")
MAX_ADDRESS = 200
#: the longest hours expression a pack may hold (sitehours.hours.MAX_EXPRESSION)
MAX_HOURS = 1000
_TIMEZONE = re.compile(r"^[A-Za-z_]+(?:/[A-Za-z0-9_+-]+){0,2}$")
#: a button mapping's ``poll`` that means the newest open live question at the site
LIVE_POLL = "@live"
#: most keys one button mapping may name (a box has a handful of buttons)
MAX_BUTTON_KEYS = 16
#: longest cooldown a button mapping may set: one day
MAX_COOLDOWN_S = 86400.0
MAX_DEVICE_NAME = 120
_DEV_EUI = re.compile(r"^[0-9a-f]{16}$")


class ContentError(KnownError, ValueError):
    """A content pack that does not follow the format; the message names the field."""


def pick(text: Mapping[str, str], lang: str) -> str:
    """The text in ``lang``; Leichte Sprache and missing languages fall back to German, then to
    the first text there is; ``""`` when there is none."""
    for code in (lang, "de"):
        value = text.get(code)
        if value:
            return value
    return next((v for v in text.values() if v), "")


def pick_items(items: Mapping[str, tuple[str, ...]], lang: str) -> tuple[str, ...]:
    """A list per language (``Service.bring``) with the same fallback as :func:`pick`."""
    for code in (lang, "de"):
        value = items.get(code)
        if value:
            return value
    return next((v for v in items.values() if v), ())


@dataclass(frozen=True)
class Service:
    """One town service as a tile and its detail page; ``url`` continues it on the phone (QR)."""

    id: str
    icon: str
    title: Text
    summary: Text
    body: Text
    bring: Mapping[str, tuple[str, ...]]
    hours: Text
    where: Text
    url: str
    updated: str


@dataclass(frozen=True)
class Choice:
    id: str
    label: Text
    icon: str


@dataclass(frozen=True)
class Poll:
    """A smiley scale or a multiple-choice question; ``results`` says when citizens see counts."""

    id: str
    kind: str
    question: Text
    choices: tuple[Choice, ...]
    results: str
    closes: str | None

    def choice(self, choice_id: str) -> Choice | None:
        return next((c for c in self.choices if c.id == choice_id), None)


@dataclass(frozen=True)
class TransparencyRecord:
    """What one device or system records, DTPR-style: the :data:`TRANSPARENCY_FIELDS`, each a Text."""

    id: str
    title: Text
    fields: Mapping[str, Text]


@dataclass(frozen=True)
class Site:
    """A place where devices stand (a Bürgerbüro, an Ortsverwaltung, a square).

    ``id`` is what ``device.site`` in ``edge.toml`` and ``kiosk.toml`` and the server's registry name;
    ``region`` is the ISO 3166-2 code whose public holidays apply there (``DE-BW``).
    ``opening_hours`` is in OpenStreetMap's ``opening_hours`` syntax (None: no office hours, the
    kiosk never goes into its after-hours mode); ``screen_dim`` and ``screen_off`` say in the same
    syntax when screens rest at night. Here they are checked for shape only: the ``sitehours``
    library reads them (``sitehours.check_pack`` checks them when a pack is published).
    """

    id: str
    name: Text
    address: str
    region: str
    opening_hours: str | None = None
    timezone: str = "Europe/Berlin"
    screen_dim: str | None = None
    screen_off: str | None = None


@dataclass(frozen=True)
class ButtonMapping:
    """Which question a physical feedback button answers, and what each of its keys means.

    The button is named the way the edge agent stores its presses, by exactly one of ``bridge``
    (the buttons bridge's ``source_id``: a serial box or a GPIO source), ``dev_eui`` (a LoRaWAN
    device, lower-case hex) or ``device`` (the LoRaWAN device's name); the others are ``""``.
    ``keys`` maps a key (the press's ``button_press`` channel: ``short``, ``double``, a box's
    ``1``) to a choice id of ``poll``, or for :data:`LIVE_POLL` to an answer's position (``"1"`` is
    the first answer). ``cooldown_s`` ``None`` means the agent's ``buttons.cooldown_s``; ``site``
    ``""`` means every site.
    """

    bridge: str
    dev_eui: str
    device: str
    poll: str
    keys: Mapping[str, str]
    cooldown_s: float | None = None
    site: str = ""

    @property
    def button(self) -> str:
        """The button as error messages and logs name it: ``bridge:box7``, ``dev_eui:…``, ``device:…``."""
        if self.bridge:
            return f"bridge:{self.bridge}"
        return f"dev_eui:{self.dev_eui}" if self.dev_eui else f"device:{self.device}"

    @property
    def live(self) -> bool:
        return self.poll == LIVE_POLL


@dataclass(frozen=True)
class ContentPack:
    format: str
    version: str
    updated: str
    town: str
    default_language: str
    languages: tuple[str, ...]
    services: tuple[Service, ...]
    polls: tuple[Poll, ...]
    transparency: tuple[TransparencyRecord, ...]
    sites: tuple[Site, ...] = ()
    buttons: tuple[ButtonMapping, ...] = ()

    def site(self, site_id: str) -> Site | None:
        return next((s for s in self.sites if s.id == site_id), None)

    def service(self, service_id: str) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)

    def poll(self, poll_id: str) -> Poll | None:
        return next((p for p in self.polls if p.id == poll_id), None)


# --- parsing -------------------------------------------------------------------------------------


def _fail(where: str, problem: str) -> ContentError:
    return ContentError(f"content pack: {where} {problem}")


def _obj(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(where, f"must be a JSON object, not {type(value).__name__}")
    return value


def _field(doc: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in doc:
        raise _fail(f"{where}.{key}" if where else key, "is missing")
    return doc[key]


def _str(doc: Mapping[str, Any], key: str, where: str, *, pattern: re.Pattern[str] | None = None) -> str:
    name = f"{where}.{key}" if where else key
    value = _field(doc, key, where)
    if not isinstance(value, str) or not value.strip():
        raise _fail(name, f"must be a non-empty string, not {value!r:.60}")
    if pattern is not None and not pattern.match(value):
        raise _fail(name, f"must be lower-case letters, digits, '-' or '_' (at most 64), not {value!r:.60}")
    return value


def _date(doc: Mapping[str, Any], key: str, where: str) -> str:
    value = _str(doc, key, where)
    try:
        date.fromisoformat(value)
    except ValueError:
        raise _fail(
            f"{where}.{key}" if where else key, f"must be an ISO date (2026-06-01), not {value!r:.40}"
        ) from None
    return value


def parse_text(value: Any, where: str, *, required: str | None = "de") -> Text:
    """A Text (language → string); ``required`` names the language it must have (None: may be empty)."""
    obj = _obj(value, where)
    out: dict[str, str] = {}
    for lang, text in obj.items():
        if lang not in LANGUAGES:
            raise _fail(f"{where}.{lang}", f"is not a language of the format ({', '.join(LANGUAGES)})")
        if not isinstance(text, str):
            raise _fail(f"{where}.{lang}", f"must be a string, not {type(text).__name__}")
        if len(text) > MAX_TEXT:
            raise _fail(f"{where}.{lang}", f"is longer than {MAX_TEXT} characters")
        if text.strip():
            out[lang] = text
    if required is not None and required not in out:
        raise _fail(f"{where}.{required}", "is missing (every text needs the pack's default language)")
    return out


def _items(value: Any, where: str) -> Mapping[str, tuple[str, ...]]:
    obj = _obj(value, where)
    out: dict[str, tuple[str, ...]] = {}
    for lang, items in obj.items():
        if lang not in LANGUAGES:
            raise _fail(f"{where}.{lang}", f"is not a language of the format ({', '.join(LANGUAGES)})")
        if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
            raise _fail(f"{where}.{lang}", "must be a list of non-empty strings")
        out[lang] = tuple(items)
    return out


def _list(doc: Mapping[str, Any], key: str, *, required: bool = True) -> list[Any]:
    value = doc.get(key, [] if not required else None)
    if value is None:
        raise _fail(key, "is missing")
    if not isinstance(value, list):
        raise _fail(key, f"must be a list, not {type(value).__name__}")
    return value


def _unique(ids: list[str], where: str) -> None:
    seen: set[str] = set()
    for i, ident in enumerate(ids):
        if ident in seen:
            raise _fail(f"{where}[{i}].id", f"repeats the id {ident!r}")
        seen.add(ident)


def _service(value: Any, where: str, lang: str) -> Service:
    doc = _obj(value, where)
    url = _str(doc, "url", where)
    if not url.startswith("https://") or len(url) <= len("https://") or any(c.isspace() for c in url):
        raise _fail(f"{where}.url", f"must be an https:// address, not {url!r:.80}")
    return Service(
        id=_str(doc, "id", where, pattern=_ID),
        icon=_str(doc, "icon", where, pattern=_ICON),
        title=parse_text(_field(doc, "title", where), f"{where}.title", required=lang),
        summary=parse_text(_field(doc, "summary", where), f"{where}.summary", required=lang),
        body=parse_text(_field(doc, "body", where), f"{where}.body", required=lang),
        bring=_items(doc.get("bring", {}), f"{where}.bring"),
        hours=parse_text(doc.get("hours", {}), f"{where}.hours", required=None),
        where=parse_text(doc.get("where", {}), f"{where}.where", required=None),
        url=url,
        updated=_date(doc, "updated", where),
    )


def _poll(value: Any, where: str, lang: str) -> Poll:
    doc = _obj(value, where)
    kind = _str(doc, "kind", where)
    if kind not in POLL_KINDS:
        raise _fail(f"{where}.kind", f"must be one of {', '.join(POLL_KINDS)}, not {kind!r:.40}")
    results = doc.get("results", "after_vote")
    if results not in RESULTS:
        raise _fail(f"{where}.results", f"must be one of {', '.join(RESULTS)}, not {results!r:.40}")
    closes = doc.get("closes")
    if closes is not None:
        if not isinstance(closes, str):
            raise _fail(f"{where}.closes", "must be an ISO date or time, or null")
        try:
            datetime.fromisoformat(closes.replace("Z", "+00:00"))
        except ValueError:
            raise _fail(f"{where}.closes", f"must be an ISO date or time, not {closes!r:.40}") from None
    if results == "after_close" and closes is None:
        raise _fail(f"{where}.closes", "is needed when results are shown after_close")
    raw_choices = _field(doc, "choices", where)
    if not isinstance(raw_choices, list) or not 2 <= len(raw_choices) <= 8:
        raise _fail(f"{where}.choices", "must be a list of 2 to 8 choices")
    if kind == "smiley" and len(raw_choices) not in (3, 5):
        raise _fail(f"{where}.choices", "of a smiley poll must be 3 or 5 (worst to best)")
    choices = []
    for i, item in enumerate(raw_choices):
        cw = f"{where}.choices[{i}]"
        cdoc = _obj(item, cw)
        choices.append(
            Choice(
                id=_str(cdoc, "id", cw, pattern=_ID),
                label=parse_text(_field(cdoc, "label", cw), f"{cw}.label", required=lang),
                icon=_str(cdoc, "icon", cw, pattern=_ICON),
            )
        )
    _unique([c.id for c in choices], f"{where}.choices")
    return Poll(
        id=_str(doc, "id", where, pattern=_ID),
        kind=kind,
        question=parse_text(_field(doc, "question", where), f"{where}.question", required=lang),
        choices=tuple(choices),
        results=results,
        closes=closes,
    )


def _site(value: Any, where: str, lang: str) -> Site:
    doc = _obj(value, where)
    site_id = _str(doc, "id", where)
    if len(site_id) > 63 or not _SITE_ID.match(site_id):
        raise _fail(
            f"{where}.id",
            f"must be lower-case letters and digits joined by single hyphens, not {site_id!r:.60}",
        )
    address = _str(doc, "address", where)
    if len(address) > MAX_ADDRESS or not address.isprintable():
        raise _fail(f"{where}.address", f"must be one printable line of at most {MAX_ADDRESS} characters")
    region = _str(doc, "region", where)
    if not _REGION.match(region):
        raise _fail(f"{where}.region", f"must be an ISO 3166-2 code such as DE-BW, not {region!r:.20}")
    screen = _obj(doc.get("screen", {}), f"{where}.screen")
    unknown = sorted(set(screen) - {"dim", "off"})
    if unknown:
        raise _fail(f"{where}.screen", f"knows dim and off, not {', '.join(unknown)[:60]}")
    timezone = doc.get("timezone", "Europe/Berlin")
    if not isinstance(timezone, str) or not _TIMEZONE.match(timezone):
        raise _fail(
            f"{where}.timezone", f"must be an IANA time zone such as Europe/Berlin, not {timezone!r:.40}"
        )
    return Site(
        id=site_id,
        name=parse_text(_field(doc, "name", where), f"{where}.name", required=lang),
        address=address,
        region=region,
        opening_hours=_hours(doc, "opening_hours", where),
        timezone=timezone,
        screen_dim=_hours(screen, "dim", f"{where}.screen"),
        screen_off=_hours(screen, "off", f"{where}.screen"),
    )


def _hours(doc: Mapping[str, Any], key: str, where: str) -> str | None:
    """An optional opening_hours expression: one printable line (its syntax is sitehours' to check)."""
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_HOURS or not value.isprintable():
        raise _fail(
            f"{where}.{key}",
            f"must be one printable line of OSM opening_hours, at most {MAX_HOURS} characters",
        )
    return value.strip()


def _button_id(doc: Mapping[str, Any], where: str) -> tuple[str, str, str]:
    """``(bridge, dev_eui, device)`` of a mapping: exactly one of them named."""
    named = [k for k in ("bridge", "dev_eui", "device") if k in doc]
    if len(named) != 1:
        raise _fail(where, "must name its button by exactly one of bridge, dev_eui or device")
    key = named[0]
    value = _str(doc, key, where)
    if key == "bridge" and not valid_name(value):
        raise _fail(
            f"{where}.bridge", f"must be the bridge's source id (1-40 of A-Z a-z 0-9 _.:-), not {value!r:.60}"
        )
    if key == "dev_eui":
        value = value.strip().lower().replace(":", "").replace("-", "")
        if not _DEV_EUI.match(value):
            raise _fail(f"{where}.dev_eui", f"must be 16 hex digits, not {doc['dev_eui']!r:.40}")
    if key == "device" and (len(value) > MAX_DEVICE_NAME or not value.isprintable()):
        raise _fail(f"{where}.device", f"must be one printable line of at most {MAX_DEVICE_NAME} characters")
    return (
        value if key == "bridge" else "",
        value if key == "dev_eui" else "",
        value if key == "device" else "",
    )


def _button_keys(doc: Mapping[str, Any], where: str, poll: Poll | None) -> dict[str, str]:
    """The keys of a mapping, each checked against the poll's choices (or, for a live question, a
    position 1-8); a live mapping without ``keys`` takes each key as the position itself."""
    if "keys" not in doc and poll is None:
        return {}
    raw = _obj(_field(doc, "keys", where), f"{where}.keys")
    if not 1 <= len(raw) <= MAX_BUTTON_KEYS:
        raise _fail(f"{where}.keys", f"must map 1 to {MAX_BUTTON_KEYS} keys")
    keys: dict[str, str] = {}
    for key, value in raw.items():
        kw = f"{where}.keys.{key}"
        if not valid_name(key):
            raise _fail(kw, "is not a key a button sends (1-40 of A-Z a-z 0-9 _.:-)")
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise _fail(kw, f"must be a string, not {type(value).__name__}")
        if poll is None:
            if not (value.isascii() and value.isdigit() and 1 <= int(value) <= 8):
                raise _fail(kw, f"of a live question must be an answer's position 1-8, not {value!r:.20}")
        elif poll.choice(value) is None:
            known = ", ".join(c.id for c in poll.choices)
            raise _fail(kw, f"names no choice of poll {poll.id!r}: {value!r:.40} (its choices: {known})")
        keys[key] = value
    return keys


def _button(value: Any, where: str, polls: Mapping[str, Poll], sites: Mapping[str, Site]) -> ButtonMapping:
    doc = _obj(value, where)
    bridge, dev_eui, device = _button_id(doc, where)
    poll_id = _str(doc, "poll", where)
    poll = polls.get(poll_id)
    if poll_id != LIVE_POLL and poll is None:
        known = ", ".join([*polls, LIVE_POLL])
        raise _fail(f"{where}.poll", f"names no poll of the pack: {poll_id!r:.60} (known: {known})")
    cooldown = doc.get("cooldown_s")
    if cooldown is not None:
        if (
            isinstance(cooldown, bool)
            or not isinstance(cooldown, int | float)
            or not 0 <= cooldown <= MAX_COOLDOWN_S
        ):
            raise _fail(
                f"{where}.cooldown_s",
                f"must be a number of seconds from 0 to {MAX_COOLDOWN_S:.0f}, not {cooldown!r:.20}",
            )
        cooldown = float(cooldown)
    site = doc.get("site", "")
    if not isinstance(site, str) or (site != "" and site not in sites):
        raise _fail(f"{where}.site", f"names no site of the pack: {site!r:.60}")
    return ButtonMapping(bridge, dev_eui, device, poll_id, _button_keys(doc, where, poll), cooldown, site)


def _buttons(items: list[Any], polls: tuple[Poll, ...], sites: tuple[Site, ...]) -> tuple[ButtonMapping, ...]:
    """The ``buttons`` list; a button mapped twice for the same site (or for every site) is an error."""
    by_id = {p.id: p for p in polls}
    site_ids = {s.id: s for s in sites}
    out: list[ButtonMapping] = []
    for i, item in enumerate(items):
        b = _button(item, f"buttons[{i}]", by_id, site_ids)
        for j, earlier in enumerate(out):
            if earlier.button == b.button and (not earlier.site or not b.site or earlier.site == b.site):
                raise _fail(
                    f"buttons[{i}]", f"maps the button {b.button} again (buttons[{j}] maps it already)"
                )
        out.append(b)
    return tuple(out)


def parse_transparency(value: Any, where: str = "transparency[0]", lang: str = "de") -> TransparencyRecord:
    """One transparency record (as in a pack, in ``GET /v1/transparency``)."""
    doc = _obj(value, where)
    fields_doc = _obj(_field(doc, "fields", where), f"{where}.fields")
    for key in fields_doc:
        if key not in TRANSPARENCY_FIELDS:
            raise _fail(f"{where}.fields.{key}", f"is not one of {', '.join(TRANSPARENCY_FIELDS)}")
    fields = {
        key: parse_text(_field(fields_doc, key, f"{where}.fields"), f"{where}.fields.{key}", required=lang)
        for key in TRANSPARENCY_FIELDS
    }
    return TransparencyRecord(
        id=_str(doc, "id", where, pattern=_ID),
        title=parse_text(_field(doc, "title", where), f"{where}.title", required=lang),
        fields=fields,
    )


def parse(doc: Any) -> ContentPack:
    """Check a decoded JSON document and build the pack; :class:`ContentError` names the bad field."""
    top = _obj(doc, "(the document)")
    fmt = _str(top, "format", "")
    if fmt != FORMAT:
        raise _fail("format", f"must be {FORMAT!r}, not {fmt!r:.40}")
    lang = _str(top, "default_language", "")
    if lang not in SCREEN_LANGUAGES:
        raise _fail("default_language", f"must be one of {', '.join(SCREEN_LANGUAGES)}, not {lang!r:.20}")
    languages = _list(top, "languages")
    if not languages or not all(isinstance(x, str) and x in LANGUAGES for x in languages):
        raise _fail("languages", f"must be a non-empty list of {', '.join(LANGUAGES)}")
    if lang not in languages:
        raise _fail("languages", f"must include the default_language {lang!r}")
    services = tuple(_service(s, f"services[{i}]", lang) for i, s in enumerate(_list(top, "services")))
    if not services:
        raise _fail("services", "must list at least one service")
    polls = tuple(_poll(p, f"polls[{i}]", lang) for i, p in enumerate(_list(top, "polls", required=False)))
    records = tuple(
        parse_transparency(r, f"transparency[{i}]", lang)
        for i, r in enumerate(_list(top, "transparency", required=False))
    )
    sites = tuple(_site(s, f"sites[{i}]", lang) for i, s in enumerate(_list(top, "sites", required=False)))
    _unique([s.id for s in services], "services")
    _unique([s.id for s in sites], "sites")
    _unique([p.id for p in polls], "polls")
    _unique([r.id for r in records], "transparency")
    buttons = _buttons(_list(top, "buttons", required=False), polls, sites)
    version = top.get("version")
    if isinstance(version, int) and not isinstance(version, bool):
        version = str(version)
    return ContentPack(
        format=fmt,
        version=_str({"version": version}, "version", ""),
        updated=_date(top, "updated", ""),
        town=_str(top, "town", ""),
        default_language=lang,
        languages=tuple(languages),
        services=services,
        polls=polls,
        transparency=records,
        sites=sites,
        buttons=buttons,
    )


def loads(data: bytes | str) -> ContentPack:
    """Parse a pack from JSON text or bytes (as served by the agent or read from a bundle)."""
    if len(data) > MAX_PACK_BYTES:
        raise ContentError(f"content pack: larger than {MAX_PACK_BYTES // 2**20} MiB")
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ContentError(f"content pack: not valid JSON ({exc})") from exc
    return parse(doc)


def load(path: str | Path) -> ContentPack:
    """Read and check a pack file; a missing or bad file raises :class:`ContentError` naming it."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise ContentError(f"content pack {p} does not exist") from None
    except OSError as exc:
        raise ContentError(f"cannot read content pack {p}: {exc.strerror}") from exc
    try:
        return loads(data)
    except ContentError as exc:
        raise ContentError(f"{p}: {exc}") from exc


# --- writing -------------------------------------------------------------------------------------


def record_as_json(record: TransparencyRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "title": dict(record.title),
        "fields": {k: dict(v) for k, v in record.fields.items()},
    }


def as_json(pack: ContentPack) -> dict[str, Any]:
    """The pack as the JSON document :func:`parse` reads (``parse(as_json(p)) == p`` in content)."""
    return {
        "format": pack.format,
        "version": pack.version,
        "updated": pack.updated,
        "town": pack.town,
        "default_language": pack.default_language,
        "languages": list(pack.languages),
        "services": [
            {
                "id": s.id,
                "icon": s.icon,
                "title": dict(s.title),
                "summary": dict(s.summary),
                "body": dict(s.body),
                "bring": {k: list(v) for k, v in s.bring.items()},
                "hours": dict(s.hours),
                "where": dict(s.where),
                "url": s.url,
                "updated": s.updated,
            }
            for s in pack.services
        ],
        "polls": [
            {
                "id": p.id,
                "kind": p.kind,
                "question": dict(p.question),
                "choices": [{"id": c.id, "label": dict(c.label), "icon": c.icon} for c in p.choices],
                "results": p.results,
                "closes": p.closes,
            }
            for p in pack.polls
        ],
        "transparency": [record_as_json(r) for r in pack.transparency],
        "sites": [_site_json(s) for s in pack.sites],
        "buttons": [button_as_json(b) for b in pack.buttons],
    }


def _site_json(site: Site) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": site.id,
        "name": dict(site.name),
        "address": site.address,
        "region": site.region,
    }
    if site.opening_hours is not None:
        doc["opening_hours"] = site.opening_hours
    if site.timezone != "Europe/Berlin":
        doc["timezone"] = site.timezone
    screen = {k: v for k, v in (("dim", site.screen_dim), ("off", site.screen_off)) if v is not None}
    if screen:
        doc["screen"] = screen
    return doc


def button_as_json(b: ButtonMapping) -> dict[str, Any]:
    """One ``buttons`` entry as :func:`parse` reads it."""
    doc: dict[str, Any] = {}
    for key in ("bridge", "dev_eui", "device"):
        if getattr(b, key):
            doc[key] = getattr(b, key)
    doc["poll"] = b.poll
    if b.keys:
        doc["keys"] = dict(b.keys)
    if b.cooldown_s is not None:
        doc["cooldown_s"] = b.cooldown_s
    if b.site:
        doc["site"] = b.site
    return doc
