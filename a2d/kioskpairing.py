"""The agent's list of paired kiosks (``kiosks.json`` in ``device.data_dir``): its name, format and tokens.

The edge agent reads and writes the file (``a2d edge kiosk add``); provisioning writes its first
entry on a new device, so the kiosk beside the agent is paired before either starts. A kiosk token
is :data:`TOKEN_PREFIX` and 32 random bytes (URL-safe base64); the file keeps only its SHA-256.
"""

from __future__ import annotations

import hashlib
import secrets

FILE = "kiosks.json"
FORMAT = "a2d-kiosks/1"
#: so that a leaked kiosk token is recognisable for what it is
TOKEN_PREFIX = "a2dk_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The hex SHA-256 the list keeps (a random 256-bit secret needs no slow hash)."""
    return hashlib.sha256(token.encode()).hexdigest()
