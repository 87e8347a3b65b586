"""``a2d server user``: accounts on the command line, passwords on stdin, one-line errors."""

from __future__ import annotations

import io
import json

import pytest

from a2d.errors import KnownError
from sync_server import cli
from sync_server.console import accounts, audit, passwords
from sync_server.db import open_database


def run(monkeypatch, capsys, argv, stdin: str = "") -> str:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert cli.main(argv) == 0
    return capsys.readouterr().out


def test_the_user_commands(monkeypatch, capsys, db_url) -> None:
    db = ["--db", db_url]
    out = run(monkeypatch, capsys, ["user", "add", "anna", "--role", "lotse", "--sites", "rathaus,ov-zell",
              "--password-stdin", "--json", *db], "ein-gutes-Passwort\n")  # fmt: skip
    assert json.loads(out)["sites"] == ["ov-zell", "rathaus"]
    with pytest.raises(KnownError, match="too short"):
        run(monkeypatch, capsys, ["user", "add", "bob", "--role", "admin", "--password-stdin", *db], "kurz\n")
    with pytest.raises(KnownError, match="already"):
        run(
            monkeypatch, capsys, ["user", "add", "anna", "--role", "admin", "--password-stdin", *db], "x" * 12
        )
    with pytest.raises(KnownError, match="user name"):
        run(
            monkeypatch,
            capsys,
            ["user", "add", "Anna Maier", "--role", "admin", "--password-stdin", *db],
            "x" * 12,
        )
    run(monkeypatch, capsys, ["user", "set-role", "anna", "--role", "editor", *db])
    run(
        monkeypatch,
        capsys,
        ["user", "reset-password", "anna", "--password-stdin", *db],
        "noch-ein-Passwort\n",
    )
    listed = [
        json.loads(line) for line in run(monkeypatch, capsys, ["user", "list", "--json", *db]).splitlines()
    ]
    assert [(u["username"], u["role"]) for u in listed] == [("anna", "editor")]
    store = open_database(db_url)
    try:
        assert passwords.verify(accounts.password_hash(store, "anna"), "noch-ein-Passwort")
        assert accounts.password_hash(store, "anna").startswith("$argon2id$")
        assert [e.action for e in audit.entries(store)][:3] == [
            "user.reset-password",
            "user.set-role",
            "user.add",
        ]
    finally:
        store.close()
    run(monkeypatch, capsys, ["user", "remove", "anna", *db])
    with pytest.raises(KnownError, match="no user"):
        run(monkeypatch, capsys, ["user", "remove", "anna", *db])
    assert "no console users yet" in run(monkeypatch, capsys, ["user", "list", *db])


def test_verify_takes_no_shortcut_for_unknown_users() -> None:
    assert passwords.verify(None, "irgendein-Passwort") is False
    assert passwords.verify(passwords.hash_password("richtiges-Passwort"), "richtiges-Passwort") is True
    assert passwords.verify("kein-hash", "richtiges-Passwort") is False
