"""Request bodies with bounds: read at most N bytes, gunzip at most N bytes, never more.

A gzip bomb is stopped while it is being inflated: zlib is asked for one byte more than the
limit, so memory never holds more than ``limit + 1`` inflated bytes.
"""

from __future__ import annotations

import zlib

from starlette.requests import Request


class BodyError(Exception):
    """A body the server will not take: ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def too_large(limit: int) -> BodyError:
    return BodyError(413, f"the body exceeds {limit} bytes")


async def read(request: Request, limit: int) -> bytes:
    """The raw (possibly compressed) body, refused with 413 as soon as it exceeds ``limit``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def decode(raw: bytes, content_encoding: str | None, limit: int) -> bytes:
    """The body as sent before ``Content-Encoding`` (identity or gzip), at most ``limit`` bytes."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "identity":
        return raw
    if encoding in ("gzip", "x-gzip"):
        return gunzip(raw, limit)
    raise BodyError(415, f"unsupported Content-Encoding {content_encoding!r}: send gzip or nothing")


def gunzip(data: bytes, limit: int) -> bytes:
    """Inflate gzip ``data`` (one or more members); 413 past ``limit`` bytes, 400 if corrupt or cut.

    The usual body, one member inflated in one call, is returned as zlib made it, not copied again.
    """
    parts: list[bytes] = []
    size = 0
    rest = data
    try:
        while True:
            member = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            tail = rest
            while True:  # max_length is at least 1 here (0 would mean no limit)
                part = member.decompress(tail, limit + 1 - size)
                parts.append(part)
                size += len(part)
                tail = member.unconsumed_tail
                if not tail or size > limit:
                    break
            if size > limit:
                raise too_large(limit)
            if not member.eof:
                raise BodyError(400, "the gzip body is truncated")
            rest = member.unused_data
            if not rest.strip(b"\0"):
                return parts[0] if len(parts) == 1 else b"".join(parts)
    except zlib.error as exc:
        raise BodyError(400, f"the gzip body is corrupt: {exc}") from exc
