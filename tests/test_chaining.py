"""Known errors keep the exception that caused them (``raise ... from exc``) where it helps whoever
debugs: the errno and path of an OSError, the line of a TOML error, SQLite's and OpenSSL's own words.
The user still reads one line; ``A2D_DEBUG=1`` shows the whole chain."""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import ssl
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from a2d import contentpack
from a2d.cli import main as a2d_main
from a2d.config import ConfigError, read_toml
from a2d.contentpack import ContentError
from edge_agent.store import StoreError, open_reader

ROOT = Path(__file__).resolve().parent.parent


def test_a_config_that_is_not_toml_keeps_the_toml_error(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    path.write_text('[device]\nid = "x"\nid = "y"\n')
    with pytest.raises(ConfigError, match="is not valid TOML") as caught:
        read_toml(path)
    cause = caught.value.__cause__
    assert isinstance(cause, tomllib.TOMLDecodeError)
    assert "line 3" in str(cause)


def test_an_unreadable_config_keeps_the_os_error(tmp_path: Path) -> None:
    folder = tmp_path / "edge.toml"  # a folder, so reading fails even for root
    folder.mkdir()
    with pytest.raises(ConfigError, match="cannot read config file") as caught:
        read_toml(folder)
    cause = caught.value.__cause__
    assert isinstance(cause, OSError)
    assert cause.errno == errno.EISDIR and cause.filename == str(folder)


def test_a_missing_config_says_all_there_is_and_carries_no_cause(tmp_path: Path) -> None:
    """The FileNotFoundError would repeat the message's path and nothing more: it stays out."""
    with pytest.raises(ConfigError, match="does not exist") as caught:
        read_toml(tmp_path / "nope.toml")
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_content_pack_error_keeps_its_cause_through_the_rewording(tmp_path: Path) -> None:
    """load() puts the file's name in front of loads()' error; the JSON error stays reachable below both."""
    path = tmp_path / "pack.json"
    path.write_text('{"version": 1,\n "services": [}')
    with pytest.raises(ContentError, match=f"^{path}: content pack: not valid JSON") as caught:
        contentpack.load(path)
    inner = caught.value.__cause__
    assert isinstance(inner, ContentError)
    assert isinstance(inner.__cause__, json.JSONDecodeError)
    assert inner.__cause__.lineno == 2


def test_a_database_that_is_not_sqlite_keeps_sqlites_error(tmp_path: Path) -> None:
    path = tmp_path / "edge.db"
    path.write_bytes(b"this is not a database, only text long enough to fill a header" * 20)
    with pytest.raises(StoreError, match="cannot open the database") as caught:
        open_reader(path)
    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)


def test_the_user_still_reads_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "edge.toml"
    path.write_text("[device\n")
    assert a2d_main(["edge", "status", "--config", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("a2d edge: config file") and "Traceback" not in err


def test_a_bad_tls_pair_is_one_line_and_a2d_debug_shows_openssls_error(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n")
    key.write_text("not a key\n")
    cmd = [sys.executable, "-m", "a2d.cli", "server", "run", "--db", f"sqlite:///{tmp_path / 's.db'}",
           "--port", "9", "--tls-cert", str(cert), "--tls-key", str(key)]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "A2D_DEBUG"}
    plain = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert plain.returncode == 1
    assert plain.stderr.count("\n") == 1 and "cannot use the TLS certificate" in plain.stderr
    debug = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=60, env={**env, "A2D_DEBUG": "1"}
    )
    assert f"{ssl.SSLError.__module__}.{ssl.SSLError.__name__}" in debug.stderr
    assert "The above exception was the direct cause of the following exception" in debug.stderr
