"""docs/provisioning.md names every `a2d provision` command and option, every role and every unit."""

from __future__ import annotations

import argparse
from pathlib import Path

from a2d.firstboot import APPS, ROLES
from provisioning.cli import EXAMPLES, parser

DOC = (Path(__file__).resolve().parents[2] / "docs" / "provisioning.md").read_text()


def test_every_command_and_option_is_documented() -> None:
    subparsers = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert set(subparsers.choices) == set(EXAMPLES)
    for name, sub in subparsers.choices.items():
        assert f"a2d provision {name}" in DOC, name
        for action in sub._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help":
                    assert f"`{flag}" in DOC or f"{flag} " in DOC, (name, flag)


def test_every_role_and_unit_is_documented() -> None:
    for role in ROLES:
        assert f"`{role}`" in DOC, role
    for _, _, unit, user in APPS.values():
        assert f"`{unit}`" in DOC and f"`{user}`" in DOC, unit
    assert "## Zero-touch claim" in DOC and "## The appliance image and packages" in DOC
