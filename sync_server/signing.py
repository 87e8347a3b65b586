"""The server's Ed25519 signing key: one PEM file, readable by its owner only.

Only the commands that sign (``a2d server bundle publish``, ``a2d server signing-key rotate``) read
the private key; the running server never does, it serves documents that were signed when they
were published. Devices hold the public key (:func:`a2d.bundles.public_key_text`) in
``sync.trusted_keys``. A town that signs offline keeps the file on another machine.

Where the key lives: the ``server.signing_key`` setting (``A2D_SERVER_SIGNING_KEY``); when it is
empty, ``signing.key`` in the folder of the SQLite database, or in the working directory when the
database is PostgreSQL. The file is PKCS#8 PEM without a passphrase, mode ``0600``; it is written
to a temporary file first and moved into place, so a crash never leaves half a key behind.

A rotation writes the new key beside the old one first (``signing.key.next``); once the database
holds the ``keys`` bundle naming it, the old file is renamed to
``signing.key.retired-<key id>-until-<time>`` and the new one takes its place. A retired file is
deleted by the next rotation or publish after its time.
"""

from __future__ import annotations

import logging
import os
import stat
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from a2d.bundles import key_id, new_private_key
from a2d.errors import KnownError

from .db import sqlite_path

log = logging.getLogger(__name__)

KEY_FILE = "signing.key"
MODE = 0o600
#: a PEM Ed25519 key is about 120 bytes; anything much larger is not one
_MAX_KEY_FILE_BYTES = 16 * 1024


class SigningKeyError(KnownError):
    """The signing key file is missing, unreadable, not an Ed25519 key, or must not be replaced."""


def key_path(setting: str, db_url: str) -> Path:
    """The key file: ``setting`` if given, else ``signing.key`` beside the SQLite database or here."""
    if setting:
        return Path(setting)
    db_file = sqlite_path(db_url)
    return Path(db_file).parent / KEY_FILE if db_file else Path(KEY_FILE)


def create(path: Path) -> Ed25519PrivateKey:
    """Write a new key to ``path`` (mode 0600); an existing file is never replaced."""
    if path.exists():
        raise SigningKeyError(f"{path} already exists; to change keys: a2d server signing-key rotate")
    key = _write_key(path, replace=False)
    log.info("created signing key %s", path)
    return key


def _write_key(path: Path, *, replace: bool) -> Ed25519PrivateKey:
    key = new_private_key()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_new(path, pem, replace=replace)
    except OSError as exc:
        raise SigningKeyError(f"cannot write the signing key {path}: {exc.strerror or exc}") from exc
    return key


def staged_path(path: Path) -> Path:
    return path.with_name(path.name + ".next")


def stage_next(path: Path) -> Ed25519PrivateKey:
    """The new key of a rotation, written beside ``path``; one left by an interrupted rotation is reused."""
    staged = staged_path(path)
    if staged.exists():
        key = load(staged)
        log.info("resuming the rotation to the key %s in %s", key_id(key), staged)
        return key
    return _write_key(staged, replace=True)


def _retired_prefix(path: Path) -> str:
    return f"{path.name}.retired-"


def retired_path(path: Path, old_key_id: str, until: datetime) -> Path:
    return path.with_name(f"{_retired_prefix(path)}{old_key_id}-until-{until.astimezone(UTC):%Y%m%dT%H%M%SZ}")


def finish_rotation(path: Path, old_key_id: str, until: datetime) -> Path:
    """Rename the old key file to its retired name and put the staged new key in its place."""
    retired = retired_path(path, old_key_id, until)
    try:
        os.replace(path, retired)
        os.replace(staged_path(path), path)
        _sync_folder(path.parent)
    except OSError as exc:
        raise SigningKeyError(
            f"cannot move the rotated key files beside {path}: {exc.strerror or exc}"
        ) from exc
    return retired


def remove_expired(path: Path, now: datetime) -> list[Path]:
    """Delete the retired key files beside ``path`` whose time has passed; the ones removed."""
    removed = []
    for old in sorted(path.parent.glob(_retired_prefix(path) + "*-until-*")):
        try:
            until = datetime.strptime(old.name.rsplit("-until-", 1)[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            continue
        if now >= until:
            old.unlink(missing_ok=True)
            log.info("deleted the retired signing key %s (its time is up)", old)
            removed.append(old)
    return removed


def _write_new(path: Path, data: bytes, *, replace: bool) -> None:
    """Write ``data`` to a fresh temporary file beside ``path``, then move it into place atomically."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        try:
            os.fchmod(fd, MODE)  # whatever the umask
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # unlike a rename, fails if someone created the file meanwhile
            except FileExistsError:
                raise SigningKeyError(
                    f"{path} already exists; to change keys: a2d server signing-key rotate"
                ) from None
    finally:
        tmp.unlink(missing_ok=True)
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load(path: Path) -> Ed25519PrivateKey:
    """The private key in ``path``; a one-line :class:`SigningKeyError` for anything else."""
    try:
        with path.open("rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            data = f.read(_MAX_KEY_FILE_BYTES + 1)
    except FileNotFoundError:
        raise SigningKeyError(
            f"there is no signing key at {path}: create one with a2d server signing-key --key {path}"
        ) from None
    except OSError as exc:
        raise SigningKeyError(f"cannot read the signing key {path}: {exc.strerror or exc}") from exc
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} holds no Ed25519 private key in PEM without a passphrase")
    if stat.S_IMODE(mode) & 0o077:
        log.warning("the signing key %s can be read by others than its owner: chmod 600 %s", path, path)
    return key
