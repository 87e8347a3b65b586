"""`a2d server signing-key` and the known errors of `a2d server bundle publish`."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import pytest

from a2d.bundles import MAX_BUNDLE_BYTES, key_id, load_public_key
from sync_server import signing
from sync_server.db import Database

from .conftest import add_device
from .test_bundles import run


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_key_is_0600_and_never_overwritten(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, db: Database, db_url: str
) -> None:
    key = tmp_path / "etc" / "signing.key"
    old_umask = os.umask(0)
    try:
        code, out, err = run(capsys, "signing-key", "--key", str(key))
    finally:
        os.umask(old_umask)
    assert code == 0 and err == ""
    assert mode(key) == 0o600 and key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert [p.name for p in key.parent.iterdir()] == ["signing.key"]  # no temporary file left
    public = out.splitlines()[-1].rsplit(" ", 1)[1]
    load_public_key(public)
    assert run(capsys, "signing-key", "--key", str(key), "--public") == (0, public + "\n", "")
    assert json.loads(run(capsys, "signing-key", "--key", str(key), "--public", "--json")[1]) == {
        "key": str(key),
        "public_key": public,
        "key_id": key_id(public),
    }

    before = key.read_bytes()
    code, out, err = run(capsys, "signing-key", "--key", str(key))
    assert code == 1 and out == "" and err.count("\n") == 1 and "signing-key rotate" in err
    assert key.read_bytes() == before

    # --rotate is the rotate action: a new key, and the old one kept beside it, both 0600
    code, out, err = run(capsys, "signing-key", "--key", str(key), "--rotate", "--db", db_url, "--json")
    assert code == 0, err
    rotated = json.loads(out)["public_key"]
    assert rotated != public and key.read_bytes() != before and mode(key) == 0o600
    assert run(capsys, "signing-key", "--key", str(key), "--public")[1] == rotated + "\n"
    (old,) = key.parent.glob("signing.key.retired-*")
    assert old.read_bytes() == before and mode(old) == 0o600


def test_key_errors_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "missing.key"
    code, out, err = run(capsys, "signing-key", "--key", str(missing), "--public")
    assert code == 1 and out == "" and err.count("\n") == 1 and "no signing key" in err
    assert not missing.exists()
    (tmp_path / "not.key").write_text("hello\n")
    code, _, err = run(capsys, "signing-key", "--key", str(tmp_path / "not.key"), "--public")
    assert code == 1 and err.count("\n") == 1 and "no Ed25519 private key" in err
    (tmp_path / "file").write_text("")
    code, _, err = run(capsys, "signing-key", "--key", str(tmp_path / "file" / "signing.key"))
    assert code == 1 and err.count("\n") == 1 and "cannot write the signing key" in err


def test_a_key_others_can_read_is_used_with_a_warning(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = tmp_path / "signing.key"
    run(capsys, "signing-key", "--key", str(key))
    key.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="sync_server.signing"):
        signing.load(key)
    assert "chmod 600" in caplog.text


def test_where_the_key_lives(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert signing.key_path("", "sqlite:////var/lib/a2d/server.db") == Path("/var/lib/a2d/signing.key")
    assert signing.key_path("", "sqlite:///server.db") == Path("signing.key")
    assert signing.key_path("", "postgresql://a2d@db:5432/a2d") == Path("signing.key")
    assert signing.key_path("/etc/a2d/k.pem", "sqlite:////var/lib/a2d/server.db") == Path("/etc/a2d/k.pem")

    monkeypatch.delenv("A2D_SERVER_SIGNING_KEY", raising=False)
    assert run(capsys, "signing-key", "--db", f"sqlite:///{tmp_path / 'srv' / 'server.db'}")[0] == 0
    assert mode(tmp_path / "srv" / "signing.key") == 0o600
    monkeypatch.setenv("A2D_SERVER_SIGNING_KEY", str(tmp_path / "from-env.key"))
    assert run(capsys, "signing-key")[0] == 0 and (tmp_path / "from-env.key").exists()
    assert run(capsys, "signing-key", "--key", str(tmp_path / "flag.key"))[0] == 0  # the flag wins
    assert (tmp_path / "flag.key").exists()


def test_publish_errors_are_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, db: Database, db_url: str
) -> None:
    add_device(db, "edge-1")
    key = tmp_path / "signing.key"
    assert run(capsys, "signing-key", "--key", str(key))[0] == 0
    small, big = tmp_path / "small.txt", tmp_path / "big.bin"
    small.write_text("x = 1\n")
    with big.open("wb") as f:
        f.truncate(MAX_BUNDLE_BYTES + 1)  # sparse: costs no disk
    publish = ("bundle", "publish", "--db", db_url, "--key", str(key))
    cases = {
        "larger than the 67108864 bytes": ("model", str(big)),
        "cannot read": ("content", str(tmp_path / "nothing.zip")),
        "no device 'edge-9'": ("config", str(small), "--device", "edge-1", "--device", "edge-9"),
        "a version is 1 to 100 printable characters": ("config", str(small), "--version", "v1\nv2"),
        "no signing key": ("config", str(small), "--key", str(tmp_path / "other.key")),
        "no Ed25519 private key": ("config", str(small), "--key", str(small)),
    }
    for message, args in cases.items():
        code, out, err = run(capsys, *publish, *args)
        assert code == 1 and out == "" and err.count("\n") == 1 and message in err, (message, err)
    code, _, err = run(capsys, "bundle", "publish", "config", str(small), "--db",
                       f"sqlite:///{tmp_path / 'missing.db'}", "--key", str(key))  # fmt: skip
    assert code == 1 and "no server database" in err and err.count("\n") == 1
    assert db.bundles() == []

    with big.open("r+b") as f:
        f.truncate(MAX_BUNDLE_BYTES)  # exactly the limit is fine
    code, out, err = run(capsys, *publish, "model", str(big), "--device", "edge-1", "--version", "2026.06")
    assert code == 0, err
    assert out.startswith("published model bundle 2026.06 (67108864 bytes, sha256 ") and out.endswith(
        " for device:edge-1 (counter 1)\n"
    )
