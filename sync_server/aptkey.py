"""The OpenPGP key the town's APT repository is signed with, through the system's ``gpg``.

apt checks a repository by an OpenPGP signature over its ``Release`` file, so this key is OpenPGP
(Ed25519), not the Ed25519 key of the bundles. The private key lives in one armored file (mode
0600); every use imports it into a throwaway GnuPG home that is deleted afterwards (its agent
stopped), so no keyring of the server's user is touched and nothing is left running.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from a2d.errors import KnownError

log = logging.getLogger(__name__)

#: the name the key carries (apt shows it when a signature fails)
USER_ID = "a2d software updates <a2d-apt@localhost>"
KEY_FILE = "apt-signing.asc"
PUBLIC_SUFFIX = ".pub"


class AptKeyError(KnownError):
    """The APT signing key is missing, exists already, or gpg failed."""


def public_path(private: Path) -> Path:
    """Where the public half of ``private`` is written: ``apt-signing.asc.pub`` beside it."""
    return private.with_name(private.name + PUBLIC_SUFFIX)


def _gpg_binary() -> str:
    gpg = shutil.which("gpg")
    if gpg is None:
        raise AptKeyError("gpg is missing: apt-get install gpg (apt repositories are signed with OpenPGP)")
    return gpg


@contextmanager
def _home() -> Iterator[Path]:
    home = Path(tempfile.mkdtemp(prefix="a2d-gpg-"))
    home.chmod(0o700)
    try:
        yield home
    finally:
        # gpg starts an agent per home; stop it before the home goes
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)


def _gpg(home: Path, args: Sequence[str], stdin: bytes | None = None) -> bytes:
    argv = [_gpg_binary(), "--batch", "--quiet", "--no-tty", "--homedir", str(home), *args]
    proc = subprocess.run(argv, input=stdin, capture_output=True, check=False, timeout=120)
    if proc.returncode != 0:
        raise AptKeyError(f"gpg failed: {proc.stderr.decode(errors='replace').strip()[-500:]}")
    return proc.stdout


def _fingerprint(home: Path) -> str:
    for line in _gpg(home, ["--with-colons", "--list-secret-keys"]).decode().splitlines():
        if line.startswith("fpr:"):
            return line.split(":")[9]
    raise AptKeyError("the key file holds no secret key")


def create(path: Path) -> str:
    """Make a new signing key in ``path`` (0600) and its public key beside it; its fingerprint.
    An existing key is never replaced."""
    if path.exists():
        raise AptKeyError(
            f"{path} already exists; remove it first to make a new key (devices then need the new public key)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with _home() as home:
        _gpg(home, ["--passphrase", "", "--pinentry-mode", "loopback",
                    "--quick-generate-key", USER_ID, "ed25519", "sign", "never"])  # fmt: skip
        fpr = _fingerprint(home)
        secret = _gpg(home, ["--armor", "--export-secret-keys", fpr])
        public = _gpg(home, ["--armor", "--export", fpr])
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(secret)
    public_path(path).write_bytes(public)
    log.info("created APT signing key %s (%s)", path, fpr)
    return fpr


def public_key(path: Path) -> str:
    """The armored public key of the key file ``path``."""
    if not path.is_file():
        raise AptKeyError(f"no APT signing key at {path}: make one with a2d server apt key")
    with _home() as home:
        _gpg(home, ["--import"], path.read_bytes())
        return _gpg(home, ["--armor", "--export", _fingerprint(home)]).decode()


def sign_release(path: Path, release: Path) -> tuple[bytes, bytes]:
    """``(InRelease, Release.gpg)`` for the file ``release``: a clear-signed copy and a detached
    armored signature, both with the key in ``path``."""
    if not path.is_file():
        raise AptKeyError(f"no APT signing key at {path}: make one with a2d server apt key")
    with _home() as home:
        _gpg(home, ["--import"], path.read_bytes())
        fpr = _fingerprint(home)
        common = ["--local-user", fpr, "--digest-algo", "SHA512", "--output", "-"]
        inline = _gpg(home, [*common, "--clearsign", str(release)])
        detached = _gpg(home, [*common, "--armor", "--detach-sign", str(release)])
    return inline, detached
