"""Insecure sync is loud: plain HTTP beyond this machine, or a certificate left unchecked, refuses to
start unless ``sync.allow_insecure = true``, and then warns once at the start."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge_agent import config as edge_config
from edge_agent.sync import SyncClient, SyncConfigError, SyncSettings

ROOT = Path(__file__).resolve().parent.parent


def settings(**sync: Any) -> SyncSettings | None:
    cfg = edge_config.parse({"device": {"id": "edge-1"}, "sync": {"token": "t", **sync}}, env={})
    return SyncSettings.from_config(dict(cfg.raw))


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080", "http://127.9.8.7", "http://[::1]:8080/", "http://localhost:8080",
     "http://LOCALHOST.", "https://sync.offenburg.de", "https://10.0.0.5:8443"],
)  # fmt: skip
def test_https_and_loopback_http_start_quietly(url: str) -> None:
    s = settings(url=url)
    assert s is not None and s.insecure == ""


@pytest.mark.parametrize(
    ("sync", "words"),
    [
        ({"url": "http://sync.offenburg.de"}, "plain HTTP to another machine"),
        ({"url": "http://10.0.0.5:8080"}, "plain HTTP to another machine"),
        ({"url": "http://127.0.0.1.example.org"}, "plain HTTP to another machine"),
        ({"url": "http://localhost.evil.example"}, "plain HTTP to another machine"),
        (
            {"url": "https://sync.offenburg.de", "verify_tls": False},
            "sync.verify_tls = false accepts any certificate",
        ),
    ],
)
def test_insecure_sync_refuses_to_start(sync: dict[str, Any], words: str) -> None:
    with pytest.raises(SyncConfigError, match=words) as caught:
        settings(**sync)
    assert "sync.allow_insecure = true" in str(caught.value) and "\n" not in str(caught.value)


def test_a_pinned_certificate_needs_no_verification() -> None:
    s = settings(url="https://10.0.0.5", verify_tls=False, pin_sha256="ab" * 32)
    assert s is not None and s.insecure == ""


def test_an_address_that_is_not_http_is_refused() -> None:
    with pytest.raises(SyncConfigError, match="is not an https://"):
        settings(url="ftp://sync.offenburg.de")


def test_allowed_insecure_sync_warns_once_at_the_start(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    s = settings(url="http://sync.offenburg.de", allow_insecure=True, heartbeat_s=3600.0)
    assert s is not None and "plain HTTP" in s.insecure
    (tmp_path / "edge.db").touch()
    client = SyncClient(s, "edge-1", tmp_path / "edge.db", lambda fn: None,  # type: ignore[arg-type,return-value]
                        transport=httpx.MockTransport(lambda r: httpx.Response(503)))  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="edge_agent.sync"):
        client.start()
        client.stop()
    warned = [r.getMessage() for r in caplog.records if "insecure" in r.getMessage()]
    assert len(warned) == 1 and "sync.allow_insecure" in warned[0] and "plain HTTP" in warned[0]


def test_a2d_edge_run_refuses_with_one_line(tmp_path: Path) -> None:
    cfg = tmp_path / "edge.toml"
    cfg.write_text(
        f'[device]\nid = "edge-1"\ndata_dir = "{tmp_path / "data"}"\n'
        '[sync]\nurl = "http://sync.offenburg.de"\ntoken = "t"\n'
    )
    r = subprocess.run([sys.executable, "-m", "a2d.cli", "edge", "run", "--config", str(cfg)], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "plain HTTP" in lines[0] and "sync.allow_insecure = true" in lines[0], r.stderr
