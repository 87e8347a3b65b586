"""Writing into a device's root file system, which may be ``/`` or a folder standing in for it.

Every path is taken below ``root`` and never leaves it: the bundle names only known file names,
and links are made with the target the device will see (``/etc/systemd/system/...``), which may
not exist on the machine that writes them. Users are looked up in ``root/etc/passwd`` itself, not
in this machine's user database, since the two differ when ``root`` is not ``/``.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from a2d.errors import KnownError


class RootError(KnownError):
    """Something under the root cannot be written; the message names it."""


def under(root: Path, path: str) -> Path:
    """``path`` as the device names it (``/etc/a2d/edge.toml``), found below ``root``."""
    inside = Path(path.lstrip("/"))
    if ".." in inside.parts:
        raise RootError(f"{path!r} climbs out of the root")
    return root / inside


def users(root: Path) -> dict[str, tuple[int, int]]:
    """User name -> (uid, gid) from ``root/etc/passwd`` (empty when there is none)."""
    found: dict[str, tuple[int, int]] = {}
    try:
        text = (root / "etc" / "passwd").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return found
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and fields[2].isdigit() and fields[3].isdigit():
            found[fields[0]] = (int(fields[2]), int(fields[3]))
    return found


def write_file(target: Path, data: bytes, mode: int, owner: tuple[int, int] | None = None) -> None:
    """Replace ``target`` atomically by ``data`` with ``mode`` (and ``owner`` when root may set it)."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            os.fchmod(fd, mode)  # whatever the umask
            if owner is not None and os.geteuid() == 0:
                os.fchown(fd, *owner)
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise RootError(f"cannot write {target}: {exc.strerror or exc}") from None


def make_dir(path: Path, mode: int, owner: tuple[int, int] | None = None) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, mode)
        if owner is not None and os.geteuid() == 0:
            os.chown(path, *owner)
    except OSError as exc:
        raise RootError(f"cannot make {path}: {exc.strerror or exc}") from None


def link(path: Path, target: str) -> None:
    """``path`` a symbolic link to ``target`` (as the device sees it), replacing another link there."""
    try:
        if os.path.islink(path):
            if os.readlink(path) == target:
                return
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, path)
    except OSError as exc:
        raise RootError(f"cannot link {path} to {target}: {exc.strerror or exc}") from None


def shred(path: Path) -> None:
    """Overwrite ``path`` with zeros, flush, then delete it.

    On an SD card's flash the old blocks may survive the overwrite (wear levelling moves writes),
    so this makes the secret unreadable through the file system, which is what a card put into
    another computer offers; it is no guarantee against reading the chips.
    """
    try:
        size = path.stat().st_size
        with open(path, "r+b") as fh:
            fh.write(b"\0" * size)
            fh.flush()
            os.fsync(fh.fileno())
        path.unlink()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise RootError(f"cannot delete {path}: {exc.strerror or exc}") from None
