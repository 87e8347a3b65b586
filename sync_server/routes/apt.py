"""``GET /apt/{path}``: the town's signed APT repository, read-only, for devices' apt.

No token: what is served is the published software and its indexes, nothing secret, and apt
trusts it only through the OpenPGP signature on ``InRelease`` and the hashes it names, checked
against the key the device was given. Only regular files inside the repository folder are served;
a path with a hidden or ``..`` part, a folder, or a link leading out of the folder is a 404, and
nothing is ever listed. The listener's deadlines and per-client caps hold here as on every route.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from ..config import apt_paths
from ..deps import Settings

router = APIRouter(tags=["software updates"])

PREFIX = "/apt"
_PART = re.compile(r"^[A-Za-z0-9_+~-][A-Za-z0-9._+~-]*$")
_MAX_PARTS = 12


def resolve(repo: Path, path: str) -> Path | None:
    """The file ``path`` names inside ``repo``, or ``None`` when it may not be served.

    >>> resolve(Path("/nonexistent"), "../etc/passwd") is None
    True
    """
    parts = path.split("/")
    if not parts or len(parts) > _MAX_PARTS or not all(_PART.match(p) for p in parts):
        return None
    if any(p.endswith(".partial") or p.endswith(".lock") for p in parts):
        return None
    try:
        base = repo.resolve(strict=True)
        target = base.joinpath(*parts).resolve(strict=True)
    except OSError:
        return None
    if not target.is_relative_to(base) or not target.is_file():
        return None
    return target


@router.get(
    f"{PREFIX}/{{path:path}}",
    summary="Software updates: the signed APT repository",
    responses={404: {"description": "no such file in the repository"}},
)
def apt_file(path: str, settings: Settings) -> FileResponse:
    """One file of the APT repository `a2d server apt publish` writes (`server.apt_repo`):
    `dists/<suite>/InRelease`, its `Packages` indexes, the `.deb` files in `pool/`. Needs no token;
    apt checks the signature and the hashes itself. Folders are not listed."""
    repo, _ = apt_paths(settings)
    target = resolve(repo, path)
    if target is None:
        raise HTTPException(status_code=404, detail="no such file in the APT repository")
    return FileResponse(target, media_type="application/octet-stream")
