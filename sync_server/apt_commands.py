"""`a2d server apt key|publish|sources`: the town's signed APT repository from the admin's side."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from a2d.errors import KnownError

from . import aptkey, aptrepo
from .config import ServerSettings, apt_paths
from .output import say

Maker = Callable[[Any, str, str, str], argparse.ArgumentParser]


def add_parsers(sub: Any, add: Maker) -> None:
    """The ``apt`` command and its actions; ``add(where, name, example key, help)`` is the CLI's
    helper that makes a parser with its example."""
    apt = add(sub, "apt", "apt", "the signed APT repository devices take software updates from")
    asub = apt.add_subparsers(dest="action", required=True, metavar="action")
    key = add(
        asub,
        "key",
        "apt key",
        "make the repository's OpenPGP signing key (0600) and its public key beside it",
    )
    key.add_argument("--public", action="store_true", help="only print the public key of the existing key")
    pub = add(asub, "publish", "apt publish", "add .deb files to the repository and sign its indexes again")
    pub.add_argument("--deb", action="append", default=[], type=Path, metavar="FILE",
                     help="a package built by make deb (repeatable; none: only sign the indexes again)")  # fmt: skip
    pub.add_argument("--repo", dest="apt_repo", metavar="DIR",
                     help="the repository folder (default: server.apt_repo, A2D_SERVER_APT_REPO)")  # fmt: skip
    src = add(
        asub, "sources", "apt sources", "print the a2d.sources file a device needs (URL and public key)"
    )
    src.add_argument(
        "--url", required=True, help="the repository as devices reach it, e.g. https://sync.example/apt/"
    )
    src.add_argument("--out", type=Path, help="write it to this file instead of printing it")
    for p in (key, pub, src):
        p.add_argument("--key", dest="apt_key", metavar="FILE",
                       help="the OpenPGP key file (default: server.apt_key, A2D_SERVER_APT_KEY)")  # fmt: skip
        p.add_argument("--suite", default=aptrepo.SUITE, help=f"the suite (default {aptrepo.SUITE})")
        p.add_argument("--db", help="database URL; only says where the defaults lie (server.db)")
        p.add_argument("--config", help="optional server.toml with the settings of docs/sync-api.md")
        p.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace, settings: ServerSettings) -> None:
    repo, key = apt_paths(settings)
    if args.action == "key":
        if args.public:
            say(args.json, {"public_key": aptkey.public_key(key)}, aptkey.public_key(key).rstrip("\n"))
            return
        fpr = aptkey.create(key)
        public = aptkey.public_path(key)
        say(
            args.json,
            {"key": str(key), "public_key_file": str(public), "fingerprint": fpr},
            f"APT signing key {fpr} written to {key} (mode 0600; keep it secret);"
            f" its public key, for the devices, to {public}",
        )
    elif args.action == "publish":
        for deb in args.deb:
            if not deb.is_file():
                raise KnownError(f"{deb}: no such file")
        added = aptrepo.publish(repo, args.deb, key, args.suite)
        say(
            args.json,
            {"repo": str(repo), "added": added, "suite": args.suite},
            f"published {', '.join(added) or 'nothing new'}; indexes of {repo} signed again",
        )
    else:
        text = aptrepo.sources_text(args.url, aptkey.public_key(key), args.suite)
        if args.out is None:
            say(args.json, {"sources": text}, text.rstrip("\n"))
        else:
            args.out.write_text(text)
            say(
                args.json,
                {"out": str(args.out)},
                f"wrote {args.out}: install it as /etc/apt/sources.list.d/a2d.sources",
            )
