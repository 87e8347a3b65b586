"""``GET /api/v1/devices/{device_id}/bundles/{kind}``: a device fetches its signed bundle.

The server only hands out what ``a2d server bundle publish`` or ``upload`` stored, byte for byte; it
holds no private key and keeps nothing in memory, so any number of processes can serve the same
database.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Response

from a2d import bundles

from ..auth import DeviceId
from ..deps import DB
from .responses import ERRORS

router = APIRouter(tags=["devices"])

BUNDLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "format",
        "kind",
        "version",
        "counter",
        "target",
        "sha256",
        "size",
        "content",
        "key_id",
        "signature",
    ],
    "properties": {
        "format": {"type": "string", "const": bundles.FORMAT},
        "kind": {"type": "string", "enum": list(bundles.KINDS)},
        "version": {"type": "string", "examples": ["2026-06-02T08:00:00.000000Z"]},
        "counter": {"type": "integer", "minimum": 1, "description": "grows with every bundle of the kind"},
        "target": {"type": "string", "examples": ["all", "site:rathaus", "device:edge-rathaus-1"]},
        "sha256": {"type": "string", "description": "hex SHA-256 of the content bytes"},
        "size": {"type": "integer", "description": "length of the content in bytes"},
        "content": {"type": "string", "contentEncoding": "base64"},
        "key_id": {"type": "string", "description": "hex of the first 8 bytes of SHA-256 of the public key"},
        "signature": {"type": "string", "contentEncoding": "base64", "description": "Ed25519"},
    },
}
#: devices must ask again each time (a proxy may keep a copy but not serve it unchecked)
_CACHE = {"Cache-Control": "no-cache"}


def matches(if_none_match: str | None, tag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``tag`` or ``*`` (weak comparison, RFC 9110)."""
    if not if_none_match:
        return False
    return any(t.strip() == "*" or t.strip().removeprefix("W/") == tag for t in if_none_match.split(","))


@router.get(
    bundles.bundle_path("{device_id}", "{kind}"),
    summary="Download a signed bundle",
    response_class=Response,
    responses={
        200: {
            "description": "the signed bundle document",
            "content": {"application/json": {"schema": BUNDLE_SCHEMA}},
            "headers": {
                "ETag": {
                    "description": "the bundle's counter and sha256 in quotes",
                    "schema": {"type": "string"},
                }
            },
        },
        304: {"description": "the device already has this bundle (If-None-Match named its ETag)"},
        401: ERRORS[401],
        403: ERRORS[403],
        404: {
            "description": "no bundle of this kind for the device, or not a kind (keys, config, content, model)"
        },
        503: ERRORS[503],
    },
)
def download_bundle(
    kind: str,
    device: DeviceId,
    db: DB,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The most specific bundle of `kind` (`keys`, `config`, `content` or `model`) for the device:
    its own, else its site's, else the one for every device; `404` if there is none.

    The answer is the signed document exactly as it was published: `format`, `kind`, `version`,
    `counter`, `target`, `sha256`, `size`, `content` (base64), `key_id` and `signature` (base64
    Ed25519 over format, kind, version, counter, target, sha256 and size). The device checks the
    signature with the keys it trusts, the hash, the target and that the counter is above the last
    it applied before it applies anything. `ETag` is counter and sha256 in quotes; a request whose
    `If-None-Match` names it gets `304` without a body. Same `401`/`403` rules as uploads: a device
    fetches only its own bundles.
    """
    if kind not in bundles.KINDS:
        raise HTTPException(404, f"no bundle kind {kind!r}: use one of {', '.join(bundles.KINDS)}")
    head = db.bundle_for(device, kind)
    if head is None:
        raise HTTPException(404, f"no {kind} bundle is published for {device}")
    if matches(if_none_match, bundles.etag(head.counter, head.sha256)):
        return Response(status_code=304, headers={"ETag": bundles.etag(head.counter, head.sha256), **_CACHE})
    found = db.bundle_document(head.target, kind)
    if found is None:  # cannot happen while bundles are only ever replaced, never deleted
        raise HTTPException(404, f"no {kind} bundle is published for {device}")
    counter, sha256, document = found  # read together: a publish in between cannot mismatch tag and body
    return Response(
        document.encode(),
        media_type="application/json",
        headers={"ETag": bundles.etag(counter, sha256), **_CACHE},
    )
