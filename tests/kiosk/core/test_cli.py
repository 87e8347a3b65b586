"""`a2d kiosk`: says when it runs the demo, and never runs full screen with the demo Lotsen PIN."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from a2d.errors import KnownError
from kiosk import cli
from kiosk.config import DEMO_PIN
from kiosk.lotsen import hash_pin


@pytest.fixture(autouse=True)
def root_logging() -> Iterator[None]:
    """`a2d kiosk` sets up logging on this test's stderr: put the root logger back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_without_config_it_says_it_is_the_demo_and_refuses_full_screen(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("A2D_KIOSK_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("A2D_KIOSK_DISPLAY_FULLSCREEN", "1")
    with pytest.raises(KnownError, match="not run full screen with the demo"):
        cli.main([])
    err = capsys.readouterr().err.splitlines()
    said = [line for line in err if "this is the demo configuration" in line]
    assert len(said) == 2  # a plain line on stderr, and one in the log (which goes to stderr too)
    assert any("WARNING" in line and "kiosk.cli" in line for line in said)


def test_a_kiosk_toml_with_the_demo_pin_does_not_run_full_screen(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(
        f'[kiosk]\ncache_dir = "{tmp_path}"\npin_hash = "{hash_pin(DEMO_PIN)}"\n[display]\nfullscreen = true\n'
    )
    with pytest.raises(KnownError, match="demo Lotsen PIN"):
        cli.main(["--config", str(path)])
    assert "demo configuration" not in capsys.readouterr().err  # a kiosk.toml is no demo
    assert cli.uses_demo_pin(__import__("kiosk.config").config.load(path)) is True
    path.write_text(f'[kiosk]\npin_hash = "{hash_pin("864208")}"\n[display]\nfullscreen = true\n')
    assert cli.uses_demo_pin(__import__("kiosk.config").config.load(path)) is False


def test_hash_pin_refuses_a_short_pin(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.StringIO("2468\n"))
    with pytest.raises(KnownError, match="6 to 12 digits"):
        cli.main(["hash-pin"])
