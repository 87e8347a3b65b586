"""The content editor's rules through the app in-process, on both backends: drafts start from the
published pack, a stale save is refused and keeps the text, the kiosk's rules put their complaint
beside the field, editors draft and admins publish a signed bundle, every change is audited."""

from __future__ import annotations

import json
import re
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from a2d import bundles, contentpack
from sync_server import publishing, signing
from sync_server.app import create_app
from sync_server.config import ServerSettings
from sync_server.console import audit, contentforms
from sync_server.db import Database

from .conftest import csrf_of, make_user, sign_in

DEMO = Path(__file__).resolve().parents[2] / "devtools" / "data" / "content-offenburg.json"
NOW = "2026-06-02T08:00:00.000000Z"


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "signing.key"
    signing.create(path)
    return path


@pytest.fixture
def client(db: Database, db_url: str, key_path: Path):
    """A factory of clients of one app whose server signs with ``key_path``; the demo pack published."""
    publishing.publish(db, signing.load(key_path), "content", DEMO.read_bytes(), "demo-1", [], NOW)
    app = create_app(ServerSettings(db=db_url, signing_key=str(key_path)), db)
    opened: list[TestClient] = []

    def new(user: str, role: str, sites: tuple[str, ...] = ()) -> TestClient:
        make_user(db, user, role, sites)
        c = TestClient(app)
        c.__enter__()
        opened.append(c)
        return sign_in(c, user)

    yield new
    for c in opened:
        c.__exit__(None, None, None)


def _form(html: str) -> dict[str, str]:
    """The named inputs and textareas of the page's content form, as a browser would post them."""
    form = html[html.index('class="content-form"') :]
    out = {m[0]: m[1] for m in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form)}
    for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.DOTALL):
        out[name] = text
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.DOTALL):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        out[name] = chosen.group(1) if chosen else ""
    return {k: v.replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&") for k, v in out.items()}


def _poll_index(pack: dict, poll_id: str) -> int:
    return next(i for i, p in enumerate(pack["polls"]) if p["id"] == poll_id)


def _current(db: Database) -> dict:
    found = db.bundle_document("all", "content")
    assert found is not None
    return json.loads(bundles.parse(orjson.loads(found[2])).content)


def test_an_edit_is_drafted_a_stale_save_refused_and_an_admin_publishes(client, db: Database) -> None:
    demo = json.loads(DEMO.read_bytes())
    i = _poll_index(demo, demo["polls"][0]["id"])
    anna, ben = client("anna", "editor"), client("ben", "editor")
    page_a = anna.get(f"/console/content/polls/{i}")
    page_b = ben.get(f"/console/content/polls/{i}")  # both open the same draft, revision 0
    assert page_a.status_code == 200 and demo["polls"][0]["question"]["de"] in page_a.text
    form_a = _form(page_a.text)
    assert form_a["revision"] == "0" and form_a["question.de"] == demo["polls"][0]["question"]["de"]
    form_a["question.de"] = "Wie gefällt Ihnen das neue Bürgerbüro?"
    r = anna.post(f"/console/content/polls/{i}", data=form_a, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    form_b = _form(page_b.text)
    form_b["question.de"] = "Bens Frage, die nicht verloren gehen darf"
    r = ben.post(f"/console/content/polls/{i}", data=form_b)
    assert r.status_code == 409
    assert "Bens Frage, die nicht verloren gehen darf" in r.text and "anna" in r.text  # told, text kept
    assert _form(r.text)["revision"] == "1"
    overview = anna.get("/console/content")
    assert 'id="revision">1<' in overview.text and "Entwurf veröffentlichen" not in overview.text
    assert (
        anna.post(
            "/console/content/publish", data={"csrf_token": csrf_of(overview.text), "revision": "1"}
        ).status_code
        == 403
    )
    assert _current(db)["polls"][i]["question"]["de"] == demo["polls"][0]["question"]["de"]  # not yet

    chefin = client("chefin", "admin")
    overview = chefin.get("/console/content")
    r = chefin.post("/console/content/publish", data={"csrf_token": csrf_of(overview.text), "revision": "1"},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text[:300]
    published = _current(db)
    assert published["polls"][i]["question"]["de"] == "Wie gefällt Ihnen das neue Bürgerbüro?"
    assert contentpack.parse(published).poll(demo["polls"][0]["id"]) is not None
    actions = [(e.actor, e.action) for e in audit.entries(db)]
    assert ("anna", "content.save") in actions and ("chefin", "content.publish") in actions
    assert ("ben", "content.save") not in actions


def test_a_bad_value_is_shown_beside_its_field_and_nothing_is_stored(client, db: Database) -> None:
    anna = client("anna", "editor")
    page = anna.get("/console/content/services/0")
    form = _form(page.text)
    form["url"] = "http://unsicher.example/"
    r = anna.post("/console/content/services/0", data=form)
    assert r.status_code == 400
    assert re.search(r'id="f-url"[^>]*aria-invalid="true"', r.text)
    assert 'id="f-url-err">content pack: services[0].url must be an https:// address' in r.text
    assert "http://unsicher.example/" in r.text  # the text typed stays
    assert db.query("SELECT COUNT(*) FROM content_drafts")[0][0] == 0


def test_opening_hours_are_checked_by_sitehours(client, db: Database) -> None:
    anna = client("anna", "editor")
    page = anna.get("/console/content/sites/0")
    form = _form(page.text)
    form["opening_hours"] = "Mo-Fr 08:00-25:99"
    r = anna.post("/console/content/sites/0", data=form)
    assert r.status_code == 400 and re.search(r'id="f-opening_hours"[^>]*aria-invalid="true"', r.text)
    form["opening_hours"] = "Mo-Fr 09:00-17:00; PH off"
    assert anna.post("/console/content/sites/0", data=form, follow_redirects=False).status_code == 303


def test_a_button_mapping_is_checked_against_its_poll(client, db: Database) -> None:
    anna = client("anna", "editor")
    page = anna.get("/console/content/buttons/new")
    form = _form(page.text)
    poll = json.loads(DEMO.read_bytes())["polls"][0]
    form.update({"which": "bridge", "name": "box-test", "poll": poll["id"], "keys": "1 = gibt-es-nicht"})
    r = anna.post("/console/content/buttons/new", data=form)
    assert r.status_code == 400 and 'id="f-keys-err"' in r.text and "names no choice" in r.text
    form["keys"] = f"1 = {poll['choices'][0]['id']}\n2 = {poll['choices'][-1]['id']}"
    assert anna.post("/console/content/buttons/new", data=form, follow_redirects=False).status_code == 303
    saved = json.loads(db.query("SELECT document FROM content_drafts")[0][0])
    assert saved["buttons"][-1] == {"bridge": "box-test", "poll": poll["id"],
                                    "keys": {"1": poll["choices"][0]["id"], "2": poll["choices"][-1]["id"]}}  # fmt: skip


def test_an_editor_of_one_site_edits_only_that_sites_draft(client) -> None:
    zell = client("zell", "editor", ("ov-zell-weierbach",))
    assert zell.get("/console/content").status_code == 403
    assert zell.get("/console/content?site=rathaus").status_code == 403
    page = zell.get("/console/content?site=ov-zell-weierbach")
    assert (
        page.status_code == 200 and "all demo-1" in page.text
    )  # a site's draft starts from the pack for all
    lotse = client("lotti", "lotse")
    assert lotse.get("/console/content").status_code == 403


def test_a_post_without_its_csrf_token_changes_nothing(client, db: Database) -> None:
    anna = client("anna", "editor")
    form = _form(anna.get("/console/content/polls/0").text)
    form.pop("csrf_token")
    assert anna.post("/console/content/polls/0", data=form).status_code == 403
    assert db.query("SELECT COUNT(*) FROM content_drafts")[0][0] == 0


def test_the_preview_shows_the_kiosk_words_of_the_draft(client) -> None:
    anna = client("anna", "editor")
    demo = json.loads(DEMO.read_bytes())
    r = anna.get("/console/content/preview/services/0?show=fr")
    assert r.status_code == 200
    assert str(escape(contentpack.pick(demo["services"][0]["title"], "fr"))) in r.text
    assert 'class="kiosk"' in r.text and "À apporter" in r.text  # the kiosk's own heading, in French
    r = anna.get("/console/content/preview/polls/0?show=en")
    assert all(str(escape(contentpack.pick(c["label"], "en"))) in r.text for c in demo["polls"][0]["choices"])


def test_form_values_round_trip_for_every_section() -> None:
    demo = json.loads(DEMO.read_bytes())
    for section in contentforms.SECTIONS:
        for item in demo.get(section, []):
            shown = contentforms.values(section, item, demo)
            again = contentforms.item_from(section, shown, demo)
            parsed = contentpack.parse({**demo, section: [again]} if section != "polls" else demo)
            assert parsed is not None
            if section in ("services", "transparency", "sites"):
                assert again == {k: v for k, v in item.items() if v not in ({}, [], None)}, (section, item)
