"""Every endpoint of the local API over real HTTP against a running agent."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from a2d import bundles
from a2d.localapi import MAX_BODY_BYTES, Status
from edge_agent import bundles as edge_bundles
from edge_agent import cli as edge_cli
from tests.localapi.conftest import RunningApi, pack_doc, write_pack
from tests.signedpack import EDGE_TRUST, PUBLIC, pack_in, signed, write_signed_pack


def events(db: Path, sql: str = "SELECT key, source, kind, stream, device_name, decoded FROM events") -> list:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
        return c.execute(sql).fetchall()


def test_healthz_names_the_device(api: RunningApi) -> None:
    r = api.http.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"ok": True, "device_id": "edge-api-test"}


def test_content_is_the_signed_pack_file_with_an_etag_and_304(api: RunningApi, tmp_path: Path) -> None:
    r = api.http.get("/content")
    assert r.status_code == 200
    assert r.content == (tmp_path / "pack.json").read_bytes()  # the signed document, as the file holds it
    assert r.json()["format"] == bundles.FORMAT and pack_in(r.json()) == pack_doc("1")
    etag = r.headers["etag"]
    assert etag == bundles.etag(1, r.json()["sha256"])
    again = api.http.get("/content", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert api.http.get("/content", headers={"If-None-Match": '"other"'}).status_code == 200
    write_pack(tmp_path / "pack.json", version="2")  # a new pack is served without a restart
    newer = api.http.get("/content", headers={"If-None-Match": etag})
    assert (
        newer.status_code == 200 and pack_in(newer.json())["version"] == "2" and newer.headers["etag"] != etag
    )


def test_a_broken_pack_file_keeps_the_last_good_one(api: RunningApi, tmp_path: Path) -> None:
    etag = api.http.get("/content").headers["etag"]
    write_signed_pack(tmp_path / "pack.json", {"format": "a2d-content/1", "services": "none"})
    r = api.http.get("/content")
    assert r.status_code == 200 and r.headers["etag"] == etag and pack_in(r.json())["version"] == "1"
    (tmp_path / "pack.json").write_text(json.dumps(pack_doc("unsigned")))  # and an unsigned one
    r = api.http.get("/content")
    assert r.status_code == 200 and r.headers["etag"] == etag and pack_in(r.json())["version"] == "1"


def test_without_content_there_is_404_and_no_transparency(api_factory: Callable[..., RunningApi]) -> None:
    run = api_factory()
    r = run.http.get("/content")
    assert r.status_code == 404 and r.json() == {"error": "this edge agent has no content pack"}
    assert run.http.get("/transparency").json() == {"records": []}
    assert run.http.get("/keys").status_code == 404


def _trust(device_id: str = "edge-api-test") -> edge_bundles.DeviceTrust:
    return edge_bundles.DeviceTrust(bundles.TrustedKeys.configured([PUBLIC]), bundles.Identity(device_id))


def test_content_comes_from_the_applied_bundle(
    api_factory: Callable[..., RunningApi], tmp_path: Path
) -> None:
    doc = signed(pack_doc("bundle-7"), counter=7)
    (tmp_path / "data").mkdir(exist_ok=True)
    bundle = edge_bundles.apply(tmp_path / "data", doc, "content", _trust())
    run = api_factory(EDGE_TRUST)
    r = run.http.get("/content")
    assert r.status_code == 200 and r.json() == doc  # the signed document, for the kiosk to check
    assert r.headers["etag"] == bundle.etag == bundles.etag(7, doc["sha256"])  # the sync server's ETag
    assert run.http.get("/content", headers={"If-None-Match": bundle.etag}).status_code == 304


def test_the_applied_keys_bundle_is_served(api_factory: Callable[..., RunningApi], tmp_path: Path) -> None:
    new = bundles.new_private_key()
    listed = bundles.keys_content(
        [bundles.trusted_key(bundles.public_key_text(new)), bundles.trusted_key(PUBLIC)]
    )
    doc = signed(listed, kind="keys", counter=3)
    (tmp_path / "data").mkdir(exist_ok=True)
    edge_bundles.apply(tmp_path / "data", doc, "keys", _trust())
    run = api_factory(EDGE_TRUST)
    r = run.http.get("/keys")
    assert r.status_code == 200 and r.json() == doc and r.headers["etag"] == bundles.etag(3, doc["sha256"])
    assert run.http.get("/keys", headers={"If-None-Match": r.headers["etag"]}).status_code == 304


def test_a_tampered_bundle_is_not_served(api_factory: Callable[..., RunningApi], tmp_path: Path) -> None:
    (tmp_path / "data").mkdir(exist_ok=True)
    edge_bundles.apply(tmp_path / "data", signed(pack_doc()), "content", _trust())
    stored = edge_bundles.bundle_dir(tmp_path / "data") / "content.json"
    tampered = json.loads(stored.read_text())
    tampered["content"] = base64.b64encode(json.dumps(pack_doc("evil")).encode()).decode()
    stored.write_text(json.dumps(tampered))
    run = api_factory(EDGE_TRUST)
    assert run.http.get("/content").status_code == 404


def test_transparency_lists_the_packs_records(api: RunningApi) -> None:
    r = api.http.get("/transparency")
    assert r.status_code == 200
    (record,) = r.json()["records"]
    assert record["id"] == "kiosk" and record["title"]["de"] == "Dieser Kiosk"
    assert record["fields"]["legal_basis"] == {
        "de": "legal_basis",
        "fr": "legal_basis (fr)",
        "en": "legal_basis (en)",
    }


def test_a_vote_is_stored_once_as_a_feedback_event(api: RunningApi) -> None:
    first = api.vote("7f1c", choice="5", lang="fr")
    assert first.status_code == 201 and first.json() == {"id": "7f1c", "stored": True}
    repeat = api.vote("7f1c", choice="5", lang="fr")
    assert repeat.status_code == 200 and repeat.json() == {"id": "7f1c", "stored": True}
    rows = events(api.db)
    assert len(rows) == 1
    key, source, kind, stream, kiosk, decoded = rows[0]
    assert (key, source, kind, stream, kiosk) == ("vote:7f1c", "kiosk", "vote", "feedback", "kiosk-eg")
    assert json.loads(decoded) == {
        "id": "7f1c", "kiosk_id": "kiosk-eg", "poll_id": "zufrieden", "choice": "5",
        "at": "2026-06-02T08:15:00.000000Z", "lang": "fr",
    }  # fmt: skip


def test_poll_results_count_the_votes_per_choice(api: RunningApi) -> None:
    for i, choice in enumerate(["4", "4", "5", "1", "4"]):
        assert api.vote(f"v{i}", choice=choice).status_code == 201
    assert api.vote("v0", choice="4").status_code == 200  # a repeat does not count twice
    assert api.vote("r1", poll="radweg", choice="nord").status_code == 201
    r = api.http.get("/polls/zufrieden/results")
    assert r.status_code == 200
    assert r.json() == {
        "poll_id": "zufrieden",
        "counts": {"1": 1, "2": 0, "3": 0, "4": 3, "5": 1},
        "total": 5,
        "labels": {c: {"de": c, "fr": f"{c} (fr)", "en": f"{c} (en)"} for c in "12345"},
        "town": None,  # no town-wide counts: this agent has no sync server
    }
    assert api.http.get("/polls/radweg/results").json()["counts"] == {"nord": 1, "sued": 0}
    unknown = api.http.get("/polls/nirgends/results").json()
    assert unknown == {"poll_id": "nirgends", "counts": {}, "total": 0, "town": None}


def test_help_request_lifecycle(api: RunningApi, capsys: pytest.CaptureFixture[str]) -> None:
    def ask(rid: str, at: str, topic: str = "") -> httpx.Response:
        return api.http.post("/help", json={"id": rid, "kiosk_id": "kiosk-eg", "at": at, "topic": topic})

    assert ask("h1", "2026-06-02T08:00:00Z", "personalausweis").status_code == 201
    assert ask("h2", "2026-06-02T09:00:00Z").status_code == 201
    assert ask("h1", "2026-06-02T08:00:00Z", "personalausweis").status_code == 200  # repeat
    listed = api.http.get("/help").json()["requests"]
    assert [h["id"] for h in listed] == ["h2", "h1"]  # newest first
    assert listed[1] == {"id": "h1", "kiosk_id": "kiosk-eg", "topic": "personalausweis",
                         "at": "2026-06-02T08:00:00.000000Z", "state": "open", "closed_at": None}  # fmt: skip
    assert api.http.get("/status").json()["open_help_requests"] == 2

    closed = api.http.post("/help/h1/close", json={})
    assert closed.status_code == 200 and closed.json() == {"id": "h1", "state": "closed"}
    assert api.http.post("/help/h1/close", json={}).status_code == 200  # closing twice is fine
    assert [h["id"] for h in api.http.get("/help?state=open").json()["requests"]] == ["h2"]
    everything = {h["id"]: h for h in api.http.get("/help", params={"state": "all"}).json()["requests"]}
    assert everything["h1"]["state"] == "closed" and everything["h1"]["closed_at"].endswith("Z")
    assert api.http.get("/status").json()["open_help_requests"] == 1
    missing = api.http.post("/help/nobody/close", json={})
    assert missing.status_code == 404 and "nobody" in missing.json()["error"]
    assert api.http.get("/help?state=some").status_code == 400

    # the same list for a Lotse without a kiosk: a2d edge help-requests
    cfg = str(api.data_dir.parent / "edge.toml")
    assert edge_cli.main(["help-requests", "--config", cfg]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and "h2" in lines[0] and "kiosk-eg" in lines[0] and "open" in lines[0]
    assert edge_cli.main(["help-requests", "--config", cfg, "--all", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["id"], r["state"]) for r in rows] == [("h2", "open"), ("h1", "closed")]


def test_status_without_sync(api: RunningApi) -> None:
    api.vote("s1")
    st = Status.from_json(api.http.get("/status").json())
    assert st == Status(device_id="edge-api-test", online=False, last_sync=None, pending={},
                        open_help_requests=0, version=st.version)  # fmt: skip
    assert st.version


def test_forecast_is_404_until_there_is_one(api: RunningApi) -> None:
    r = api.http.get("/forecast")
    assert r.status_code == 404 and r.json() == {"error": "no forecast yet"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "the body is not valid JSON"),
        (b"[1, 2]", "the body must be a JSON object"),
        (b'{"id": "x", "kiosk_id": "k", "poll_id": "p", "at": "2026-06-02T08:00:00Z"}', "'choice' must be"),
        (b'{"id": "", "kiosk_id": "k", "poll_id": "p", "choice": "1", "at": "2026-06-02T08:00:00Z"}', "'id'"),
        (
            b'{"id": "x", "kiosk_id": "k", "poll_id": "p", "choice": 1, "at": "2026-06-02T08:00:00Z"}',
            "'choice'",
        ),
        (b'{"id": "x", "kiosk_id": "k", "poll_id": "p", "choice": "1", "at": "gestern"}', "'at' must be"),
        (b"", "the body is not valid JSON"),
    ],
)
def test_a_malformed_vote_is_400_and_not_stored(api: RunningApi, body: bytes, message: str) -> None:
    r = api.http.post("/feedback", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert message in r.json()["error"]
    assert events(api.db) == []


def test_a_malformed_help_request_is_400(api: RunningApi) -> None:
    r = api.http.post("/help", json={"id": "h", "kiosk_id": "k", "at": "2026-06-02T08:00:00Z", "topic": 5})
    assert r.status_code == 400 and "'topic'" in r.json()["error"]


def test_oversize_body_is_413(api: RunningApi) -> None:
    for size in (MAX_BODY_BYTES + 1, 900_000):
        r = api.http.post("/feedback", content=b"x" * size)
        assert r.status_code == 413 and "larger than" in r.json()["error"]
    assert events(api.db) == []
    assert api.http.get("/healthz").status_code == 200  # the API goes on


def test_unknown_path_is_404_and_wrong_method_405(api: RunningApi) -> None:
    r = api.http.get("/nothing-here")
    assert r.status_code == 404 and r.json()["error"]
    assert httpx.get(str(api.http.base_url).removesuffix("/v1/") + "/healthz").status_code == 404
    wrong = api.http.delete("/feedback")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
    both = api.http.put("/help")
    assert both.status_code == 405 and both.headers["allow"] == "GET, POST"
    assert api.http.get("/feedback").status_code == 405


def test_a_vote_that_cannot_be_committed_is_503(api: RunningApi) -> None:
    api.agent.loop.stop()  # the writer is gone: nothing can be committed
    r = api.vote("late")
    assert r.status_code == 503 and "try again" in r.json()["error"]
    assert events(api.db) == []
