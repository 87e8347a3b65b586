"""`a2d provision`: put a device into service. The claim's commands come from :mod:`.claimcli`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from a2d import logs
from a2d.commandline import app_parser

from . import claimcli

EXAMPLES = {**claimcli.EXAMPLES}


def _parser() -> argparse.ArgumentParser:
    p, add = app_parser("a2d provision", "Provisioning: put a Raspberry Pi into service.", EXAMPLES, "claim")
    claimcli.register(add)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    logs.setup()
    return int(args.func(args))
