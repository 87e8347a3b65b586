"""Signed bundles end to end, on SQLite and PostgreSQL: publish, download, ETag, targets (device,
site, all), counters, tampering, the history."""

from __future__ import annotations

import base64
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from a2d import bundles
from a2d.bundles import BundleError, Identity, TrustedKeys, bundle_path, new_private_key, public_key_text
from a2d.cli import main as a2d
from sync_server.db import ALL_DEVICES, Database, StaleBundle, sqlite_path
from sync_server.publishing import publish
from sync_server.routes.bundles import matches
from tests.signedpack import demo_pack_bytes

from .conftest import Postgres, ServerProcess, add_device, bearer

NOW = "2026-06-02T08:00:00.000000Z"
AT = datetime(2026, 6, 2, 8, tzinfo=UTC)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = a2d(["server", *args])
    except SystemExit as exc:  # argparse refuses the arguments
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def sql(db_url: str, statement: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Run one statement straight on the database (``?`` placeholders), as an attacker or an admin would."""
    path = sqlite_path(db_url)
    if path is not None:
        with sqlite3.connect(path) as conn:
            return conn.execute(statement, params).fetchall()
    with psycopg.connect(db_url) as pg:
        cur = pg.execute(statement.replace("?", "%s"), params)
        return cur.fetchall() if cur.description else []


def check(
    doc: dict, key: Ed25519PrivateKey | str, kind: str, device: str = "", site: str = ""
) -> bundles.Bundle:
    """What a device with ``key`` as its only trusted key makes of a downloaded document."""
    public = key if isinstance(key, str) else public_key_text(key)
    return bundles.verify(doc, TrustedKeys.configured([public]), kind, Identity(device, site), now=AT)


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return new_private_key()


def test_a_content_pack_with_bad_hours_is_not_published(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, db: Database, db_url: str
) -> None:
    pack = json.loads(demo_pack_bytes("Offenburg"))
    pack["sites"][0]["opening_hours"] = "Mo-Fx 08:00-12:00"
    (tmp_path / "bad.json").write_text(json.dumps(pack))
    key_file = tmp_path / "signing.key"
    run(capsys, "signing-key", "--key", str(key_file))
    code, _, err = run(capsys, "bundle", "publish", "content", str(tmp_path / "bad.json"), "--db", db_url,
                       "--key", str(key_file))  # fmt: skip
    assert code == 1 and "opening_hours" in err and "Mo-Fx" in err


def test_publish_and_download_round_trip(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, client: TestClient, db: Database, db_url: str
) -> None:
    device, token = add_device(db, "edge-rathaus-1")
    key_file = tmp_path / "keys" / "signing.key"
    code, out, _ = run(capsys, "signing-key", "--key", str(key_file), "--json")
    assert code == 0
    public = json.loads(out)["public_key"]
    content = demo_pack_bytes("Offenburg")
    (tmp_path / "content.bin").write_bytes(content)
    code, out, err = run(capsys, "bundle", "publish", "content", str(tmp_path / "content.bin"),
                         "--db", db_url, "--key", str(key_file), "--json")  # fmt: skip
    assert code == 0, err
    published = json.loads(out)
    assert (
        published["targets"] == ["all"] and published["counters"] == [1] and published["size"] == len(content)
    )
    assert published["version"] == published["published_at"] and published["version"].endswith("Z")

    r = client.get(bundle_path(device, "content"), headers=bearer(token))
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    bundle = check(r.json(), public, "content", device)
    assert bundle.content == content and bundle.version == published["version"] and bundle.counter == 1
    assert r.headers["etag"] == bundle.etag == f'"1-{published["sha256"]}"'
    assert r.headers["cache-control"] == "no-cache"
    with pytest.raises(BundleError, match="not trusted here"):
        check(r.json(), new_private_key(), "content", device)
    # the key is now the server's, and a key it does not know is refused for publishing
    assert [k["key_id"] for k in map(json.loads, run(capsys, "signing-key", "list", "--db", db_url, "--json")[1]
                                     .splitlines())] == [bundles.key_id(public)]  # fmt: skip
    code, _, err = run(capsys, "signing-key", "--key", str(tmp_path / "stray.key"))
    code, _, err = run(capsys, "bundle", "publish", "content", str(tmp_path / "content.bin"), "--db", db_url,
                       "--key", str(tmp_path / "stray.key"))  # fmt: skip
    assert code == 1 and "is not one of this server's signing keys" in err and err.count("\n") == 1


def test_etag_and_if_none_match(client: TestClient, db: Database, key: Ed25519PrivateKey) -> None:
    device, token = add_device(db, "edge-1")
    first = publish(db, key, "config", b"[kiosk]\nidle_s = 90\n", "v1", [], NOW)[0]
    path = bundle_path(device, "config")
    tag = f'"{first.counter}-{first.sha256}"'
    assert client.get(path, headers=bearer(token)).headers["etag"] == tag
    for header in (tag, f"W/{tag}", f'"other", {tag}', "*"):
        r = client.get(path, headers={**bearer(token), "If-None-Match": header})
        assert r.status_code == 304 and r.content == b"" and r.headers["etag"] == tag, header
        assert "content-length" not in r.headers or r.headers["content-length"] == "0"
    assert client.get(path, headers={**bearer(token), "If-None-Match": '"other"'}).status_code == 200

    second = publish(db, key, "config", b"[kiosk]\nidle_s = 120\n", "v2", [], NOW)[0]
    r = client.get(path, headers={**bearer(token), "If-None-Match": tag})
    assert r.status_code == 200 and r.headers["etag"] == f'"2-{second.sha256}"' != tag
    assert r.json()["version"] == "v2"
    # the same content again is a new bundle (a new counter): the device gets it, not a 304
    third = publish(db, key, "config", b"[kiosk]\nidle_s = 120\n", "v2", [], NOW)[0]
    r = client.get(path, headers={**bearer(token), "If-None-Match": r.headers["etag"]})
    assert r.status_code == 200 and third.sha256 == second.sha256 and r.json()["counter"] == 3


def test_if_none_match_parsing() -> None:
    assert matches('"abc"', '"abc"') and matches('W/"abc"', '"abc"') and matches(' "x" ,W/"abc" ', '"abc"')
    assert matches("*", '"abc"')
    assert not matches(None, '"abc"') and not matches("", '"abc"') and not matches('"ab"', '"abc"')
    assert not matches("abc", '"abc"')  # an ETag is quoted


def test_a_device_gets_its_own_else_its_sites_else_the_fleets_bundle(
    client: TestClient, db: Database, key: Ed25519PrivateKey
) -> None:
    (a, ta), (b, tb) = add_device(db, "edge-a", "rathaus"), add_device(db, "edge-b", "rathaus")
    (c, tc), (d, td) = add_device(db, "edge-c", "ov-zell-weierbach"), add_device(db, "edge-d")
    publish(db, key, "content", b"for everyone", "all-1", [], NOW)
    publish(db, key, "content", b"for the Rathaus", "rathaus-1", [], NOW, site="rathaus")
    publish(db, key, "content", b"only for a", "a-1", [a, a], NOW)
    publish(db, key, "model", b"a model for c", "m-1", [c], NOW)

    def fetch(device: str, token: str, kind: str, site: str = "") -> tuple[bytes, int, str] | int:
        r = client.get(bundle_path(device, kind), headers=bearer(token))
        if r.status_code != 200:
            return r.status_code
        got = check(r.json(), key, kind, device, site)
        return got.content, got.counter, got.target

    assert fetch(a, ta, "content", "rathaus") == (b"only for a", 3, f"device:{a}")
    assert fetch(b, tb, "content", "rathaus") == (b"for the Rathaus", 2, "site:rathaus")
    assert fetch(c, tc, "content", "ov-zell-weierbach") == (b"for everyone", 1, "all")
    assert fetch(d, td, "content") == (b"for everyone", 1, "all")
    assert fetch(c, tc, "model", "ov-zell-weierbach") == (b"a model for c", 1, f"device:{c}")
    assert fetch(a, ta, "model") == 404 and fetch(a, ta, "config") == 404
    publish(db, key, "content", b"for everyone, new", "all-2", [], NOW)  # counter 4: one sequence per kind
    assert fetch(b, tb, "content", "rathaus") == (b"for the Rathaus", 2, "site:rathaus")
    assert fetch(d, td, "content") == (b"for everyone, new", 4, "all")
    # a site bundle does not reach a device of another site, even if asked for by a device's token
    assert client.get(bundle_path(c, "content"), headers=bearer(tc)).json()["target"] == "all"


def test_counters_grow_per_kind_and_an_older_one_cannot_be_stored(
    db: Database, key: Ed25519PrivateKey
) -> None:
    a, _ = add_device(db, "edge-a")
    rows = publish(db, key, "config", b"x", "v1", [a, "edge-a"], NOW) + publish(
        db, key, "config", b"y", "v2", [], NOW
    )
    assert [(r.target, r.counter) for r in rows] == [(f"device:{a}", 1), ("all", 2)]
    assert publish(db, key, "content", b"z", "c1", [], NOW)[0].counter == 1  # another kind, its own sequence
    late = bundles.sign(key, "config", "late", db.assign_bundle_counter("config"), "all", b"late")
    publish(db, key, "config", b"newer", "v4", [], NOW)  # got counter 4 and was published first
    info = rows[1]._replace(counter=late.counter, sha256=late.sha256, version="late")
    with pytest.raises(StaleBundle, match="counter 3 is not above 4"):
        db.publish_bundles([(info, json.dumps(late.as_dict()))])
    assert [(b.version, b.counter) for b in db.bundles() if b.kind == "config" and b.target == "all"] == [
        ("v4", 4)
    ]


def test_publish_refuses_bad_targets(db: Database, key: Ed25519PrivateKey, capsys: pytest.CaptureFixture[str],
                                     db_url: str, tmp_path: Path) -> None:  # fmt: skip
    add_device(db, "edge-1")
    (tmp_path / "c").write_bytes(demo_pack_bytes("x"))
    key_file = tmp_path / "signing.key"
    run(capsys, "signing-key", "--key", str(key_file))
    base = ("bundle", "publish", "--db", db_url, "--key", str(key_file))
    for args, message in [
        (("content", str(tmp_path / "c"), "--site", "Rathaus Nord"), "a site is lower-case letters"),
        (("content", str(tmp_path / "c"), "--site", "rathaus", "--device", "edge-1"), "not allowed with"),
        (("keys", str(tmp_path / "c"), "--site", "rathaus"), "a keys bundle is for every device"),
        (("keys", str(tmp_path / "c")), "a keys bundle holds"),
    ]:
        code, out, err = run(capsys, *base, *args)
        assert code != 0 and message in err, (args, err)
    assert db.bundles() == []


def test_a_device_fetches_only_its_own_bundles(
    client: TestClient, db: Database, key: Ed25519PrivateKey
) -> None:
    (a, ta), (_, tb) = add_device(db, "edge-a"), add_device(db, "edge-b")
    publish(db, key, "config", b"x = 1\n", "v1", [], NOW)
    path = bundle_path(a, "config")
    assert client.get(path).status_code == 401
    assert client.get(path, headers=bearer("not-a-token")).status_code == 401
    r = client.get(path, headers=bearer(tb))
    assert r.status_code == 403 and "content" not in r.json()
    assert client.get(bundle_path("no-such-device", "config"), headers=bearer(tb)).status_code == 403
    assert db.revoke_device(a, NOW)
    assert client.get(path, headers=bearer(ta)).status_code == 401


def test_404_without_a_bundle_or_for_an_unknown_kind(
    client: TestClient, db: Database, key: Ed25519PrivateKey
) -> None:
    device, token = add_device(db, "edge-1")
    r = client.get(bundle_path(device, "content"), headers=bearer(token))
    assert r.status_code == 404 and "no content bundle" in r.json()["detail"]
    publish(db, key, "content", b"x", "v1", [], NOW)
    r = client.get(bundle_path(device, "firmware"), headers=bearer(token))
    assert r.status_code == 404 and "keys, config, content, model" in r.json()["detail"]
    assert client.get(bundle_path("edge-1", "firmware")).status_code == 401  # the token is checked first


def test_a_tampered_document_is_served_and_fails_verification(
    client: TestClient, db: Database, db_url: str, key: Ed25519PrivateKey
) -> None:
    device, token = add_device(db, "edge-1")
    publish(db, key, "content", b"Oeffnungszeiten: Mo-Fr 8-12 Uhr", "v1", [], NOW)
    ((text,),) = sql(
        db_url, "SELECT document FROM bundles WHERE target = ? AND kind = ?", (ALL_DEVICES, "content")
    )
    doc = json.loads(str(text))
    content = bytearray(base64.b64decode(doc["content"]))
    content[content.index(b"8")] ^= 0x01  # "8" becomes "9": same size, other opening hours
    doc["content"] = base64.b64encode(bytes(content)).decode()
    sql(db_url, "UPDATE bundles SET document = ? WHERE target = ?", (json.dumps(doc), ALL_DEVICES))

    r = client.get(bundle_path(device, "content"), headers=bearer(token))
    assert (
        r.status_code == 200 and base64.b64decode(r.json()["content"]) == b"Oeffnungszeiten: Mo-Fr 9-12 Uhr"
    )
    with pytest.raises(BundleError, match="does not match its sha256"):
        check(r.json(), key, "content", device)


def test_replaced_bundles_are_kept_in_the_history(
    capsys: pytest.CaptureFixture[str], db: Database, db_url: str, key: Ed25519PrivateKey
) -> None:
    device, _ = add_device(db, "edge-1")
    for n in range(1, 4):
        publish(db, key, "content", f"content {n}".encode(), f"v{n}", [], f"2026-06-0{n}T08:00:00.000000Z")
    publish(db, key, "config", b"c", "c1", [device], NOW)
    assert [(b.kind, b.target, b.version, b.replaced_at, b.counter) for b in db.bundles()] == [
        ("config", f"device:{device}", "c1", None, 1), ("content", "all", "v3", None, 3)
    ]  # fmt: skip
    assert [(b.version, b.replaced_at) for b in db.bundles(history=True)] == [
        ("c1", None),
        ("v1", "2026-06-02T08:00:00.000000Z"),
        ("v2", "2026-06-03T08:00:00.000000Z"),
        ("v3", None),
    ]
    kept = sql(db_url, "SELECT version, document IS NOT NULL FROM bundle_history ORDER BY seq")
    assert [(v, bool(k)) for v, k in kept] == [("v1", False), ("v2", True)]  # the previous one's document

    code, out, _ = run(capsys, "bundle", "list", "--db", db_url, "--history", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["version"] for r in rows] == ["c1", "v1", "v2", "v3"]
    assert set(rows[0]) == {
        "target",
        "kind",
        "version",
        "sha256",
        "size",
        "published_at",
        "replaced_at",
        "counter",
    }
    text = run(capsys, "bundle", "list", "--db", db_url)[1].splitlines()
    assert len(text) == 2 and text[1].startswith("content  all") and "v3" in text[1] and "current" in text[1]


def test_an_empty_bundle_list(capsys: pytest.CaptureFixture[str], db: Database, db_url: str) -> None:
    assert run(capsys, "bundle", "list", "--db", db_url) == (
        0,
        "no bundles yet: a2d server bundle publish KIND FILE\n",
        "",
    )
    assert run(capsys, "bundle", "list", "--db", db_url, "--json") == (0, "", "")


def test_two_server_processes_serve_what_was_published(
    capsys: pytest.CaptureFixture[str], postgres: Postgres, tmp_path: Path, servers: list[ServerProcess]
) -> None:
    url = postgres.new_database()
    servers.extend([ServerProcess(url, tmp_path / "one.log"), ServerProcess(url, tmp_path / "two.log")])
    key_file = tmp_path / "signing.key"
    public = json.loads(run(capsys, "signing-key", "--key", str(key_file), "--json")[1])["public_key"]
    device = json.loads(run(capsys, "device", "add", "edge-1", "--db", url, "--json")[1])
    (tmp_path / "content").write_bytes(demo_pack_bytes("first"))
    assert run(capsys, "bundle", "publish", "content", str(tmp_path / "content"), "--db", url, "--key",
               str(key_file))[0] == 0  # fmt: skip
    seen = []
    for server in servers:
        r = httpx.get(
            server.base + bundle_path(device["device_id"], "content"), headers=bearer(device["token"])
        )
        assert r.status_code == 200
        seen.append((r.headers["etag"], check(r.json(), public, "content").content))
    assert seen[0] == seen[1] and seen[0][1] == demo_pack_bytes("first")
    (tmp_path / "content").write_bytes(demo_pack_bytes("second"))
    assert run(capsys, "bundle", "publish", "content", str(tmp_path / "content"), "--db", url, "--key",
               str(key_file))[0] == 0  # fmt: skip
    for server in servers:
        r = httpx.get(
            server.base + bundle_path(device["device_id"], "content"),
            headers={**bearer(device["token"]), "If-None-Match": seen[0][0]},
        )
        assert r.status_code == 200 and check(r.json(), public, "content").content == demo_pack_bytes(
            "second"
        )
