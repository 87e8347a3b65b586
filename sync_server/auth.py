"""Bearer-token checks for the routes: a device writes only its own data; admins see everything.

* no token, an unknown token or a revoked device's token → ``401``
* a valid token of another device than the one in the path → ``403``
* admin endpoints accept the token ``a2d server admin-token`` stored (hashed) or the one in
  ``A2D_SERVER_ADMIN_TOKEN``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .deps import DB, Settings
from .registry import hash_token, token_matches

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="`Authorization: Bearer <token>`: the device's own token, or the admin token",
)
_CHALLENGE = {"WWW-Authenticate": "Bearer"}
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or not credentials.credentials:
        raise HTTPException(401, "a bearer token is required", headers=_CHALLENGE)
    return credentials.credentials


def authenticated_device(device_id: str, credentials: Credentials, db: DB) -> str:
    """The path's ``device_id`` once the bearer token proved to be that device's."""
    token = _token(credentials)
    if token_matches(token, db.device_token_hash(device_id)):
        return device_id
    if db.device_with_token(hash_token(token)) is not None:
        raise HTTPException(403, "this token belongs to another device")
    raise HTTPException(401, "unknown or revoked token", headers=_CHALLENGE)


def admin(credentials: Credentials, db: DB, settings: Settings) -> None:
    """Let the request through only with an admin token."""
    token = _token(credentials)
    from_env = hash_token(settings.admin_token) if settings.admin_token else None
    if not (token_matches(token, from_env) or token_matches(token, db.admin_token_hash())):
        raise HTTPException(401, "an admin token is required", headers=_CHALLENGE)


#: a route parameter holding the path's device id, authenticated
DeviceId = Annotated[str, Depends(authenticated_device)]
