"""The content editor's forms: which fields an item of each pack section has, how a posted form
becomes the item's JSON, and where the kiosk's own checks (:func:`a2d.contentpack.parse`, then
``sitehours``) put their complaint.

A field's ``path`` is its place in the item's JSON with dots (``question.fr``,
``choices.2.label.de``) and is also the form field's name, so an error the parser names
(``polls[1].choices[2].label.de is missing``) lands beside the field it is about.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from a2d import contentpack

SECTIONS = ("services", "polls", "transparency", "sites", "buttons")
TEXT_LANGS = contentpack.LANGUAGES  # de, fr, en, ls
MAX_CHOICES = 8
BUTTON_NAMES = ("bridge", "dev_eui", "device")
_PATH = re.compile(r"^content pack: (\S+) (.*)$", re.DOTALL)
_HOURS = re.compile(r"^sites\[([^\]]+)\]\.(opening_hours|screen): (.*)$", re.DOTALL)


@dataclass(frozen=True)
class Field:
    path: str  # where in the item's JSON; also the input's name
    kind: str  # line, area, lines (one item a line), keys ("key = value" lines), select, number
    label: str  # catalog key of the field's name
    lang: str = ""  # the language of a text field
    options: tuple[str, ...] = ()
    group: str = ""  # catalog key of the fieldset it belongs to


def _text(name: str, kind: str = "line", group: str = "") -> list[Field]:
    return [Field(f"{name}.{lang}", kind, f"cf_{name.rsplit('.', 1)[-1]}", lang, group=group or name)
            for lang in TEXT_LANGS]  # fmt: skip


def fields(section: str, pack: Mapping[str, Any]) -> list[Field]:
    """The fields of an item of ``section`` (the pack gives the choices of poll and site lists)."""
    if section == "services":
        return [Field("id", "line", "cf_id"), Field("icon", "line", "cf_icon"),
                *_text("title"), *_text("summary"), *_text("body", "area"),
                *[Field(f"bring.{lang}", "lines", "cf_bring", lang, group="bring") for lang in TEXT_LANGS],
                *_text("hours"), *_text("where"), Field("url", "line", "cf_url"),
                Field("updated", "line", "cf_updated")]  # fmt: skip
    if section == "polls":
        out = [Field("id", "line", "cf_id"), Field("kind", "select", "cf_kind", options=contentpack.POLL_KINDS),
               *_text("question"), Field("results", "select", "cf_results", options=contentpack.RESULTS),
               Field("closes", "line", "cf_closes")]  # fmt: skip
        for i in range(MAX_CHOICES):
            group = f"choice{i}"
            out += [Field(f"choices.{i}.id", "line", "cf_choice_id", group=group),
                    Field(f"choices.{i}.icon", "line", "cf_icon", group=group),
                    *_text(f"choices.{i}.label", group=group)]  # fmt: skip
        return out
    if section == "transparency":
        out = [Field("id", "line", "cf_id"), *_text("title")]
        for key in contentpack.TRANSPARENCY_FIELDS:
            out += [
                Field(f"fields.{key}.{lang}", "area", "cf_" + key, lang, group=key) for lang in TEXT_LANGS
            ]
        return out
    if section == "sites":
        return [Field("id", "line", "cf_id"), *_text("name"), Field("address", "line", "cf_address"),
                Field("region", "line", "cf_region"), Field("opening_hours", "line", "cf_opening_hours"),
                Field("timezone", "line", "cf_timezone"), Field("screen.dim", "line", "cf_screen_dim"),
                Field("screen.off", "line", "cf_screen_off")]  # fmt: skip
    if section == "buttons":
        polls = tuple(str(p.get("id", "")) for p in pack.get("polls", []) if isinstance(p, Mapping))
        sites = tuple(str(s.get("id", "")) for s in pack.get("sites", []) if isinstance(s, Mapping))
        return [Field("which", "select", "cf_which", options=BUTTON_NAMES), Field("name", "line", "cf_button"),
                Field("poll", "select", "cf_poll", options=(*polls, contentpack.LIVE_POLL)),
                Field("keys", "keys", "cf_keys"), Field("cooldown_s", "line", "cf_cooldown"),
                Field("site", "select", "cf_site", options=("", *sites))]  # fmt: skip
    raise KeyError(section)


# --- item JSON <-> form values -------------------------------------------------------------------


def _get(doc: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(doc, Mapping):
            doc = doc.get(part)
        elif isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        else:
            return None
    return doc


def values(section: str, item: Mapping[str, Any], pack: Mapping[str, Any]) -> dict[str, str]:
    """What each field of ``item`` shows in its form."""
    out: dict[str, str] = {}
    if section == "buttons":
        which = next((k for k in BUTTON_NAMES if k in item), "bridge")
        item = {**item, "which": which, "name": item.get(which, "")}
    for f in fields(section, pack):
        v = _get(item, f.path)
        if v is None:
            out[f.path] = ""
        elif f.kind == "lines" and isinstance(v, list):
            out[f.path] = "\n".join(str(x) for x in v)
        elif f.kind == "keys" and isinstance(v, Mapping):
            out[f.path] = "\n".join(f"{k} = {c}" for k, c in v.items())
        elif isinstance(v, float) and v.is_integer():
            out[f.path] = str(int(v))
        else:
            out[f.path] = str(v)
    return out


def _put(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        doc = doc.setdefault(part, {})
    doc[last] = value


def _tidy(doc: Any) -> Any:
    """Empty texts and objects left out; ``{"0": …, "1": …}`` (the choices) a list, empty rows dropped."""
    if not isinstance(doc, dict):
        return doc
    tidy = {k: _tidy(v) for k, v in doc.items()}
    tidy = {k: v for k, v in tidy.items() if v not in ("", {}, [], None)}
    if tidy and all(k.isdigit() for k in tidy):
        return [tidy[k] for k in sorted(tidy, key=int)]
    return tidy


class FormError(ValueError):
    """A value the form itself cannot read (before the pack's rules): ``path`` names the field."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


def item_from(section: str, form: Mapping[str, str], pack: Mapping[str, Any]) -> dict[str, Any]:
    """The item the posted ``form`` describes; :class:`FormError` for a value no rule can read."""
    doc: dict[str, Any] = {}
    keys: dict[str, Any] = {}  # put in after tidying: a box's keys are digits, not list positions
    for f in fields(section, pack):
        raw = form.get(f.path, "").replace("\r\n", "\n")
        if f.kind in ("line", "select", "area"):
            _put(doc, f.path, raw.strip())
        elif f.kind == "lines":
            _put(doc, f.path, [line.strip() for line in raw.split("\n") if line.strip()])
        elif f.kind == "keys":
            keys = {f.path: found} if (found := _keys(raw, f.path)) else {}
    doc = {**_tidy(doc), **keys}
    if section == "buttons":
        which, name = doc.pop("which", "bridge"), doc.pop("name", "")
        if which not in BUTTON_NAMES:
            raise FormError("which", f"must be one of {', '.join(BUTTON_NAMES)}")
        doc = {which: name, **doc}
        if "cooldown_s" in doc:
            try:
                doc["cooldown_s"] = float(doc["cooldown_s"].replace(",", "."))
            except ValueError:
                raise FormError("cooldown_s", "must be a number of seconds") from None
    if section == "polls" and "closes" not in doc:
        doc["closes"] = None
    return doc


def _keys(raw: str, path: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for n, line in enumerate(raw.split("\n"), 1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise FormError(path, f"line {n} must read key = choice, not {line.strip()!r:.40}")
        out[key.strip()] = value.strip()
    return out


# --- where the rules' complaint goes -------------------------------------------------------------


def field_of(message: str, prefix: str, section: str, item_id: str, paths: list[str]) -> str:
    """The field (of ``paths``) an error message of the pack's rules is about, ``""`` when none.

    ``prefix`` is the item's place in the pack (``polls[1]``); sitehours names a site by its id.
    """
    m = _PATH.match(message)
    if m:
        where = m.group(1)
        if where == prefix or where.startswith(prefix + "."):
            rel = re.sub(r"\[(\d+)\]", r".\1", where[len(prefix) :]).lstrip(".")
            if section == "buttons" and rel.split(".")[0] in BUTTON_NAMES:
                rel = "name"
            if not rel:
                rel = "which" if section == "buttons" else ""
            if not rel:
                return ""
            near = [p for p in paths if p == rel or p.startswith(rel + ".") or rel.startswith(p + ".")]
            return near[0] if near else ""
    h = _HOURS.match(message)
    if h and section == "sites" and h.group(1) == item_id:
        return "opening_hours" if h.group(2) == "opening_hours" else "screen.dim"
    return ""


def check(pack: Mapping[str, Any]) -> str:
    """``""`` when the kiosk would take ``pack`` and its hours parse, else the first complaint."""
    from sitehours.hours import HoursError
    from sitehours.pack import check_pack

    try:
        check_pack(contentpack.parse(pack))
    except (contentpack.ContentError, HoursError) as exc:
        return str(exc)
    return ""
