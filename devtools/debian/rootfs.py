"""A Debian root folder for building and testing the package, made once and cached.

debootstrap takes minutes, so the folder is made once per suite, architecture and package list and
kept under the cache (``~/.cache/a2d/rootfs-<key>``, outside the checkout; ``A2D_CACHE`` moves it).
It is never changed after that: every build and every test works in a copy (:func:`copy_of`), so a
test cannot leave something behind that the next one relies on.

:class:`Chroot` runs commands inside such a copy with ``/proc`` and ``/dev`` mounted, and unmounts
them again when the ``with`` block ends, whatever happened inside it.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

SUITE = "bookworm"
#: where this machine's apt looks for Debian: the default mirror of the root folder
APT_SOURCES = (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list"))
#: what the build and the tests need beyond debootstrap's minimal base: the target's Python with
#: venv (the package's venv is made with it), certificates for pip, and what the package depends on
PACKAGES = ("python3", "python3-venv", "ca-certificates")
#: bump when the way the folder is made changes, so that old caches are not taken for new ones
FORMAT = "1"
#: a path for commands run inside the root folder (debootstrap's chroot has no login shell's PATH)
CHROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def cache_dir() -> Path:
    """Where root folders and built packages are kept: ``$A2D_CACHE`` or ``~/.cache/a2d``."""
    return Path(os.environ.get("A2D_CACHE") or Path.home() / ".cache" / "a2d")


def host_arch() -> str:
    return subprocess.run(
        ["dpkg", "--print-architecture"], check=True, capture_output=True, text=True
    ).stdout.strip()


def host_mirror(sources: Sequence[Path] = APT_SOURCES) -> str:
    """The Debian mirror this machine's apt uses (its first ``deb`` source that is not the security
    archive), so the root folder comes from wherever the machine's own packages come from."""
    for path in sources:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        for line in text.splitlines():
            words = line.split()
            if path.suffix == ".sources" and words[:1] == ["URIs:"]:
                urls = words[1:]
            elif words[:1] == ["deb"]:
                urls = [w for w in words[1:] if "://" in w][:1]
            else:
                continue
            for url in urls:
                if "security" not in url:
                    return url
    raise RuntimeError("no Debian mirror found in this machine's apt sources: set A2D_DEBIAN_MIRROR to one")


@dataclass(frozen=True)
class RootSpec:
    """What a root folder is made of; two specs with the same :meth:`key` make the same folder."""

    suite: str = SUITE
    mirror: str = field(default_factory=lambda: os.environ.get("A2D_DEBIAN_MIRROR") or host_mirror())
    packages: tuple[str, ...] = PACKAGES
    arch: str = field(default_factory=host_arch)

    def key(self) -> str:
        """A short hash of the suite, architecture and sorted package list (not the mirror: any
        mirror of the suite gives the same folder)."""
        text = "\n".join([FORMAT, self.suite, self.arch, *sorted(self.packages)])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def path(self) -> Path:
        return cache_dir() / f"rootfs-{self.suite}-{self.arch}-{self.key()}"


def ensure(spec: RootSpec | None = None) -> Path:
    """The cached root folder of ``spec``, made with debootstrap if it is not there yet.

    A folder counts only once debootstrap finished (it is made under a temporary name and renamed),
    and a lock keeps two processes from making the same folder at once.
    """
    spec = spec or RootSpec()
    target = spec.path()
    if (target / ".a2d-complete").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / ".a2d-complete").exists():
            return target
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        log.info("making a %s root folder in %s (once; takes a few minutes)", spec.suite, target)
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--arch={spec.arch}",
                f"--include={','.join(spec.packages)}",
                spec.suite,
                str(partial),
                spec.mirror,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        # debootstrap leaves its own apt lists and .debs behind; the copies need neither
        subprocess.run(["chroot", str(partial), "apt-get", "clean"], check=True, env={"PATH": CHROOT_PATH})
        (partial / ".a2d-complete").write_text(spec.key() + "\n")
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
    return target


def copy_of(root: Path, dest: Path) -> Path:
    """A full copy of ``root`` at ``dest`` (owners, modes, links and device files kept)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", "--reflink=auto", str(root), str(dest)], check=True)
    return dest


class ChrootError(RuntimeError):
    """A command inside the root folder failed; the message ends with what it printed."""


class Chroot:
    """Commands run inside a root folder; use :func:`mounted` to get one."""

    def __init__(self, root: Path, env: Mapping[str, str] | None = None) -> None:
        self.root = root
        self.env = dict(env or {})

    def run(
        self,
        args: Sequence[str],
        env: Mapping[str, str] | None = None,
        check: bool = True,
        timeout: float = 600,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``args`` inside the folder; output captured as text."""
        full_env = {
            "PATH": CHROOT_PATH,
            "LC_ALL": "C.UTF-8",
            "HOME": "/root",
            "DEBIAN_FRONTEND": "noninteractive",
        }
        full_env.update(self.env)
        full_env.update(env or {})
        proc = subprocess.run(
            ["chroot", str(self.root), *args],
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
        )
        if check and proc.returncode != 0:
            raise ChrootError(
                f"{' '.join(args)} exited {proc.returncode}: {(proc.stderr or proc.stdout)[-2000:]}"
            )
        return proc

    def sh(self, script: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return self.run(["/bin/sh", "-ec", script], check=check, timeout=timeout)


HOST_CA = "/etc/ssl/certs/ca-certificates.crt"
BUILD_CA = "/etc/a2d-build-ca.crt"


def _mount(args: Sequence[str]) -> None:
    subprocess.run(["mount", *args], check=True)


def _umount(path: Path) -> None:
    if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
        # something inside still holds it open: detach it now, the kernel finishes when it is free
        subprocess.run(["umount", "--lazy", str(path)], check=True)


@contextmanager
def mounted(root: Path, network: bool = False, binds: Mapping[Path, str] | None = None) -> Iterator[Chroot]:
    """``root`` with ``/proc`` and ``/dev`` mounted, and each folder of ``binds`` at its path inside;
    all are unmounted when the block ends.

    With ``network``, the machine's ``/etc/resolv.conf`` is copied in (pip inside the folder then
    reaches the package index); without it the folder keeps its own.
    """
    done: list[Path] = []
    points = [("proc", ["-t", "proc", "proc"]), ("dev", ["--bind", "/dev"])]
    points += [(inside.lstrip("/"), ["--bind", str(outside)]) for outside, inside in (binds or {}).items()]
    try:
        for name, args in points:
            point = root / name
            point.mkdir(parents=True, exist_ok=True)
            _mount([*args, str(point)])
            done.append(point)
        env = {}
        if network:
            resolv = root / "etc" / "resolv.conf"
            resolv.unlink(missing_ok=True)
            shutil.copyfile("/etc/resolv.conf", resolv)
            # pip inside trusts what this machine trusts (a site's own CA for its proxy included);
            # the copy lies outside /opt, so it never reaches the package
            shutil.copyfile(os.environ.get("SSL_CERT_FILE") or HOST_CA, root / BUILD_CA.lstrip("/"))
            env["PIP_CERT"] = BUILD_CA
        yield Chroot(root, env)
    finally:
        for point in reversed(done):
            _umount(point)


def mounts_under(root: Path) -> list[str]:
    """Mount points at or below ``root`` (the tests check that none is left)."""
    prefix = str(root.resolve())
    points = []
    with open("/proc/self/mounts") as f:
        for line in f:
            point = line.split()[1].replace("\\040", " ")
            if point == prefix or point.startswith(prefix + "/"):
                points.append(point)
    return points
