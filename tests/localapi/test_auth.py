"""Pairing and the guard: a kiosk token for everything but healthz, the agent's own Host, JSON only,
the token's kiosk id on what is stored, and a rate limit a real kiosk never meets."""

from __future__ import annotations

import json
import socket
import sqlite3
import tomllib
from pathlib import Path

import httpx
import pytest

from edge_agent import cli as edge_cli
from edge_agent.localapi import guard, kiosks
from edge_agent.localapi.advert import instance_name
from tests.conftest import ManualClock, wait_for
from tests.edgeharness import pair_kiosk
from tests.localapi.conftest import RunningApi

VOTE = {"id": "v-1", "poll_id": "zufrieden", "choice": "4", "at": "2026-06-02T08:15:00Z"}
KIOSK_ROUTES = [
    ("GET", "/content"), ("GET", "/transparency"), ("GET", "/polls/zufrieden/results"), ("GET", "/help"),
    ("GET", "/help?state=all"), ("GET", "/status"), ("GET", "/forecast"), ("POST", "/feedback"),
    ("POST", "/help"), ("POST", "/help/x/close"),
]  # fmt: skip


def stored(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
        return c.execute("SELECT device_name, decoded FROM events WHERE kind = 'vote'").fetchall()


def bare(api: RunningApi) -> httpx.Client:
    """A client without the kiosk's token."""
    return httpx.Client(base_url=api.http.base_url, timeout=10)


def test_healthz_is_open_and_everything_else_needs_a_token(api: RunningApi) -> None:
    with bare(api) as anyone:
        assert anyone.get("/healthz").status_code == 200
        for method, path in KIOSK_ROUTES:
            r = anyone.request(method, path, json=VOTE if method == "POST" else None)
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.headers["www-authenticate"].startswith("Bearer"), path
            assert "pair this kiosk" in r.json()["error"]
            wrong = anyone.request(method, path, json=VOTE if method == "POST" else None,
                                   headers={"Authorization": "Bearer a2dk_guessed"})  # fmt: skip
            assert wrong.status_code == 401 and 'error="invalid_token"' in wrong.headers["www-authenticate"]
        assert anyone.get("/help", headers={"Authorization": f"Basic {api.kiosk.token}"}).status_code == 401
    assert stored(api.db) == []
    assert api.http.get("/help?state=all").status_code == 200  # the paired kiosk gets in


def test_kiosk_add_and_revoke_take_effect_on_a_running_agent(
    api: RunningApi, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(api.data_dir.parent / "edge.toml")
    assert edge_cli.main(["kiosk", "add", "Kiosk Foyer", "--config", cfg, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["kiosk_id"] == "kiosk-foyer" and doc["device_id"] == "edge-api-test"
    assert "pin_sha256" not in doc  # loopback: plain HTTP, no certificate to pin
    headers = {"Authorization": f"Bearer {doc['token']}"}
    with bare(api) as kiosk:
        wait_for(lambda: kiosk.get("/status", headers=headers).status_code == 200, 5, "the new kiosk let in")
        assert kiosk.post("/feedback", json=VOTE, headers=headers).status_code == 201
        assert edge_cli.main(["kiosk", "revoke", "kiosk-foyer", "--config", cfg]) == 0
        assert "revoked kiosk kiosk-foyer" in capsys.readouterr().out
        wait_for(lambda: kiosk.get("/status", headers=headers).status_code == 401, 5, "the token refused")
        assert kiosk.post("/feedback", json={**VOTE, "id": "v-2"}, headers=headers).status_code == 401
    assert api.http.get("/status").status_code == 200  # the other kiosk is not touched
    assert edge_cli.main(["kiosk", "list", "--config", cfg, "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [k["kiosk_id"] for k in listed] == ["kiosk-eg"] and "token" not in listed[0]


def test_the_kiosk_list_holds_hashes_only_in_a_private_file(tmp_path: Path) -> None:
    token = pair_kiosk(tmp_path, "kiosk-a").token
    pair_kiosk(tmp_path, "kiosk-b")
    path = tmp_path / kiosks.FILE
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    text = path.read_text()
    assert token not in text and kiosks.token_hash(token) in text
    assert len(token) >= 40 and token.startswith(kiosks.TOKEN_PREFIX)  # 32 random bytes
    with pytest.raises(kiosks.KioskError, match="paired already"):
        kiosks.add(tmp_path, "Kiosk A")
    with pytest.raises(kiosks.KioskError, match="no usable kiosk name"):
        kiosks.add(tmp_path, "!!!")
    assert kiosks.Registry(tmp_path).kiosk_id(token) == "kiosk-a"
    path.write_text("{not json")  # a broken list lets nobody in (a revoked token must not survive it)
    assert kiosks.Registry(tmp_path).kiosk_id(token) is None


def test_the_body_cannot_choose_the_kiosk(api: RunningApi) -> None:
    assert api.http.post("/feedback", json={**VOTE, "kiosk_id": "kiosk-rathaus-og"}).status_code == 201
    assert api.http.post("/feedback", json={**VOTE, "id": "v-2"}).status_code == 201  # no kiosk_id at all
    for device_name, decoded in stored(api.db):
        assert device_name == "kiosk-eg" and json.loads(decoded)["kiosk_id"] == "kiosk-eg"
    help_request = {"id": "h-1", "kiosk_id": "kiosk-rathaus-og", "at": "2026-06-02T08:15:00Z"}
    assert api.http.post("/help", json=help_request).status_code == 201
    assert [h["kiosk_id"] for h in api.http.get("/help").json()["requests"]] == ["kiosk-eg"]


def test_a_foreign_host_is_refused_and_the_agents_own_names_answer(api: RunningApi) -> None:
    port = api.agent.api.port if api.agent.api else 0
    for host in ("evil.example", "evil.example:8780", "127.0.0.1.nip.io", "192.0.2.7", "edge-api-test.evil"):
        for path in ("/healthz", "/status"):
            r = api.http.get(path, headers={"Host": host})
            assert r.status_code == 421, (host, path)
    hostname = socket.gethostname()
    own = ["127.0.0.1", f"127.0.0.1:{port}", "localhost", f"LOCALHOST:{port}", hostname, f"{hostname}.local",
           f"{instance_name('edge-api-test')}.local", "[::1]:8780", "127.0.0.2"]  # fmt: skip
    for host in own:
        assert api.http.get("/status", headers={"Host": host}).status_code == 200, host


def test_allowed_hosts_adds_names(api_factory: object) -> None:
    run = api_factory('[api]\nallowed_hosts = "kiosk-api.rathaus.offenburg.de, edge-7"\n')  # type: ignore[operator]
    assert run.http.get("/status", headers={"Host": "kiosk-api.rathaus.offenburg.de:8780"}).status_code == 200
    assert run.http.get("/status", headers={"Host": "edge-7"}).status_code == 200
    assert run.http.get("/status", headers={"Host": "rathaus.offenburg.de"}).status_code == 421


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
def test_a_post_that_is_not_json_is_415(api: RunningApi, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    r = api.http.post("/feedback", content=json.dumps(VOTE).encode(), headers=headers)
    assert r.status_code == 415 and "application/json" in r.json()["error"]
    assert stored(api.db) == []
    ok = api.http.post(
        "/feedback", content=json.dumps(VOTE), headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert ok.status_code == 201


def test_the_rate_limit_lets_a_kiosk_through_and_stops_a_flood() -> None:
    clock = ManualClock()
    limit = guard.RateLimit(clock=clock)
    assert all(limit.wait("kiosk") == 0 for _ in range(10))  # a burst of 10
    for _ in range(600):  # then one vote a second for ten minutes
        clock.advance(1)
        assert limit.wait("kiosk") == 0
    clock.advance(60)
    flood = [limit.wait("kiosk") for _ in range(200)]  # 200 at once
    assert flood[: guard.BURST] == [0] * guard.BURST and all(w > 0 for w in flood[guard.BURST :])
    assert limit.wait("other kiosk") == 0  # per kiosk
    clock.advance(flood[-1])
    assert limit.wait("kiosk") == 0  # Retry-After was honest


def test_a_flood_from_one_kiosk_gets_429_with_retry_after(api: RunningApi) -> None:
    answers = [api.http.post("/feedback", json={**VOTE, "id": f"f-{i}"}) for i in range(guard.BURST + 20)]
    codes = [r.status_code for r in answers]
    assert codes[:10] == [201] * 10 and 429 in codes
    limited = next(r for r in answers if r.status_code == 429)
    assert int(limited.headers["retry-after"]) >= 1 and "try again" in limited.json()["error"]
    other = pair_kiosk(api.data_dir, "kiosk-og")
    assert api.http.get("/status", headers=other.headers).status_code == 200  # another kiosk is not slowed


def test_kiosk_add_prints_a_kiosk_toml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("A2D_API_PORT")  # the default port, 8780
    cfg = tmp_path / "edge.toml"
    cfg.write_text(f'[device]\nid = "edge-rathaus-1"\ndata_dir = "{tmp_path / "d"}"\n')
    assert edge_cli.main(["kiosk", "add", "kiosk-eg", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    token = next(line.split(": ")[-1] for line in out.splitlines() if line.startswith("token"))
    assert kiosks.Registry(tmp_path / "d").kiosk_id(token) == "kiosk-eg"
    kiosk_toml = tomllib.loads(out[out.index("[kiosk]") :])
    assert kiosk_toml["kiosk"] == {"id": "kiosk-eg", "token": token, "agent_url": "http://127.0.0.1:8780",
                                   "agent_device_id": "edge-rathaus-1"}  # fmt: skip
