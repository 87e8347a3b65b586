"""a2d.contentpack: the demo pack, the checks on every field, and the language fallback."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from a2d import contentpack
from a2d.contentpack import TRANSPARENCY_FIELDS, ContentError, load, parse, pick, pick_items
from devtools.demopack import DEMO_PACK

DOC = Path(__file__).resolve().parents[3] / "docs" / "content-pack.md"


def demo_doc() -> dict[str, Any]:
    return json.loads(DEMO_PACK.read_text(encoding="utf-8"))


def test_demo_pack_parses_with_the_promised_content() -> None:
    pack = load(DEMO_PACK)
    assert pack.format == contentpack.FORMAT
    assert pack.town == "Stadt Offenburg"
    assert pack.default_language == "de"
    assert set(pack.languages) == {"de", "fr", "en", "ls"}
    ids = {s.id for s in pack.services}
    assert len(pack.services) >= 6
    assert {"familienwegweiser", "mitmachen", "connect", "busplus", "stadtplan"} <= ids
    urls = {s.id: s.url for s in pack.services}
    assert urls["familienwegweiser"] == "https://familienwegweiser.offenburg.de"
    assert urls["mitmachen"] == "https://mitmachen.offenburg.de"
    assert urls["connect"] == "https://connect.offenburg.digital"
    kinds = sorted(p.kind for p in pack.polls)
    assert kinds == ["choice", "smiley"]
    smiley = next(p for p in pack.polls if p.kind == "smiley")
    assert len(smiley.choices) == 5
    assert "after_close" in {p.results for p in pack.polls}
    assert {"kiosk", "feedback-knoepfe", "baumscheibe", "personenzaehler", "besucherprognose"} <= {
        r.id for r in pack.transparency
    }


def test_every_service_url_is_https() -> None:
    for service in load(DEMO_PACK).services:
        assert service.url.startswith("https://"), service.id


def test_every_text_has_de_fr_en_and_titles_have_leichte_sprache() -> None:
    pack = load(DEMO_PACK)
    for s in pack.services:
        for name in ("title", "summary", "body", "hours"):
            assert {"de", "fr", "en"} <= set(getattr(s, name)), (s.id, name)
        assert "ls" in s.title and "ls" in s.summary, s.id
        assert {"de", "fr", "en"} <= set(s.bring) or not s.bring, s.id
    for p in pack.polls:
        assert {"de", "fr", "en", "ls"} <= set(p.question)
        for c in p.choices:
            assert {"de", "fr", "en"} <= set(c.label)


def test_every_transparency_record_has_all_eleven_fields_in_de_fr_en() -> None:
    records = load(DEMO_PACK).transparency
    assert len(TRANSPARENCY_FIELDS) == 11
    for record in records:
        assert tuple(record.fields) == TRANSPARENCY_FIELDS, record.id
        for name, text in record.fields.items():
            for lang in ("de", "fr", "en"):
                assert text.get(lang, "").strip(), (record.id, name, lang)
        assert {"de", "fr", "en"} <= set(record.title)


def test_the_kiosk_record_says_no_camera_and_anonymous() -> None:
    kiosk = next(r for r in load(DEMO_PACK).transparency if r.id == "kiosk")
    assert "Keine Kamera" in kiosk.fields["technology"]["de"]
    assert "anonym" in kiosk.fields["data_type"]["de"]


def test_pack_round_trips_through_json() -> None:
    pack = load(DEMO_PACK)
    assert parse(json.loads(json.dumps(contentpack.as_json(pack)))) == pack


def test_pick_falls_back_from_leichte_sprache_to_german_then_to_the_first() -> None:
    text = {"de": "Ausweis", "fr": "Carte", "en": "ID card"}
    assert pick(text, "fr") == "Carte"
    assert pick(text, "ls") == "Ausweis"
    assert pick({"de": "Ausweis", "ls": "Aus-Weis"}, "ls") == "Aus-Weis"
    assert pick(text, "es") == "Ausweis"
    assert pick({"fr": "Carte", "en": "ID"}, "ls") == "Carte"
    assert pick({}, "de") == ""
    assert pick_items({"de": ("a",), "en": ("b",)}, "ls") == ("a",)
    assert pick_items({}, "de") == ()


def _broken(edit: Any) -> str:
    doc = demo_doc()
    edit(doc)
    with pytest.raises(ContentError) as err:
        parse(doc)
    return str(err.value)


@pytest.mark.parametrize(
    ("edit", "names"),
    [
        (lambda d: d.update(format="a2d-content/9"), "format"),
        (lambda d: d.pop("version"), "version"),
        (lambda d: d.update(updated="1.6.2026"), "updated"),
        (lambda d: d.update(default_language="es"), "default_language"),
        (lambda d: d.update(languages=["de", "xx"]), "languages"),
        (lambda d: d["services"][2].update(url="http://familienwegweiser.offenburg.de"), "services[2].url"),
        (lambda d: d["services"][0].pop("url"), "services[0].url"),
        (lambda d: d["services"][1]["title"].pop("de"), "services[1].title.de"),
        (lambda d: d["services"][1]["title"].update(tr="Başlık"), "services[1].title.tr"),
        (lambda d: d["services"][3].update(id="Mit Machen"), "services[3].id"),
        (lambda d: d["services"][4].update(updated="gestern"), "services[4].updated"),
        (lambda d: d["services"][0]["bring"].update(de="Ausweis"), "services[0].bring.de"),
        (lambda d: d["services"][5].update(id="ausweis-pass"), "services[5].id"),
        (lambda d: d["polls"][0].update(kind="slider"), "polls[0].kind"),
        (lambda d: d["polls"][0]["choices"].pop(), "polls[0].choices"),
        (lambda d: d["polls"][1]["choices"][2].pop("icon"), "polls[1].choices[2].icon"),
        (lambda d: d["polls"][1].update(closes=None), "polls[1].closes"),
        (lambda d: d["polls"][1].update(results="never"), "polls[1].results"),
        (lambda d: d["transparency"][2]["fields"].pop("retention"), "transparency[2].fields.retention"),
        (
            lambda d: d["transparency"][1]["fields"].update(colour={"de": "gelb"}),
            "transparency[1].fields.colour",
        ),
        (lambda d: d["transparency"][0]["fields"]["contact"].pop("de"), "transparency[0].fields.contact.de"),
        (lambda d: d.update(services=[]), "services"),
        (lambda d: d.update(services={"a": 1}), "services"),
    ],
)
def test_bad_packs_name_the_field(edit: Any, names: str) -> None:
    message = _broken(edit)
    assert message.startswith("content pack: ")
    assert f" {names} " in message, message


def test_load_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ContentError, match="does not exist"):
        load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ContentError, match=r"bad\.json.*not valid JSON"):
        load(bad)
    doc = demo_doc()
    doc["services"][0]["url"] = "ftp://x"
    bad.write_text(json.dumps(doc))
    with pytest.raises(ContentError, match=r"bad\.json: content pack: services\[0\]\.url"):
        load(bad)


def test_optional_texts_may_be_missing() -> None:
    doc = demo_doc()
    service = copy.deepcopy(doc["services"][0])
    for key in ("bring", "hours", "where"):
        service.pop(key)
    service["id"] = "minimal"
    doc["services"].append(service)
    doc.pop("polls")
    doc.pop("buttons")  # they answer the polls
    pack = parse(doc)
    minimal = pack.service("minimal")
    assert minimal is not None and minimal.hours == {} and minimal.bring == {}
    assert pack.polls == ()


def test_the_format_doc_mentions_every_field() -> None:
    text = DOC.read_text(encoding="utf-8")
    names = {"format", "version", "updated", "town", "default_language", "languages", "services", "polls",
             "transparency", "id", "icon", "title", "summary", "body", "bring", "hours", "where", "url",
             "kind", "question", "choices", "label", "results", "closes", "fields", *TRANSPARENCY_FIELDS,
             "buttons", "bridge", "dev_eui", "device", "poll", "keys", "cooldown_s", "site"}  # fmt: skip
    missing = sorted(n for n in names if f"`{n}`" not in text)
    assert not missing, f"docs/content-pack.md does not describe {missing}"
    assert "a2d server bundle publish content" in text
    assert "[content]" in text


def test_demo_pack_names_its_site_with_address_and_holiday_region() -> None:
    pack = load(DEMO_PACK)
    site = pack.site("rathaus")
    assert site is not None
    assert site.address == "Hauptstraße 90, 77652 Offenburg"
    assert site.region == "DE-BW"
    assert {"de", "fr", "en"} <= set(site.name)
    assert parse(contentpack.as_json(pack)).sites == pack.sites


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "Rathaus Süd"}, "sites[0].id"),
        ({"id": "a--b"}, "sites[0].id"),
        ({"region": "Baden-Württemberg"}, "sites[0].region"),
        ({"region": "de-bw"}, "sites[0].region"),
        ({"address": "line one\nline two"}, "sites[0].address"),
        ({"name": {"fr": "sans allemand"}}, "sites[0].name.de"),
    ],
)
def test_a_bad_site_is_refused_naming_the_field(change: dict[str, Any], message: str) -> None:
    doc = demo_doc()
    doc["sites"][0].update(change)
    with pytest.raises(ContentError, match=message.replace(".", r"\.").replace("[", r"\[")):
        parse(doc)


def test_two_sites_may_not_share_an_id_and_a_pack_without_sites_still_parses() -> None:
    doc = demo_doc()
    doc["sites"].append(copy.deepcopy(doc["sites"][0]))
    with pytest.raises(ContentError, match=r"sites\[1\]\.id"):
        parse(doc)
    del doc["sites"]
    assert parse(doc).sites == ()
