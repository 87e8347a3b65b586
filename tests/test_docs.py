"""The README names every command and codec a user can reach."""

from __future__ import annotations

from pathlib import Path

from a2d.cli import COMMANDS
from edge_agent.cli import EXAMPLES
from edge_agent.codecs import names

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_readme_shows_the_two_commands() -> None:
    assert "make demo" in README and "make test" in README


def test_every_command_is_in_the_readme() -> None:
    for name in COMMANDS:
        assert f"a2d {name}" in README, name
    for sub in EXAMPLES:
        assert f"a2d edge {sub}" in README, sub


def test_every_codec_is_in_the_readme() -> None:
    for codec in names():
        assert f"`{codec}`" in README, codec
