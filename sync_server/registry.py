"""Device ids and tokens: how a NAME becomes an id, how tokens are made, hashed and compared.

A device id is a slug: lower-case ASCII letters and digits in groups joined by single hyphens,
at most 63 characters (``edge-rathaus-1``). ``a2d server device add NAME`` turns NAME into such
a slug (German umlauts spelled out, other accents dropped, everything else a hyphen), so a NAME
that already is a valid id is kept as it is; when that id is taken (also by a revoked device —
ids are never reused) it tries ``-2``, ``-3``, … until one is free.

Tokens are ``secrets.token_urlsafe(32)`` (256 random bits); the server keeps only their SHA-256
and compares hashes in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Iterator

MAX_ID_LENGTH = 63
_VALID_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_SPELLED_OUT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_MAX_SUFFIX = 9999


def is_device_id(text: str) -> bool:
    return len(text) <= MAX_ID_LENGTH and _VALID_ID.match(text) is not None


def slug(name: str) -> str:
    """``"Bürgerbüro Süd #2"`` → ``"buergerbuero-sued-2"``; ``"device"`` if nothing is left."""
    ascii_text = (
        unicodedata.normalize("NFKD", name.lower().translate(_SPELLED_OUT)).encode("ascii", "ignore").decode()
    )
    text = _NOT_ALNUM.sub("-", ascii_text.lower()).strip("-")
    return text[:MAX_ID_LENGTH].rstrip("-") or "device"


def device_id_candidates(name: str) -> Iterator[str]:
    """The ids to try for a new device called ``name``, best first."""
    base = slug(name)
    yield base
    for n in range(2, _MAX_SUFFIX + 1):
        suffix = f"-{n}"
        yield base[: MAX_ID_LENGTH - len(suffix)].rstrip("-") + suffix


def new_token() -> str:
    """256 random bits, URL-safe; never starting with "-", which a command line would take for an
    option (``a2d provision list --admin-token -x…``)."""
    token = secrets.token_urlsafe(32)
    return "A" + token if token.startswith("-") else token


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def token_matches(token: str, stored_hash: str | None) -> bool:
    """Whether ``token`` hashes to ``stored_hash``, compared in constant time."""
    return stored_hash is not None and hmac.compare_digest(hash_token(token), stored_hash)
