"""The error answers the routes share, for the OpenAPI document."""

from __future__ import annotations

from typing import Any

_DETAIL = {"application/json": {"schema": {"type": "object", "properties": {"detail": {"type": "string"}}}}}


def _error(text: str) -> dict[str, Any]:
    return {"description": text, "content": _DETAIL}


ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error("malformed body: not JSON, not gzip, or not the shape the protocol asks for"),
    401: _error("no bearer token, or an unknown or revoked one"),
    403: _error("the token belongs to another device than the one in the path"),
    413: _error("the body (compressed or inflated) or the batch is too large"),
    415: _error("a Content-Encoding other than gzip"),
    422: _error(
        "a record (or heartbeat) the server cannot store: unknown stream, a time that is no ISO 8601,"
        " a NUL character, or data the database refuses; the detail names the record"
    ),
    503: _error("the database is unavailable; retry later"),
}
ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {401: _error("no admin token"), 503: ERRORS[503]}
OPENDATA_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error("a bad time, quantity or limit, or more matching rows than the limit"),
    503: ERRORS[503],
}
