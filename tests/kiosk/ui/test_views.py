"""What screens say, without a window: the view models behind every page and its spoken text."""

from __future__ import annotations

from pathlib import Path

import pytest

from a2d.contentpack import TRANSPARENCY_FIELDS, load
from devtools.demopack import DEMO_PACK
from kiosk import views
from kiosk.i18n import Translator


@pytest.fixture(scope="module")
def pack():  # type: ignore[no-untyped-def]
    return load(DEMO_PACK)


def tr_for(lang: str, tmp_path: Path) -> Translator:
    return Translator(lang, tmp_path)


def test_home_lists_every_service_and_speaks_them(pack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    v = views.home(pack, "en", tr_for("en", tmp_path))
    assert [t.id for t in v.tiles] == [s.id for s in pack.services]
    assert v.tiles[0].title == pack.services[0].title["en"]
    assert v.help == "Get help" and "Get help." in v.spoken
    for tile in v.tiles:
        assert tile.title in v.spoken


def test_service_detail_has_everything_and_its_date(pack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    s = pack.services[0]
    de = views.service(s, "de", tr_for("de", tmp_path))
    assert de.updated == "Stand: " + ".".join(reversed(s.updated.split("-")))
    assert de.url == s.url and de.bring == s.bring["de"]
    fr = views.service(s, "fr", tr_for("fr", tmp_path))
    assert fr.title == s.title["fr"] and fr.updated.startswith("Mis à jour le ")
    ls = views.service(s, "ls", tr_for("ls", tmp_path))
    assert ls.title == s.title["ls"] and ls.bring_heading == "Das bringen Sie mit"  # the ls catalog's words
    assert ls.where_heading == "Wo ist das?" and ls.updated == "Diese Seite ist vom " + de.updated[7:] + "."
    assert "Das bringen Sie mit:" in ls.spoken and "Das brauchen Sie" not in ls.spoken
    assert all(item in de.spoken for item in de.bring)


def test_smiley_levels_and_hidden_results(pack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tr = tr_for("de", tmp_path)
    smiley = next(p for p in pack.polls if p.kind == "smiley")
    v = views.poll(smiley, 0, len(pack.polls), "de", tr)
    assert [c.level for c in v.choices] == [0, 1, 2, 3, 4] and v.counter == "Frage 1 von 2"
    shown = views.thanks(smiley, "de", tr, {"5": 3, "1": 1}, again=False, has_next=True)
    assert [round(b.share * 100) for b in shown.bars] == [
        25,
        0,
        0,
        0,
        75,
    ] and shown.total == "Stimmen bisher: 4"
    closed = next(p for p in pack.polls if p.results == "after_close")
    hidden = views.thanks(closed, "de", tr, {"x": 9}, again=True, has_next=False)
    assert hidden.bars == () and "wenn die Umfrage endet" in hidden.message and hidden.next_label is None
    offline = views.thanks(smiley, "de", tr, None, again=False, has_next=False)
    assert offline.bars == () and "nicht abrufbar" in offline.message


def test_transparency_shows_all_eleven_fields(pack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    v = views.transparency(pack.transparency, "baumscheibe", "fr", tr_for("fr", tmp_path))
    assert v.selected == "baumscheibe"
    assert [f.key for f in v.fields] == list(TRANSPARENCY_FIELDS)
    assert all(f.text for f in v.fields) and v.fields[0].label == "Dans quel but\u00a0?"
    assert {f.shape for f in v.fields} == {"hexagon", "circle", "square"}
    first = views.transparency(pack.transparency, None, "de", tr_for("de", tmp_path))
    assert first.selected == pack.transparency[0].id


def test_settings_offer_leichte_sprache_only_where_the_content_has_it(tmp_path: Path) -> None:
    tr = tr_for("de", tmp_path)
    assert [c for c, _ in views.settings(("de", "fr", "en", "ls"), tr).languages] == ["de", "fr", "en", "ls"]
    assert [c for c, _ in views.settings(("de", "fr", "en"), tr).languages] == ["de", "fr", "en"]


def test_attract_rotates_three_languages(tmp_path: Path) -> None:
    tr = tr_for("de", tmp_path)
    v = views.attract(tr.text)
    assert [text for _, text in v.lines] == [
        "Berühren Sie den Bildschirm",
        "Touchez l'écran",
        "Touch the screen",
    ]


def test_every_page_of_the_controller_has_its_screen() -> None:
    from kiosk.controller import Page
    from kiosk.screens import PAGES, page_class

    assert set(PAGES) == {p.value for p in Page}
    for page in Page:
        assert page_class(page.value).name == page.value


def test_the_idle_prompt_counts_down_in_whole_seconds(tmp_path: Path) -> None:
    tr = tr_for("de", tmp_path)
    one, many = views.idle_prompt(tr, 1.4), views.idle_prompt(tr, 19.6)
    assert one.question == "Brauchen Sie mehr Zeit?" and "in 1 Sekunde alles" in one.countdown
    assert "in 20 Sekunden alles" in many.countdown
    assert many.spoken == f"{many.question} {many.countdown} Ja, weiter."
