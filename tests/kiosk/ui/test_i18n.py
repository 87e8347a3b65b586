"""The kiosk's own words: every string the code uses is in all three catalogs; our .mo compiler
produces what the standard library's gettext reads."""

from __future__ import annotations

import ast
import gettext
import io
import re
from pathlib import Path

import pytest

from kiosk.i18n import UI_LANGUAGES, Translator, compile_mo, parse_po, po_path

KIOSK = Path(__file__).resolve().parents[3] / "kiosk"
#: tr("..."), ui.tr("..."), N_("..."), text_in("...", lang), self.translator("...")
CALL = re.compile(r'(?:\btr|\bN_|\btext_in|\bself\.translator)\(\s*("(?:[^"\\]|\\.)*")')


def used_msgids() -> set[str]:
    found: set[str] = set()
    for path in KIOSK.rglob("*.py"):
        for m in CALL.finditer(path.read_text(encoding="utf-8")):
            found.add(ast.literal_eval(m.group(1)))
    return found


def test_the_scan_finds_the_strings() -> None:
    ids = used_msgids()
    assert {"Berühren Sie den Bildschirm", "Brauchen Sie mehr Zeit?", "Vorlesen", "Wozu?"} <= ids
    assert len(ids) > 60


@pytest.mark.parametrize("lang", UI_LANGUAGES)
def test_every_msgid_used_is_translated(lang: str) -> None:
    catalog = parse_po(po_path(lang).read_text(encoding="utf-8"))
    missing = sorted(m for m in used_msgids() if not catalog.get(m))
    assert not missing, f"{lang}: {missing}"
    unused = sorted(m for m in catalog if m and m not in used_msgids())
    assert not unused, f"{lang} has entries no code uses: {unused}"


@pytest.mark.parametrize("lang", UI_LANGUAGES)
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
    assert tr.text("Berühren Sie den Bildschirm", "ls") == "Berühren Sie den Bildschirm"
    assert (tmp_path / "locale" / "fr" / "LC_MESSAGES" / "kiosk.mo").exists()


def test_a_broken_catalog_names_the_line() -> None:
    with pytest.raises(ValueError, match="x.po:2"):
        parse_po('msgid "a"\nmsgfoo "b"\n', "x.po")
