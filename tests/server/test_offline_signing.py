"""Offline signing, on SQLite and PostgreSQL: export (the server assigns the counter) -> sign on
another machine (no database, no server) -> upload (checked against the server's keys) -> a device
applies it. And what upload refuses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from a2d import bundles
from a2d.bundles import Identity, TrustedKeys, bundle_path
from edge_agent import bundles as edge_bundles
from edge_agent.store import Store
from sync_server import signing
from sync_server.db import Database
from tests.signedpack import demo_pack_bytes

from .conftest import add_device, bearer
from .test_bundles import run

ROOT = Path(__file__).resolve().parents[2]


def sign_elsewhere(
    tmp_path: Path, unsigned: Path, key: Path, out: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    """`a2d server bundle sign` in a process that can reach no database: no server settings at all,
    the default database path unwritable, and the working folder an empty one."""
    elsewhere = tmp_path / "offline-machine"
    elsewhere.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("A2D_")}
    env["A2D_SERVER_DB"] = "postgresql://nobody@127.0.0.1:1/none"  # would fail if anything tried it
    return subprocess.run(
        [sys.executable, "-m", "a2d.cli", "server", "bundle", "sign", str(unsigned), "--key", str(key),
         "--out", str(out), *extra],
        cwd=elsewhere, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.fixture
def offline_key(tmp_path: Path, capsys: pytest.CaptureFixture[str], db_url: str) -> tuple[Path, str]:
    """A key made on the offline machine, whose public key the server was told to trust."""
    key = tmp_path / "usb" / "signing.key"
    public = json.loads(run(capsys, "signing-key", "--key", str(key), "--json")[1])["public_key"]
    code, out, _ = run(capsys, "signing-key", "trust", public, "--db", db_url, "--json")
    assert code == 0 and json.loads(out) == {"key_id": bundles.key_id(public), "added": True}
    return key, public


def test_export_sign_offline_upload_and_a_device_applies_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, client: TestClient, db: Database, db_url: str,
    offline_key: tuple[Path, str],
) -> None:  # fmt: skip
    key, public = offline_key
    device, token = add_device(db, "edge-zell", "ov-zell-weierbach")
    content = tmp_path / "pack.json"
    content.write_bytes(demo_pack_bytes("Fundbuero"))
    unsigned, signed = tmp_path / "unsigned.json", tmp_path / "signed.json"
    code, out, err = run(capsys, "bundle", "export", "content", str(content), "--site", "ov-zell-weierbach",
                         "--version", "2026-06", "--db", db_url, "--out", str(unsigned), "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["counters"] == [1] and "signature" not in json.loads(unsigned.read_text())

    r = sign_elsewhere(tmp_path, unsigned, key, signed)
    assert r.returncode == 0, r.stderr
    assert f"with key {bundles.key_id(public)}" in r.stdout
    assert not list((tmp_path / "offline-machine").iterdir())  # nothing written there (no database)

    code, out, err = run(capsys, "bundle", "upload", str(signed), "--db", db_url, "--json")
    assert code == 0, err
    assert json.loads(out)["targets"] == ["site:ov-zell-weierbach"] and json.loads(out)["counters"] == [1]

    got = client.get(bundle_path(device, "content"), headers=bearer(token))
    assert got.status_code == 200 and got.json() == json.loads(signed.read_text())
    data = tmp_path / "edge"
    store = Store(data / edge_bundles.DB_FILE)
    try:
        trust = edge_bundles.DeviceTrust(
            TrustedKeys.configured([public]), Identity(device, "ov-zell-weierbach")
        )
        applied = edge_bundles.apply(data, got.json(), "content", trust)
        assert applied.content == content.read_bytes() and applied.counter == 1
    finally:
        store.close()


def test_several_devices_get_one_bundle_each_and_sign_takes_the_list(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    db: Database,
    db_url: str,
    offline_key: tuple[Path, str],
) -> None:
    key, public = offline_key
    a, b = add_device(db, "edge-a")[0], add_device(db, "edge-b")[0]
    (tmp_path / "c.toml").write_text("[kiosk]\nidle_s = 60\n")
    unsigned, signed = tmp_path / "unsigned.json", tmp_path / "signed.json"
    assert run(capsys, "bundle", "export", "config", str(tmp_path / "c.toml"), "--device", a, "--device", b,
               "--db", db_url, "--out", str(unsigned))[0] == 0  # fmt: skip
    assert [d["target"] for d in json.loads(unsigned.read_text())] == [f"device:{a}", f"device:{b}"]
    assert sign_elsewhere(tmp_path, unsigned, key, signed).returncode == 0
    code, out, _ = run(capsys, "bundle", "upload", str(signed), "--db", db_url)
    assert code == 0 and "(counter 1)" in out and "(counter 2)" in out
    assert sorted((x.target, x.counter) for x in db.bundles()) == [(f"device:{a}", 1), (f"device:{b}", 2)]


def test_upload_refuses_what_the_server_cannot_vouch_for(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    db: Database,
    db_url: str,
    offline_key: tuple[Path, str],
) -> None:
    key, _ = offline_key
    add_device(db, "edge-1")
    (tmp_path / "c").write_text("x")
    unsigned = tmp_path / "unsigned.json"

    def export(*aim: str) -> Path:
        assert run(capsys, "bundle", "export", "config", str(tmp_path / "c"), *aim, "--db", db_url,
                   "--out", str(unsigned))[0] == 0  # fmt: skip
        return unsigned

    def upload(doc: object) -> str:
        path = tmp_path / "upload.json"
        path.write_text(json.dumps(doc))
        code, out, err = run(capsys, "bundle", "upload", str(path), "--db", db_url)
        assert code == 1 and out == "" and err.count("\n") == 1, err
        return err

    def signed_with(path: Path, key_file: Path) -> dict:
        out = tmp_path / "signed.json"
        assert sign_elsewhere(tmp_path, path, key_file, out).returncode == 0
        return dict(json.loads(out.read_text()))

    rogue = tmp_path / "rogue.key"
    run(capsys, "signing-key", "--key", str(rogue))
    assert "which is not trusted here" in upload(signed_with(export(), rogue))
    first = signed_with(export(), key)  # counter 2
    newer = signed_with(export(), key)  # counter 3, uploaded first
    assert run(capsys, "bundle", "upload", str(_write(tmp_path / "n.json", newer)), "--db", db_url)[0] == 0
    assert "counter 2 is not above 3" in upload(first)
    invented = bundles.sign_bundle(bundles.unsigned("config", "v", 99, "all", b"x"), _load(key))
    assert "counter 99 of the config bundle was never handed out by this server" in upload(invented.as_dict())
    tampered = signed_with(export(), key)
    tampered["target"] = "device:edge-1"
    assert "signature does not match" in upload(tampered)
    ghost = bundles.sign_bundle(bundles.unsigned("config", "v", 4, "device:edge-9", b"x"), _load(key))
    assert "no device 'edge-9'" in upload(ghost.as_dict())
    assert "holds no bundle document" in upload({"hello": "world"})
    assert [(b.target, b.counter) for b in db.bundles()] == [("all", 3)]


def test_sign_without_export_signs_any_file_as_a_bundle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "signing.key"
    public = json.loads(run(capsys, "signing-key", "--key", str(key), "--json")[1])["public_key"]
    pack = tmp_path / "pack.json"
    pack.write_bytes(demo_pack_bytes("Offenburg"))
    out = tmp_path / "pack.signed.json"
    r = sign_elsewhere(
        tmp_path, pack, key, out, "--kind", "content", "--counter", "5", "--target", "site:rathaus"
    )
    assert r.returncode == 0, r.stderr
    b = bundles.verify(json.loads(out.read_text()), TrustedKeys.configured([public]), "content",
                       Identity("edge-1", "rathaus"), now=bundles.parse_until("2026-06-02"))  # fmt: skip
    assert (b.counter, b.target, b.content) == (5, "site:rathaus", pack.read_bytes())
    bad = sign_elsewhere(tmp_path, pack, key, out, "--kind", "content", "--target", "everyone")
    assert bad.returncode == 1 and "a target is all, site:<site> or device:<device id>" in bad.stderr
    assert sign_elsewhere(tmp_path, pack, key, out).returncode == 1  # without --kind: not a bundle


def _write(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc))
    return path


def _load(key: Path) -> Ed25519PrivateKey:
    return signing.load(key)
