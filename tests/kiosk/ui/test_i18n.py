"""The kiosk's own words: every string the code uses is in every catalog (German, French, English
and Leichte Sprache); our .mo compiler produces what the standard library's gettext reads."""

from __future__ import annotations

import ast
import gettext
import io
import re
from pathlib import Path

import pytest

from kiosk.i18n import CATALOGS, UI_LANGUAGES, Translator, compile_mo, parse_po, po_path, ui_language

KIOSK = Path(__file__).resolve().parents[3] / "kiosk"
#: tr("..."), ui.tr("..."), N_("..."), text_in("...", lang), self.translator("...")
CALL = re.compile(r'(?:\btr|\bN_|\btext_in|\bself\.translator)\(\s*("(?:[^"\\]|\\.)*")')


#: tr.plural("...", "...", n): one entry whose msgid is the two joined by a NUL, as gettext stores it
PLURAL = re.compile(r'\.plural\(\s*("(?:[^"\\]|\\.)*"),\s*("(?:[^"\\]|\\.)*")')


def used_msgids() -> set[str]:
    found: set[str] = set()
    for path in KIOSK.rglob("*.py"):
        code = path.read_text(encoding="utf-8")
        for m in CALL.finditer(code):
            found.add(ast.literal_eval(m.group(1)))
        for m in PLURAL.finditer(code):
            found.add(ast.literal_eval(m.group(1)) + "\0" + ast.literal_eval(m.group(2)))
    return found


def test_the_scan_finds_the_strings() -> None:
    ids = used_msgids()
    assert {"Berühren Sie den Bildschirm", "Brauchen Sie mehr Zeit?", "Vorlesen", "Wozu?"} <= ids
    assert len(ids) > 60


@pytest.mark.parametrize("lang", CATALOGS)
def test_every_msgid_used_is_translated(lang: str) -> None:
    catalog = parse_po(po_path(lang).read_text(encoding="utf-8"))
    missing = sorted(m for m in used_msgids() if not catalog.get(m))
    assert not missing, f"{lang}: {missing}"
    unused = sorted(m for m in catalog if m and m not in used_msgids())
    assert not unused, f"{lang} has entries no code uses: {unused}"


@pytest.mark.parametrize("lang", CATALOGS)
def test_placeholders_survive_translation(lang: str) -> None:
    for msgid, msgstr in parse_po(po_path(lang).read_text(encoding="utf-8")).items():
        assert set(re.findall(r"{\w+}", msgid)) == set(re.findall(r"{\w+}", msgstr)), (lang, msgid)


def test_compiled_catalog_is_read_by_gettext() -> None:
    po = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n' \
         '# a comment\nmsgid "Hallo"\nmsgstr "Bonjour"\n\n' \
         'msgid "Zwei "\n"Zeilen"\nmsgstr "Deux "\n"lignes \\"ok\\""\n\n' \
         '#, fuzzy\nmsgid "Unsicher"\nmsgstr "Incertain"\n\nmsgid "Leer"\nmsgstr ""\n'  # fmt: skip
    entries = parse_po(po)
    assert entries["Zwei Zeilen"] == 'Deux lignes "ok"' and "Unsicher" not in entries
    t = gettext.GNUTranslations(io.BytesIO(compile_mo(entries)))
    assert t.gettext("Hallo") == "Bonjour"
    assert t.gettext("Zwei Zeilen") == 'Deux lignes "ok"'
    assert t.gettext("Leer") == "Leer"  # untranslated: the msgid, as gettext does


def test_translator_compiles_into_its_cache_and_serves_each_language(tmp_path: Path) -> None:
    tr = Translator("fr", tmp_path)
    assert tr("Berühren Sie den Bildschirm") == "Touchez l'écran"
    assert tr.text("Berühren Sie den Bildschirm", "en") == "Touch the screen"
    assert tr.text("Berühren Sie den Bildschirm", "ls") == "Tippen Sie auf den Bildschirm"
    assert tr.text("Berühren Sie den Bildschirm", "xx") == "Berühren Sie den Bildschirm"  # no catalog: German
    for lang in ("fr", "en", "ls"):
        assert (tmp_path / "locale" / lang / "LC_MESSAGES" / "kiosk.mo").exists()


def test_leichte_sprache_has_a_catalog_of_its_own_but_no_header_chip() -> None:
    assert CATALOGS == (*UI_LANGUAGES, "ls") and UI_LANGUAGES == ("de", "fr", "en")
    assert ui_language("ls") == "ls" and ui_language("de") == "de" and ui_language("xx") == "de"
    ls = parse_po(po_path("ls").read_text(encoding="utf-8"))
    changed = [m for m, s in ls.items() if m and s != m]
    assert len(changed) > len(ls) // 2, "most German UI texts need easier words"
    assert ls["Rechtsgrundlage"] == "Welches Gesetz erlaubt das?"


#: what Leichte Sprache leaves out: abbreviations (units too) and the hard words it replaces
NOT_IN_LEICHTE_SPRACHE = re.compile(
    r"\{\w+\} (?:s|min)\b|\bz\. ?B\.|\bKI\b|\bbzw\.|\busw\.|\bca\.|\bje\b|\bpro\b|anonym|\bSensor"
)
IDLE = (
    "Tippen Sie irgendwo, dann geht es weiter. Sonst wird in {seconds} Sekunde alles gelöscht.\0"
    "Tippen Sie irgendwo, dann geht es weiter. Sonst wird in {seconds} Sekunden alles gelöscht."
)
ANONYMOUS = "Ihre Antwort ist anonym. Eine Stimme pro Besuch."


def test_leichte_sprache_spells_things_out_in_short_sentences() -> None:
    ls = parse_po(po_path("ls").read_text(encoding="utf-8"))
    de = parse_po(po_path("de").read_text(encoding="utf-8"))
    assert NOT_IN_LEICHTE_SPRACHE.search(de[ANONYMOUS]), "the check finds what German writes"
    hard = {m: s for m, s in ls.items() if m and NOT_IN_LEICHTE_SPRACHE.search(s)}
    assert not hard, hard
    assert "in {seconds} Sekunden" in ls[IDLE]
    for msgid, msgstr in ls.items():
        for sentence in re.split(r"(?<=[.!?:])\s+|\0", msgstr if msgid else ""):
            assert len(sentence.split()) <= 12, (msgid, sentence)


def test_a_broken_catalog_names_the_line() -> None:
    with pytest.raises(ValueError, match="x.po:2"):
        parse_po('msgid "a"\nmsgfoo "b"\n', "x.po")


TRIES = ("Falsche PIN. Noch {n} Versuch.", "Falsche PIN. Noch {n} Versuche.")


@pytest.mark.parametrize(
    ("lang", "n", "text"),
    [
        ("de", 1, "Falsche PIN. Noch 1 Versuch."),
        ("de", 4, "Falsche PIN. Noch 4 Versuche."),
        ("en", 1, "Wrong PIN. 1 try left."),
        ("en", 0, "Wrong PIN. 0 tries left."),
        ("fr", 0, "Code PIN erroné. Encore 0 essai."),  # French counts 0 as one
        ("fr", 2, "Code PIN erroné. Encore 2 essais."),
    ],
)
def test_counted_words_take_the_languages_plural(tmp_path: Path, lang: str, n: int, text: str) -> None:
    tr = Translator(lang, tmp_path)
    assert tr.plural(*TRIES, n).format(n=n) == text


def test_leichte_sprache_counts_seconds_and_minutes_right(tmp_path: Path) -> None:
    tr = Translator("ls", tmp_path)
    one, many = (f"Tippen Sie irgendwo, dann geht es weiter. Sonst wird in {{seconds}} {unit} alles gelöscht."
                 for unit in ("Sekunde", "Sekunden"))  # fmt: skip
    assert "in 1 Sekunde alles" in tr.plural(one, many, 1).format(seconds=1)
    assert "in 20 Sekunden alles" in tr.plural(one, many, 20).format(seconds=20)


def test_plural_entries_are_parsed_as_gettext_stores_them() -> None:
    po = 'msgid "{n} Stimme"\nmsgid_plural "{n} Stimmen"\nmsgstr[0] "{n} vote"\nmsgstr[1] "{n} votes"\n'
    assert parse_po(po) == {"{n} Stimme\0{n} Stimmen": "{n} vote\0{n} votes"}
    half = 'msgid "{n} Stimme"\nmsgid_plural "{n} Stimmen"\nmsgstr[0] "{n} vote"\nmsgstr[1] ""\n'
    assert parse_po(half) == {"{n} Stimme\0{n} Stimmen": ""}  # untranslated until every form is
