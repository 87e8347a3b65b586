"""Staff passwords: argon2id hashes (argon2-cffi's defaults: 64 MiB, 3 passes, 4 lanes), a minimum
length, and a verification that takes as long for a user who does not exist as for one who does."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from a2d.errors import KnownError

#: shorter passwords are refused (NIST SP 800-63B asks at least 8; staff reach the fleet with it)
MIN_LENGTH = 10
#: longer ones too: hashing megabytes of "password" is a way to make the server busy
MAX_LENGTH = 256

_hasher = PasswordHasher()  # argon2id; its parameters travel inside every hash it writes
#: verified against when the user does not exist, so that the answer takes as long
_DUMMY = _hasher.hash("not a password of anyone")


class WeakPassword(KnownError, ValueError):
    """A password shorter than :data:`MIN_LENGTH` (or absurdly long); the text says which."""


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"the password is too short: at least {MIN_LENGTH} characters, please")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"the password is too long: at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    """The argon2id hash of a password that passed :func:`check_strength` (checked here again)."""
    check_strength(password)
    return _hasher.hash(password)


def verify(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches the ``stored`` hash; ``None`` (no such user) costs the same time."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
