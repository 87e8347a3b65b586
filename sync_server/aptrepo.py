"""The town's signed APT repository: a folder apt reads, made from built ``.deb`` files.

The layout is Debian's (``man 5 sources.list``, the "Debian Repository Format")::

    pool/main/a/a2d/a2d_0.1.0_arm64.deb          every version published, kept (an admin can go back)
    dists/bookworm/main/binary-arm64/Packages    one stanza per .deb: its control fields, Filename, Size, hashes
    dists/bookworm/main/binary-arm64/Packages.gz
    dists/bookworm/main/binary-arm64/by-hash/SHA256/<hash>   the same, by hash (Acquire-By-Hash)
    dists/bookworm/Release                       the index files' sizes and hashes
    dists/bookworm/InRelease, Release.gpg        Release signed with the town's OpenPGP key

apt trusts nothing here but the signature on ``Release`` (checked against the key the device was
given) and, through it, the hashes of ``Packages`` and of each ``.deb``. With by-hash, a device that
reads the repository while it is being published gets either the old or the new index, never a
``Release`` whose hashes do not match. Publishing takes a lock, so two publishes do not interleave.
"""

from __future__ import annotations

import email.utils
import fcntl
import gzip
import hashlib
import logging
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from a2d.errors import KnownError

from . import aptkey

log = logging.getLogger(__name__)

SUITE = "bookworm"
COMPONENT = "main"
#: indexes are written for these even when no package of theirs is published yet, so a Pi (arm64)
#: and a town's server (amd64) both read the repository without a warning
ARCHES = ("amd64", "arm64")
#: the Release's Origin and Label: what unattended-upgrades' Origins-Pattern matches
ORIGIN = "a2d"
_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
_VERSION = re.compile(r"^(?:[0-9]+:)?[A-Za-z0-9][A-Za-z0-9.+~-]*$")
_ARCH = re.compile(r"^[a-z0-9][a-z0-9-]*$")
#: fields the index writes itself; a control file that has them is not trusted for them
_INDEX_FIELDS = {"filename", "size", "md5sum", "sha1", "sha256"}


class AptRepoError(KnownError):
    """A package cannot be published (not a .deb, a bad name, a version already there)."""


@dataclass(frozen=True)
class Deb:
    """A package file and the fields of its control file that place it in the repository."""

    path: Path
    package: str
    version: str
    arch: str
    control: str

    def pool_path(self) -> str:
        """Where it lies in the repository, e.g. ``pool/main/a/a2d/a2d_0.1.0_arm64.deb``."""
        upstream = self.version.split(":", 1)[-1]  # the epoch is not part of a file name
        return f"pool/{COMPONENT}/{self.package[0]}/{self.package}/{self.package}_{upstream}_{self.arch}.deb"


def read_deb(path: Path) -> Deb:
    """The control file of ``path`` (through ``dpkg-deb``), checked to give a safe file name."""
    if shutil.which("dpkg-deb") is None:
        raise AptRepoError("dpkg-deb is missing: apt-get install dpkg")
    proc = subprocess.run(["dpkg-deb", "--field", str(path)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise AptRepoError(f"{path} is not a Debian package: {proc.stderr.strip()[-300:]}")
    control = proc.stdout.rstrip("\n")
    fields = parse_fields(control)
    package, version, arch = (fields.get(k, "") for k in ("package", "version", "architecture"))
    if not (_NAME.match(package) and _VERSION.match(version) and _ARCH.match(arch)):
        raise AptRepoError(
            f"{path}: Package {package!r}, Version {version!r} or Architecture {arch!r} is not valid"
        )
    return Deb(path, package, version, arch, control)


def parse_fields(control: str) -> dict[str, str]:
    """The first line of each field of a control stanza, by lower-case name.

    >>> parse_fields("Package: a2d\\nDescription: x\\n more\\nVersion: 1")["version"]
    '1'
    """
    out: dict[str, str] = {}
    for line in control.splitlines():
        if line and not line[0].isspace() and ":" in line:
            name, value = line.split(":", 1)
            out[name.strip().lower()] = value.strip()
    return out


def _stanza(deb: Deb, data: bytes) -> str:
    kept = []
    skipping = False
    for line in deb.control.splitlines():
        if line and not line[0].isspace():
            skipping = line.split(":", 1)[0].strip().lower() in _INDEX_FIELDS
        if not skipping:
            kept.append(line)
    kept += [
        f"Filename: {deb.pool_path()}",
        f"Size: {len(data)}",
        f"MD5sum: {hashlib.md5(data).hexdigest()}",
        f"SHA1: {hashlib.sha1(data).hexdigest()}",
        f"SHA256: {hashlib.sha256(data).hexdigest()}",
    ]
    return "\n".join(kept) + "\n"


def packages_text(debs: Iterable[tuple[Deb, bytes]]) -> str:
    """A ``Packages`` index of ``debs`` (each with its bytes), one stanza each, blank-line separated."""
    return "\n".join(_stanza(deb, data) for deb, data in debs)


def release_text(files: dict[str, bytes], arches: Sequence[str], suite: str, now: datetime) -> str:
    """The ``Release`` file naming each index file (path relative to ``dists/SUITE``) with its size
    and MD5 and SHA256 hashes."""
    head = [
        f"Origin: {ORIGIN}",
        f"Label: {ORIGIN}",
        f"Suite: {suite}",
        f"Codename: {suite}",
        f"Date: {email.utils.format_datetime(now, usegmt=True).replace('GMT', 'UTC')}",
        f"Architectures: {' '.join(arches)}",
        f"Components: {COMPONENT}",
        "Acquire-By-Hash: yes",
        "Description: analog2digital software updates",
    ]
    sums = []
    for title, algo in (("MD5Sum", hashlib.md5), ("SHA256", hashlib.sha256)):
        sums.append(f"{title}:")
        sums += [f" {algo(data).hexdigest()} {len(data):>10} {name}" for name, data in sorted(files.items())]
    return "\n".join(head + sums) + "\n"


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.chmod(0o644)
    partial.rename(path)


def _add_to_pool(repo: Path, deb: Deb) -> bool:
    """Copy ``deb`` into the pool; ``False`` when that very file is there already. A different file
    under the same name is refused: devices that cached the first would see a hash mismatch."""
    target = repo / deb.pool_path()
    data = deb.path.read_bytes()
    if target.exists():
        if target.read_bytes() == data:
            return False
        raise AptRepoError(
            f"{deb.package} {deb.version} ({deb.arch}) is published already with other content:"
            " build it with a new version (make deb DEB_VERSION=...)"
        )
    _write_atomic(target, data)
    return True


def publish(
    repo: Path, debs: Sequence[Path], key: Path, suite: str = SUITE, now: datetime | None = None
) -> list[str]:
    """Add ``debs`` to the repository in ``repo`` (made when missing) and write its indexes and
    signed ``Release`` again; the pool paths added (a file published before is not added twice).
    With no ``debs`` the indexes are only written and signed again."""
    if not _NAME.match(suite):
        raise AptRepoError(f"suite {suite!r} is not a valid name")
    new = [read_deb(path) for path in debs]  # all checked before anything is written
    repo.mkdir(parents=True, exist_ok=True)
    with open(repo / ".publish.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        added = [deb.pool_path() for deb in new if _add_to_pool(repo, deb)]
        pool = sorted((repo / "pool").rglob("*.deb")) if (repo / "pool").is_dir() else []
        published = [(read_deb(path), path.read_bytes()) for path in pool]
        arches = sorted(set(ARCHES) | {deb.arch for deb, _ in published if deb.arch != "all"})
        dist = repo / "dists" / suite
        files: dict[str, bytes] = {}
        for arch in arches:
            text = packages_text((d, b) for d, b in published if d.arch in (arch, "all")).encode()
            folder = f"{COMPONENT}/binary-{arch}"
            files[f"{folder}/Packages"] = text
            files[f"{folder}/Packages.gz"] = gzip.compress(text, mtime=0)
        for name, data in files.items():
            by_hash = dist / Path(name).parent / "by-hash" / "SHA256" / hashlib.sha256(data).hexdigest()
            _write_atomic(by_hash, data)
            _write_atomic(dist / name, data)
        release = release_text(files, arches, suite, now or datetime.now(UTC)).encode()
        _write_atomic(dist / "Release.new", release)
        inline, detached = aptkey.sign_release(key, dist / "Release.new")
        _write_atomic(dist / "Release.gpg", detached)
        (dist / "Release.new").rename(dist / "Release")
        _write_atomic(dist / "InRelease", inline)
    log.info("published %s into %s (%d packages)", ", ".join(added) or "nothing new", repo, len(published))
    return added


def sources_text(url: str, public_key: str, suite: str = SUITE) -> str:
    """The device's ``/etc/apt/sources.list.d/a2d.sources`` (deb822): the repository at ``url``,
    trusted only with ``public_key`` (armored, written into ``Signed-By`` itself)."""
    key_lines = [" " + (line if line.strip() else ".") for line in public_key.strip().splitlines()]
    return (
        "# a2d: the town's software updates, signed with the town's key (docs/provisioning-appliance.md)\n"
        "Types: deb\n"
        f"URIs: {url}\n"
        f"Suites: {suite}\n"
        f"Components: {COMPONENT}\n"
        "Signed-By:\n" + "\n".join(key_lines) + "\n"
    )
