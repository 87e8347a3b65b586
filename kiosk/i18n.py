"""The kiosk's own words in German, French, English and Leichte Sprache: gettext catalogs, compiled here.

The catalogs are ``kiosk/locale/<lang>/LC_MESSAGES/kiosk.po``; the msgids are the German text.
:func:`compile_po` turns a ``.po`` file into the binary ``.mo`` format that the standard library's
:mod:`gettext` reads, so no gettext tools are needed on a Pi; :class:`Translator` compiles into a
cache directory when a ``.mo`` is missing or older than its ``.po``.

Leichte Sprache (``ls``, easy-to-read German) has a catalog of its own, so a visit in ``ls`` gets
the kiosk's buttons, prompts and headings in Leichte Sprache as well as the content pack's texts.
It is no header or attract-screen language (:data:`UI_LANGUAGES`): a visitor picks it in the
settings, which offer it only when the content pack has it.

Code marks every UI string with ``tr(msgid)`` (or ``N_(msgid)`` for a table of strings translated
later); a test checks that each of them is in every catalog (:data:`CATALOGS`).
"""

from __future__ import annotations

import ast
import gettext
import re
import struct
import tempfile
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "kiosk"
#: the languages of the attract screen and the header's chips
UI_LANGUAGES = ("de", "fr", "en")
#: every language with a catalog of the kiosk's own words
CATALOGS = (*UI_LANGUAGES, "ls")
#: how each language names itself (never translated)
LANGUAGE_NAMES = {"de": "Deutsch", "fr": "Français", "en": "English", "ls": "Leichte Sprache"}


def N_(msgid: str) -> str:  # noqa: N802 (the gettext convention)
    """Mark a string for the catalogs without translating it yet."""
    return msgid


def ui_language(lang: str) -> str:
    """The catalog that serves a screen language (German for a language without one)."""
    return lang if lang in CATALOGS else "de"


def _unquote(token: str, where: str) -> str:
    token = token.strip()
    if len(token) < 2 or token[0] != '"' or token[-1] != '"':
        raise ValueError(f"{where}: expected a quoted string, got {token[:40]!r}")
    value = ast.literal_eval(token)
    if not isinstance(value, str):
        raise ValueError(f"{where}: not a string")
    return value


def parse_po(text: str, name: str = "catalog") -> dict[str, str]:
    """msgid → msgstr of a ``.po`` file (the header entry under ``""``; fuzzy entries skipped).

    Supports what our catalogs use: comments, ``msgctxt`` (joined as gettext does), plural entries
    (``msgid_plural`` and ``msgstr[0]``, ``msgstr[1]``: stored as gettext stores them, the two
    msgids and the forms each joined by a NUL), multi-line strings and the usual escapes. Raises
    ``ValueError`` naming the line for anything else.
    """
    entries: dict[str, str] = {}
    current: dict[str, str] = {}
    key: str | None = None
    fuzzy = False

    def flush() -> None:
        nonlocal current, key, fuzzy
        if "msgid" in current and not fuzzy:
            msgid = current["msgid"]
            msgstr = current.get("msgstr", "")
            if "msgid_plural" in current:
                msgid += "\0" + current["msgid_plural"]
                forms = sorted(k for k in current if k.startswith("msgstr["))
                msgstr = "\0".join(current[k] for k in forms) if all(current[k] for k in forms) else ""
            if "msgctxt" in current:
                msgid = current["msgctxt"] + "\x04" + msgid
            entries[msgid] = msgstr
        current, key, fuzzy = {}, None, False

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        where = f"{name}:{number}"
        if not line:
            flush()
            continue
        if line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            continue
        if line.startswith('"'):
            if key is None:
                raise ValueError(f"{where}: a continued string without msgid/msgstr before it")
            current[key] += _unquote(line, where)
            continue
        word, _, rest = line.partition(" ")
        if word not in ("msgctxt", "msgid", "msgid_plural", "msgstr") and not _FORM.fullmatch(word):
            raise ValueError(f"{where}: unsupported keyword {word!r}")
        if word in ("msgctxt", "msgid") and any(k.startswith("msgstr") for k in current):
            flush()
        key = word
        current[key] = _unquote(rest, where)
    flush()
    return entries


_FORM = re.compile(r"msgstr\[[0-9]\]")


def compile_mo(entries: dict[str, str]) -> bytes:
    """The GNU ``.mo`` bytes for msgid → msgstr (untranslated entries left out, like msgfmt)."""
    items = sorted((k.encode(), v.encode()) for k, v in entries.items() if v or not k)
    n = len(items)
    originals_at = 7 * 4
    translations_at = originals_at + n * 8
    data_at = translations_at + n * 8
    originals, translations, blob = [], [], b""
    for msgid, _msgstr in items:
        originals.append((len(msgid), data_at + len(blob)))
        blob += msgid + b"\0"
    for _msgid, msgstr in items:
        translations.append((len(msgstr), data_at + len(blob)))
        blob += msgstr + b"\0"
    head = struct.pack("<7I", 0x950412DE, 0, n, originals_at, translations_at, 0, data_at)
    tables = b"".join(struct.pack("<2I", *pair) for pair in originals + translations)
    return head + tables + blob


def compile_po(po: Path, mo: Path) -> Path:
    """Compile one catalog file into ``mo`` (written atomically); returns ``mo``."""
    mo.parent.mkdir(parents=True, exist_ok=True)
    data = compile_mo(parse_po(po.read_text(encoding="utf-8"), str(po)))
    tmp = mo.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(mo)
    return mo


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


class Translator:
    """``tr("Hilfe holen")`` in the current language; ``tr.text(msgid, lang)`` in any other."""

    def __init__(self, lang: str = "de", cache_dir: Path | None = None) -> None:
        self._cache = (cache_dir or Path(tempfile.gettempdir()) / "a2d-kiosk-locale") / "locale"
        self._catalogs: dict[str, gettext.NullTranslations] = {}
        self.lang = lang

    def catalog(self, lang: str) -> gettext.NullTranslations:
        code = ui_language(lang)
        if code not in self._catalogs:
            po = po_path(code)
            mo = self._cache / code / "LC_MESSAGES" / f"{DOMAIN}.mo"
            if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
                compile_po(po, mo)
            with mo.open("rb") as fh:
                self._catalogs[code] = gettext.GNUTranslations(fh)
        return self._catalogs[code]

    def text(self, msgid: str, lang: str) -> str:
        return self.catalog(lang).gettext(msgid)

    def plural(self, singular: str, plural: str, n: int) -> str:
        """The form for ``n`` in the current language (the catalog's ``Plural-Forms`` decide)."""
        return self.catalog(self.lang).ngettext(singular, plural, n)

    def __call__(self, msgid: str) -> str:
        return self.text(msgid, self.lang)
