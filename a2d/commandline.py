"""What every ``a2d <app>`` command line shares: each parser's help ends with an example."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import Any


def with_example(example: str) -> dict[str, Any]:
    """Keyword arguments for an ``ArgumentParser`` whose help ends with ``example``."""
    return {"epilog": "example:\n  " + example, "formatter_class": argparse.RawDescriptionHelpFormatter}


def app_parser(
    prog: str, description: str, examples: Mapping[str, str], first: str
) -> tuple[argparse.ArgumentParser, Callable[[str, str], argparse.ArgumentParser]]:
    """The parser of an app with subcommands, and ``add(name, help)`` for each subcommand.

    ``examples`` maps each subcommand to its example; the app's own help shows ``first``'s.
    """
    p = argparse.ArgumentParser(prog=prog, description=description, **with_example(examples[first]))
    sub = p.add_subparsers(dest="command", required=True, metavar="command")

    def add(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, **with_example(examples[name]))

    return p, add
