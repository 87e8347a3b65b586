"""Signed bundles end to end, on SQLite and PostgreSQL: publish, download, ETag, overrides, tampering."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path

import httpx
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from a2d.bundles import BundleError, bundle_path, load_public_key, new_private_key, public_key_text, verify
from a2d.cli import main as a2d
from sync_server.db import ALL_DEVICES, Database, sqlite_path
from sync_server.publishing import publish
from sync_server.routes.bundles import matches

from .conftest import Postgres, ServerProcess, add_device, bearer

NOW = "2026-06-02T08:00:00.000000Z"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = a2d(["server", *args])
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


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return new_private_key()


def test_publish_and_download_round_trip(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, client: TestClient, db: Database, db_url: str
) -> None:
    device, token = add_device(db, "edge-rathaus-1")
    key_file = tmp_path / "keys" / "signing.key"
    code, out, _ = run(capsys, "signing-key", "--key", str(key_file), "--json")
    assert code == 0
    public = json.loads(out)["public_key"]
    content = "Willkommen im Bürgerbüro\n".encode() + bytes(range(256))
    (tmp_path / "content.bin").write_bytes(content)
    code, out, err = run(capsys, "bundle", "publish", "content", str(tmp_path / "content.bin"),
                         "--db", db_url, "--key", str(key_file), "--json")  # fmt: skip
    assert code == 0, err
    published = json.loads(out)
    assert published["targets"] == ["*"] and published["size"] == len(content)
    assert published["version"] == published["published_at"] and published["version"].endswith("Z")

    r = client.get(bundle_path(device, "content"), headers=bearer(token))
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    bundle = verify(r.json(), load_public_key(public), "content")
    assert bundle.content == content and bundle.version == published["version"]
    assert r.headers["etag"] == bundle.etag == f'"{published["sha256"]}"'
    assert r.headers["cache-control"] == "no-cache"
    with pytest.raises(BundleError, match="signature"):
        verify(r.json(), load_public_key(public_key_text(new_private_key())))


def test_etag_and_if_none_match(client: TestClient, db: Database, key: Ed25519PrivateKey) -> None:
    device, token = add_device(db, "edge-1")
    first = publish(db, key, "config", b"[kiosk]\nidle_s = 90\n", "v1", [], NOW)[0]
    path = bundle_path(device, "config")
    tag = f'"{first.sha256}"'
    assert client.get(path, headers=bearer(token)).headers["etag"] == tag
    for header in (tag, f"W/{tag}", f'"other", {tag}', "*"):
        r = client.get(path, headers={**bearer(token), "If-None-Match": header})
        assert r.status_code == 304 and r.content == b"" and r.headers["etag"] == tag, header
        assert "content-length" not in r.headers or r.headers["content-length"] == "0"
    assert client.get(path, headers={**bearer(token), "If-None-Match": '"other"'}).status_code == 200

    second = publish(db, key, "config", b"[kiosk]\nidle_s = 120\n", "v2", [], NOW)[0]
    r = client.get(path, headers={**bearer(token), "If-None-Match": tag})
    assert r.status_code == 200 and r.headers["etag"] == f'"{second.sha256}"' != tag
    assert r.json()["version"] == "v2"


def test_if_none_match_parsing() -> None:
    assert matches('"abc"', '"abc"') and matches('W/"abc"', '"abc"') and matches(' "x" ,W/"abc" ', '"abc"')
    assert matches("*", '"abc"')
    assert not matches(None, '"abc"') and not matches("", '"abc"') and not matches('"ab"', '"abc"')
    assert not matches("abc", '"abc"')  # an ETag is quoted


def test_a_device_bundle_overrides_the_one_for_all(
    client: TestClient, db: Database, key: Ed25519PrivateKey
) -> None:
    (a, ta), (b, tb), (c, tc) = add_device(db, "edge-a"), add_device(db, "edge-b"), add_device(db, "edge-c")
    publish(db, key, "content", b"for everyone", "all-1", [], NOW)
    publish(db, key, "content", b"only for a and b", "ab-1", [a, b, a], NOW)
    publish(db, key, "model", b"a model for c", "m-1", [c], NOW)
    public = key.public_key()

    def fetch(device: str, token: str, kind: str) -> bytes | int:
        r = client.get(bundle_path(device, kind), headers=bearer(token))
        return verify(r.json(), public, kind).content if r.status_code == 200 else r.status_code

    assert fetch(a, ta, "content") == fetch(b, tb, "content") == b"only for a and b"
    assert fetch(c, tc, "content") == b"for everyone"
    assert fetch(c, tc, "model") == b"a model for c"
    assert fetch(a, ta, "model") == 404 and fetch(a, ta, "config") == 404
    publish(db, key, "content", b"for everyone, new", "all-2", [], NOW)
    assert fetch(a, ta, "content") == b"only for a and b" and fetch(c, tc, "content") == b"for everyone, new"


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
    assert r.status_code == 404 and "config, content, model" in r.json()["detail"]
    assert client.get(bundle_path(device, "firmware")).status_code == 401  # the token is checked first


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
        verify(r.json(), key.public_key(), "content")


def test_replaced_bundles_are_kept_in_the_history(
    capsys: pytest.CaptureFixture[str], db: Database, db_url: str, key: Ed25519PrivateKey
) -> None:
    device, _ = add_device(db, "edge-1")
    for n in range(1, 4):
        publish(db, key, "content", f"content {n}".encode(), f"v{n}", [], f"2026-06-0{n}T08:00:00.000000Z")
    publish(db, key, "config", b"c", "c1", [device], NOW)
    assert [(b.kind, b.target, b.version, b.replaced_at) for b in db.bundles()] == [
        ("config", device, "c1", None), ("content", "*", "v3", None)
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
    assert set(rows[0]) == {"target", "kind", "version", "sha256", "size", "published_at", "replaced_at"}
    text = run(capsys, "bundle", "list", "--db", db_url)[1].splitlines()
    assert len(text) == 2 and text[1].startswith("content  *") and "v3" in text[1] and "current" in text[1]


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
    public = load_public_key(
        json.loads(run(capsys, "signing-key", "--key", str(key_file), "--json")[1])["public_key"]
    )
    device = json.loads(run(capsys, "device", "add", "edge-1", "--db", url, "--json")[1])
    (tmp_path / "content").write_bytes(b"first")
    assert run(capsys, "bundle", "publish", "content", str(tmp_path / "content"), "--db", url, "--key",
               str(key_file))[0] == 0  # fmt: skip
    seen = []
    for server in servers:
        r = httpx.get(
            server.base + bundle_path(device["device_id"], "content"), headers=bearer(device["token"])
        )
        assert r.status_code == 200
        seen.append((r.headers["etag"], verify(r.json(), public).content))
    assert seen[0] == seen[1] and seen[0][1] == b"first"
    (tmp_path / "content").write_bytes(b"second")
    assert run(capsys, "bundle", "publish", "content", str(tmp_path / "content"), "--db", url, "--key",
               str(key_file))[0] == 0  # fmt: skip
    for server in servers:
        r = httpx.get(
            server.base + bundle_path(device["device_id"], "content"),
            headers={**bearer(device["token"]), "If-None-Match": seen[0][0]},
        )
        assert r.status_code == 200 and verify(r.json(), public).content == b"second"
