"""`a2d server signing-key ...` and `a2d server bundle ...`: what the commands do and print.

The parser lives in ``cli.py`` with the others; the work is done by ``signing.py`` (the key files)
and ``publishing.py`` (counters, targets, signatures, the database). ``bundle sign`` needs neither
a database nor a server: it runs wherever the private key is kept.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from a2d import bundles
from a2d.bundles import Bundle, BundleError
from a2d.errors import KnownError
from a2d.timeutil import utc_now

from . import publishing, signing
from .config import ServerSettings
from .db import ALL_DEVICES, BundleInfo, Database, SigningKey
from .output import say

#: how long devices keep trusting the old key after a rotation, unless --keep-old-until says
KEEP_OLD_DAYS = 90


class BundleFileError(KnownError):
    """A bundle file to sign or upload cannot be read, or holds no bundle document."""


def _write(text: str) -> None:
    sys.stdout.write(text + "\n")


def _json(data: dict[str, Any]) -> str:
    return orjson.dumps(data).decode()


def _key_path(settings: ServerSettings) -> Path:
    return signing.key_path(settings.signing_key, settings.db)


# signing-key -------------------------------------------------------------------------------------


def signing_key(args: argparse.Namespace, settings: ServerSettings) -> None:
    """``create`` (the default) and ``--public``: no database needed."""
    path = _key_path(settings)
    key = signing.load(path) if args.public else signing.create(path)
    public = bundles.public_key_text(key)
    if args.json:
        _write(_json({"key": str(path), "public_key": public, "key_id": bundles.key_id(key)}))
    elif args.public:
        _write(public)
    else:
        _write(
            f"signing key written to {path} (mode 0600; keep it secret)\n"
            f"public key, for sync.trusted_keys and kiosk.trusted_keys on every device: {public}"
        )


def signing_key_db(db: Database, args: argparse.Namespace, settings: ServerSettings) -> None:
    """``rotate``, ``trust`` and ``list``: they read or change the server's list of keys."""
    if args.action == "rotate":
        _rotate(db, args, settings)
    elif args.action == "trust":
        _trust(db, args)
    else:
        _list_keys(db.signing_keys(), args.json)


def _until(text: str | None, now: datetime) -> datetime:
    if text is None:
        return now + timedelta(days=KEEP_OLD_DAYS)
    try:
        until = bundles.parse_until(text)
    except BundleError as exc:
        raise KnownError(f"--keep-old-until: {exc}") from None
    if until <= now:
        raise KnownError(f"--keep-old-until must lie in the future, not {text}")
    return until


def _rotate(db: Database, args: argparse.Namespace, settings: ServerSettings) -> None:
    path = _key_path(settings)
    now = datetime.now(UTC)
    until = _until(args.keep_old_until, now)
    old = signing.load(path)
    signing.remove_expired(path, now)
    new = signing.stage_next(path)
    keys_info, again = publishing.rotate(db, old, new, until, utc_now())
    retired = signing.finish_rotation(path, bundles.key_id(old), until)
    public = bundles.public_key_text(new)
    out = {
        "key": str(path), "public_key": public, "key_id": bundles.key_id(new), "old_key_id": bundles.key_id(old),
        "old_key_file": str(retired), "old_trusted_until": bundles.until_text(until),
        "keys_counter": keys_info.counter, "resigned": len(again),
    }  # fmt: skip
    say(args.json, out,
        f"new signing key {out['key_id']} in {path}; the old key {out['old_key_id']} is kept in {retired}"
        f" and trusted until {out['old_trusted_until']}\npublished the keys bundle (counter"
        f" {keys_info.counter}) signed with the old key, and signed {len(again)} current bundle(s) again"
        f" with the new one\nnew public key, for the configs of devices set up from now on: {public}")  # fmt: skip


def _trust(db: Database, args: argparse.Namespace) -> None:
    if not args.public_key:
        raise KnownError("give the public key to trust: a2d server signing-key trust PUBLIC_KEY")
    try:
        key = bundles.trusted_key(args.public_key)
    except BundleError as exc:
        raise KnownError(f"PUBLIC_KEY: {exc}") from exc
    added = db.add_signing_key(SigningKey(key.key_id, key.public_key, utc_now()))
    say(args.json, {"key_id": key.key_id, "added": added},
        f"{'trusting' if added else 'already trusting'} the signing key {key.key_id} for uploads")  # fmt: skip


def _list_keys(keys: list[SigningKey], as_json: bool) -> None:
    now = utc_now()
    out = sys.stdout
    for k in keys:
        if as_json:
            out.write(_json({"key_id": k.key_id, "public_key": k.public_key, "added_at": k.added_at,
                             "retire_at": k.retire_at, "active": k.active_at(now)}) + "\n")  # fmt: skip
            continue
        state = (
            "active" if k.retire_at is None else ("until " if k.active_at(now) else "retired ") + k.retire_at
        )
        out.write(f"{k.key_id}  {state:<36} added {k.added_at}  {k.public_key}\n")
    if not keys and not as_json:
        out.write("no signing keys yet: the first a2d server bundle publish takes its key on\n")


# bundle ------------------------------------------------------------------------------------------


def bundle(db: Database, args: argparse.Namespace, settings: ServerSettings) -> None:
    if args.action == "publish":
        _publish(db, args, settings)
    elif args.action == "export":
        _export(db, args)
    elif args.action == "upload":
        rows = publishing.upload(db, _read_docs(args.file), utc_now())
        _published(rows, args.json)
    else:
        _list(db.bundles(history=args.history), args.json)


def _publish(db: Database, args: argparse.Namespace, settings: ServerSettings) -> None:
    now = utc_now()
    version = now if args.version is None else args.version
    content = publishing.read_content(args.file, args.kind)
    path = _key_path(settings)
    key = signing.load(path)
    signing.remove_expired(path, datetime.now(UTC))
    rows = publishing.publish(db, key, args.kind, content, version, args.device, now, site=args.site or "")
    _published(rows, args.json)


def _published(rows: list[BundleInfo], as_json: bool) -> None:
    first = rows[0]
    if as_json:
        fields = {k: v for k, v in first._asdict().items() if k not in ("target", "replaced_at", "counter")}
        _write(_json({**fields, "targets": [r.target for r in rows], "counters": [r.counter for r in rows]}))
        return
    targets = ", ".join(
        ("every device" if r.target == ALL_DEVICES else r.target) + f" (counter {r.counter})" for r in rows
    )
    _write(
        f"published {first.kind} bundle {first.version} ({first.size} bytes, sha256 {first.sha256}) for {targets}"
    )


def _export(db: Database, args: argparse.Namespace) -> None:
    version = utc_now() if args.version is None else args.version
    content = publishing.read_content(args.file, args.kind)
    out = publishing.export(db, args.kind, content, version, args.device, args.site or "")
    _write_docs(args.out, out)
    say(args.json, {"out": str(args.out), "targets": [b.target for b in out], "counters": [b.counter for b in out]},
        f"wrote {len(out)} unsigned {args.kind} bundle(s) to {args.out} (counter"
        f" {', '.join(str(b.counter) for b in out)}); sign them with: a2d server bundle sign {args.out}"
        f" --key KEYFILE --out signed.json")  # fmt: skip


def sign(args: argparse.Namespace) -> None:
    """``a2d server bundle sign``: no database, no server, only the key file."""
    key = signing.load(Path(args.key))
    if args.kind:
        content = publishing.read_content(args.file, args.kind)
        version = utc_now() if args.version is None else args.version
        try:
            todo = [bundles.unsigned(args.kind, version, args.counter, args.target, content)]
        except BundleError as exc:
            raise BundleFileError(str(exc)) from None
    else:
        todo = []
        for i, doc in enumerate(_read_docs(args.file)):
            try:
                todo.append(bundles.parse(doc, signed=False))
            except BundleError as exc:
                raise BundleFileError(f"{args.file} [{i}]: {exc}") from exc
    signed = [bundles.sign_bundle(b, key) for b in todo]
    _write_docs(args.out, signed)
    say(args.json, {"out": str(args.out), "key_id": bundles.key_id(key), "counters": [b.counter for b in signed]},
        f"signed {len(signed)} bundle(s) with key {bundles.key_id(key)} into {args.out}")  # fmt: skip


def _read_docs(path: Path) -> list[Any]:
    """The bundle documents of a file: one document, or a JSON list of them."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BundleFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > bundles.MAX_BUNDLE_BYTES * 2:
        raise BundleFileError(f"{path} is larger than a bundle document can be")
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise BundleFileError(f"{path} is not JSON: {exc}") from exc
    docs = doc if isinstance(doc, list) else [doc]
    if not docs or not all(isinstance(d, dict) and "format" in d for d in docs):
        raise BundleFileError(f"{path} holds no bundle document (a2d server bundle export writes one)")
    return docs


def _write_docs(path: Path, items: Sequence[Bundle]) -> None:
    """One document, or a JSON list when there are several; written to a new file, then renamed."""
    docs = [b.as_dict() for b in items]
    data = json.dumps(docs[0] if len(docs) == 1 else docs, indent=1).encode() + b"\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BundleFileError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _list(rows: list[BundleInfo], as_json: bool) -> None:
    out = sys.stdout
    if as_json:
        out.writelines(_json(b._asdict()) + "\n" for b in rows)
        return
    for b in rows:
        state = f"replaced {b.replaced_at}" if b.replaced_at else "current"
        out.write(
            f"{b.kind:<8} {b.target:<28} {b.counter:>6} {b.version:<28} {b.size:>10} bytes  sha256 {b.sha256[:16]}"
            f"  published {b.published_at}  {state}\n"
        )
    if not rows:
        out.write("no bundles yet: a2d server bundle publish KIND FILE\n")
