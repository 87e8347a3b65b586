"""`a2d server signing-key` and `a2d server bundle publish|list`: what the commands print.

The parser lives in ``cli.py`` with the others; the work is done by ``signing.py`` (the key file)
and ``publishing.py`` (sign and store).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from a2d.bundles import public_key_text
from a2d.timeutil import utc_now

from . import publishing, signing
from .config import ServerSettings
from .db import ALL_DEVICES, BundleInfo, Database


def _write(text: str) -> None:
    sys.stdout.write(text + "\n")


def _json(data: dict[str, Any]) -> str:
    return orjson.dumps(data).decode()


def signing_key(args: argparse.Namespace, settings: ServerSettings) -> None:
    path = signing.key_path(settings.signing_key, settings.db)
    key = signing.load(path) if args.public else signing.create(path, rotate=args.rotate)
    public = public_key_text(key)
    if args.json:
        _write(_json({"key": str(path), "public_key": public}))
    elif args.public:
        _write(public)
    else:
        _write(
            f"{'new ' if args.rotate else ''}signing key written to {path} (mode 0600; keep it secret)\n"
            f"public key, for sync.server_public_key on every device: {public}"
        )


def bundle(db: Database, args: argparse.Namespace, settings: ServerSettings) -> None:
    if args.action == "publish":
        _publish(db, args, settings)
    else:
        _list(db.bundles(history=args.history), args.json)


def _publish(db: Database, args: argparse.Namespace, settings: ServerSettings) -> None:
    now = utc_now()
    version = now if args.version is None else args.version
    content = publishing.read_content(args.file)
    key = signing.load(signing.key_path(settings.signing_key, settings.db))
    rows = publishing.publish(db, key, args.kind, content, version, args.device, now)
    first = rows[0]
    if args.json:
        fields = {k: v for k, v in first._asdict().items() if k not in ("target", "replaced_at")}
        _write(_json({**fields, "targets": [r.target for r in rows]}))
        return
    targets = "every device" if first.target == ALL_DEVICES else ", ".join(r.target for r in rows)
    _write(
        f"published {first.kind} bundle {first.version} ({first.size} bytes, sha256 {first.sha256}) for {targets}"
    )


def _list(rows: list[BundleInfo], as_json: bool) -> None:
    out = sys.stdout
    if as_json:
        out.writelines(_json(b._asdict()) + "\n" for b in rows)
        return
    for b in rows:
        state = f"replaced {b.replaced_at}" if b.replaced_at else "current"
        out.write(
            f"{b.kind:<8} {b.target:<24} {b.version:<28} {b.size:>10} bytes  sha256 {b.sha256[:16]}"
            f"  published {b.published_at}  {state}\n"
        )
    if not rows:
        out.write("no bundles yet: a2d server bundle publish KIND FILE\n")
