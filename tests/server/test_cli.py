"""`a2d server device|admin-token|events` on both backends, the id rule, help texts, known errors."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from a2d.cli import main as a2d
from a2d.syncwire import API, records_path
from sync_server import cli
from sync_server.app import create_app
from sync_server.config import ServerSettings
from sync_server.db import open_database
from sync_server.registry import device_id_candidates, is_device_id, slug

from .conftest import PROJECT, batch, bearer


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = a2d(["server", *args])
    out, err = capsys.readouterr()
    return code, out, err


def lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines()]


def test_device_lifecycle_through_the_cli(capsys: pytest.CaptureFixture[str], db_url: str) -> None:
    code, out, _ = run(capsys, "device", "add", "edge-accept", "--db", db_url, "--json")
    assert code == 0
    first = json.loads(out)
    assert first["device_id"] == "edge-accept" and len(first["token"]) >= 43
    second = json.loads(run(capsys, "device", "add", "edge-accept", "--db", db_url, "--json")[1])
    assert second["device_id"] == "edge-accept-2" and second["token"] != first["token"]
    listed = lines(run(capsys, "device", "list", "--db", db_url, "--json")[1])
    assert [(d["device_id"], d["active"]) for d in listed] == [("edge-accept", True), ("edge-accept-2", True)]
    assert first["token"] not in run(capsys, "device", "list", "--db", db_url)[1]

    assert (
        run(capsys, "device", "revoke", "edge-accept-2", "--db", db_url)[1]
        == "revoked device edge-accept-2\n"
    )
    listed = lines(run(capsys, "device", "list", "--db", db_url, "--json")[1])
    assert [d["active"] for d in listed] == [True, False]
    rotated = json.loads(run(capsys, "device", "rotate-token", "edge-accept-2", "--db", db_url, "--json")[1])
    assert rotated["device_id"] == "edge-accept-2" and rotated["token"] != second["token"]
    assert all(d["active"] for d in lines(run(capsys, "device", "list", "--db", db_url, "--json")[1]))

    db = open_database(db_url)
    try:
        with TestClient(create_app(ServerSettings(db=db_url), db)) as c:
            path = records_path("edge-accept-2")
            assert c.post(path, json=batch("x", 1), headers=bearer(second["token"])).status_code == 401
            assert c.post(path, json=batch("x", 1), headers=bearer(rotated["token"])).status_code == 200
            assert c.post(path, json=batch("x", 1), headers=bearer(first["token"])).status_code == 403
    finally:
        db.close()


def test_admin_token_is_stored_hashed_and_replaced(capsys: pytest.CaptureFixture[str], db_url: str) -> None:
    one = json.loads(run(capsys, "admin-token", "--db", db_url, "--json")[1])["admin_token"]
    two = run(capsys, "admin-token", "--db", db_url)[1].rsplit(" ", 1)[1].strip()
    db = open_database(db_url)
    try:
        assert db.admin_token_hash() not in (None, one, two)
        with TestClient(create_app(ServerSettings(db=db_url), db)) as c:
            assert c.get(f"{API}/admin/devices", headers=bearer(one)).status_code == 401
            assert c.get(f"{API}/admin/devices", headers=bearer(two)).status_code == 200
    finally:
        db.close()


def test_events_prints_what_devices_uploaded(capsys: pytest.CaptureFixture[str], db_url: str) -> None:
    a = json.loads(run(capsys, "device", "add", "edge a", "--db", db_url, "--json")[1])
    b = json.loads(run(capsys, "device", "add", "edge b", "--db", db_url, "--json")[1])
    db = open_database(db_url)
    try:
        with TestClient(create_app(ServerSettings(db=db_url), db)) as c:
            assert c.post(
                records_path(a["device_id"]), json=batch("a", 3), headers=bearer(a["token"])
            ).is_success
            assert c.post(
                records_path(b["device_id"]), json=batch("b", 2), headers=bearer(b["token"])
            ).is_success
    finally:
        db.close()
    every = lines(run(capsys, "events", "--db", db_url, "--json")[1])
    assert [(e["device_id"], e["record_id"]) for e in every] == [
        ("edge-a", "a:0"), ("edge-a", "a:1"), ("edge-a", "a:2"), ("edge-b", "b:0"), ("edge-b", "b:1")
    ]  # fmt: skip
    assert set(every[0]) == {"device_id", "record_id", "stream", "ts", "received_at", "payload"}
    assert every[1]["payload"] == batch("a", 3)["records"][1]["payload"]  # type: ignore[index]
    assert every[0]["stream"] == "uplink" and every[0]["ts"] == "2026-06-02T08:15:31.412883Z"
    only_b = lines(run(capsys, "events", "--db", db_url, "--device", "edge-b", "--json")[1])
    assert [e["record_id"] for e in only_b] == ["b:0", "b:1"]
    assert len(lines(run(capsys, "events", "--db", db_url, "--json", "--limit", "2")[1])) == 2
    text = run(capsys, "events", "--db", db_url)[1].splitlines()
    assert len(text) == 5 and "edge-b" in text[4] and "b:1" in text[4]


def test_known_errors_are_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, db_url: str
) -> None:
    assert run(capsys, "device", "add", "somebody", "--db", db_url)[0] == 0
    code, out, err = run(capsys, "device", "revoke", "nobody", "--db", db_url)
    assert code == 1 and out == "" and err.count("\n") == 1 and "nobody" in err
    assert run(capsys, "device", "rotate-token", "nobody", "--db", db_url)[0] == 1
    for args in (["events", "--json"], ["device", "list"], ["device", "revoke", "somebody"]):
        code, _, err = run(capsys, *args, "--db", f"sqlite:///{tmp_path / 'missing.db'}")
        assert code == 1 and "no server database" in err and err.count("\n") == 1
    assert not (tmp_path / "missing.db").exists()
    code, _, err = run(capsys, "device", "list", "--db", "mysql://x@y/z")
    assert code == 1 and "unsupported database URL" in err
    code, _, err = run(capsys, "device", "list", "--db", "postgresql://nobody@127.0.0.1:1/none")
    assert code == 1 and "cannot connect to postgresql://nobody@127.0.0.1:1/none" in err


def _leaf_parsers(p: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [p]
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += _leaf_parsers(sub)
    return found


def test_every_help_ends_with_an_example() -> None:
    parsers = _leaf_parsers(cli.parser())
    # with apt and its three actions, poll and its three, user and its five; forecast's own
    # subcommands: tests/forecast/test_cli.py
    assert len(parsers) == 32
    for p in parsers:
        text = p.format_help()
        assert "\nexample:\n  a2d server " in text, p.prog
        assert text.rstrip().splitlines()[-1].startswith("  a2d server "), p.prog


def test_the_device_id_rule() -> None:
    assert slug("edge-rathaus-1") == "edge-rathaus-1"
    assert slug("Bürgerbüro Süd, Eingang #2") == "buergerbuero-sued-eingang-2"
    assert slug("Straße") == "strasse" and slug("Café Élysée") == "cafe-elysee"
    assert slug("---") == "device" and slug("") == "device"
    assert len(slug("x" * 200)) == 63
    first = list(device_id_candidates("a" * 100))[:3]
    assert first[0] == "a" * 63 and first[1] == "a" * 61 + "-2" and all(is_device_id(c) for c in first)
    assert not is_device_id("Edge") and not is_device_id("a--b") and not is_device_id("-a")


def test_the_real_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    done = subprocess.run(
        [sys.executable, "-m", "a2d.cli", "server", "device", "add", "edge-accept", "--db", url, "--json"],
        cwd=PROJECT, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert json.loads(done.stdout)["device_id"] == "edge-accept"
    top = subprocess.run(
        [sys.executable, "-m", "a2d.cli", "--help"], capture_output=True, text=True, cwd=PROJECT
    )
    assert "server" in top.stdout


def test_settings_flags_beat_environment_beat_file(tmp_path: Path) -> None:
    from a2d.config import ConfigError
    from sync_server import config

    f = tmp_path / "server.toml"
    f.write_text(
        '[server]\nport = 9000\nhost = "0.0.0.0"\ndb = "sqlite:///file.db"\n[log]\nlevel = "debug"\n'
    )
    s = config.load(
        f, env={"A2D_SERVER_PORT": "9100", "A2D_SERVER_ADMIN_TOKEN": "t" * 30}, db="sqlite:///flag.db"
    )
    assert (s.port, s.host, s.db, s.admin_token, s.log_level) == (
        9100,
        "0.0.0.0",
        "sqlite:///flag.db",
        "t" * 30,
        "debug",
    )
    assert config.load(env={}) == config.ServerSettings()
    with pytest.raises(ConfigError, match="server.port"):
        config.load(env={"A2D_SERVER_PORT": "many"})
