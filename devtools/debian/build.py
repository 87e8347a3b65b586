"""``make deb``: the appliance's Debian package, built with the target's own Python.

One package, ``a2d``, holds every app: the apps share one venv and one vocabulary, a Pi often runs
three of them, and first boot picks which units run by the device's role (see
``docs/provisioning-appliance.md``). The build:

1. copies the cached Debian root folder (:mod:`.rootfs`) and the project's sources into it;
2. inside it, makes ``/opt/a2d`` with that folder's ``python3 -m venv``, installs the locked
   requirements of the apps (:mod:`.lockset`, ``--require-hashes``, wheels only), then the project
   itself with no download, and runs ``pip check``;
3. lays out the package: the venv, ``/usr/bin/a2d``, the units found in ``images/systemd/``, the
   default configs under ``/etc/a2d`` (conffiles), the broker's configuration (from
   :func:`a2d.brokerconf.appliance_conf_text`), the nftables rule sets, the maintainer scripts of
   ``images/deb/``; and runs ``dpkg-deb --build``.

The result is cached under ``~/.cache/a2d/deb/<key>/``, keyed by the hash of everything that goes
into it (sources, lock, images/, version, root folder), so an unchanged tree is not built twice.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from a2d import __version__, brokerconf

from . import lockset, rootfs

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
#: what of the checkout goes into the package (and so into its cache key)
SOURCES = ("pyproject.toml", "README.md", "requirements.lock")
PACKAGES = (
    "a2d",
    "forecasting",
    "devtools",
    "edge_agent",
    "kiosk",
    "buttons_firmware_bridge",
    "sync_server",
    "provisioning",
)
IMAGE_PARTS = ("images/systemd", "images/deb", "images/nftables")
#: bump when the layout of the package changes without a change in the sources
FORMAT = "1"
OPT = "opt/a2d"
#: Debian packages a kiosk needs beside the venv (Kivy's GL, touch, speech); a server needs none
RECOMMENDS = ("mosquitto", "nftables", "libgl1", "libegl1", "libmtdev1", "espeak-ng")
_UNIT_USER = re.compile(r"^\s*User\s*=\s*([a-z_][a-z0-9_-]*)\s*$", re.M)


def source_files(root: Path = ROOT) -> list[Path]:
    """The checkout's files that go into the package, relative to ``root``, sorted: the sources the
    project's wheel is built from, and the parts of ``images/`` the package carries (not the
    pi-gen stage, which only uses the package). Caches and bytecode are left out."""
    out = [Path(name) for name in SOURCES]
    for top in (*PACKAGES, *IMAGE_PARTS):
        for path in (root / top).rglob("*"):
            rel = path.relative_to(root)
            if path.is_file() and "__pycache__" not in rel.parts and not path.name.endswith(".pyc"):
                out.append(rel)
    return sorted(out)


def cache_key(version: str, extras: Sequence[str], spec: rootfs.RootSpec, root: Path = ROOT) -> str:
    """A hash of everything the package is made of: file names and contents, version, extras, the
    root folder's key and this module's format."""
    h = hashlib.sha256()
    for part in (FORMAT, version, ",".join(extras), spec.key(), spec.arch):
        h.update(part.encode() + b"\0")
    for rel in source_files(root):
        h.update(str(rel).encode() + b"\0")
        h.update(hashlib.sha256((root / rel).read_bytes()).digest())
    return h.hexdigest()[:20]


def unit_users(units: Iterable[Path]) -> list[str]:
    """The ``User=`` of each unit, each name once, in order (postinst creates them).

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "x.service").write_text("[Service]\\nUser=a2d-edge\\n")
    >>> unit_users([d / "x.service"])
    ['a2d-edge']
    """
    seen: list[str] = []
    for unit in units:
        for name in _UNIT_USER.findall(unit.read_text()):
            if name not in seen and name != "root":
                seen.append(name)
    return seen


def deb_name(version: str, arch: str) -> str:
    return f"a2d_{version}_{arch}.deb"


def _copy_sources(dest: Path, root: Path = ROOT) -> None:
    for rel in source_files(root):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target)


def build_venv(
    work: Path, spec: rootfs.RootSpec, extras: Sequence[str], root: Path = ROOT
) -> tuple[Path, str]:
    """Make ``/opt/a2d`` inside a copy of the root folder; return that copy and its Python's
    ``major.minor``."""
    tree = rootfs.copy_of(rootfs.ensure(spec), work / "build-root")
    src = tree / "src" / "a2d"
    _copy_sources(src, root)
    (src / "requirements.appliance").write_text(
        lockset.subset_text(root / "requirements.lock", root / "pyproject.toml", extras)
    )
    # the wheels are kept between builds (pip download takes a file already there when its hash
    # matches), so a build after a change in the sources downloads nothing
    wheels = rootfs.cache_dir() / "wheels" / spec.arch
    wheels.mkdir(parents=True, exist_ok=True)
    with rootfs.mounted(tree, network=True, binds={wheels: "/wheels"}) as chroot:
        pyver = chroot.run(
            ["python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]
        ).stdout.strip()
        log.info("making /opt/a2d with the target's python%s", pyver)
        chroot.run(["python3", "-m", "venv", f"/{OPT}"])
        pip = f"/{OPT}/bin/pip"
        quiet = ["--quiet", "--disable-pip-version-check", "--no-input"]
        locked = ["--require-hashes", "--only-binary=:all:", "-r", "/src/a2d/requirements.appliance"]
        chroot.run([pip, "download", *quiet, "--dest", "/wheels", *locked])
        chroot.run([pip, "install", *quiet, "--no-index", "--find-links", "/wheels", *locked])
        # the project last: built by the locked setuptools already in the venv, nothing downloaded
        chroot.run([pip, "install", *quiet, "--no-deps", "--no-build-isolation", "--no-index", "/src/a2d"])
        chroot.run([pip, "check"])
        chroot.run([f"/{OPT}/bin/a2d", "--version"])
    return tree, pyver


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def lay_out(pkg: Path, tree: Path, version: str, arch: str, pyver: str, root: Path = ROOT) -> None:
    """Fill ``pkg`` with the package's files and its ``DEBIAN/`` folder."""
    images = root / "images"
    (pkg / "opt").mkdir(parents=True)
    subprocess.run(["cp", "-a", str(tree / OPT), str(pkg / "opt")], check=True)
    (pkg / "usr" / "bin").mkdir(parents=True)
    (pkg / "usr" / "bin" / "a2d").symlink_to(f"/{OPT}/bin/a2d")
    units = sorted((images / "systemd").glob("*.service")) + sorted((images / "systemd").glob("*.timer"))
    for unit in units:
        _write(pkg / "usr/lib/systemd/system" / unit.name, unit.read_text())
    _write(pkg / "usr/share/a2d/service-users", "".join(f"{u}\n" for u in unit_users(units)))
    for nft in sorted((images / "nftables").glob("*.nft")):
        _write(pkg / "usr/share/a2d/nftables" / nft.name, nft.read_text())
    for conf in sorted((images / "deb" / "etc").rglob("*")):
        if conf.is_file():
            _write(pkg / "etc" / conf.relative_to(images / "deb" / "etc"), conf.read_text())
    _write(pkg / "etc/mosquitto/conf.d/a2d.conf", brokerconf.appliance_conf_text())
    debian = pkg / "DEBIAN"
    debian.mkdir()
    for script in ("postinst", "prerm", "postrm"):
        _write(debian / script, (images / "deb" / script).read_text(), 0o755)
    conffiles = sorted("/" + str(p.relative_to(pkg)) for p in (pkg / "etc").rglob("*") if p.is_file())
    _write(debian / "conffiles", "".join(f"{c}\n" for c in conffiles))
    size_kib = int(
        subprocess.run(
            ["du", "-sk", "--exclude=DEBIAN", str(pkg)], check=True, capture_output=True, text=True
        ).stdout.split()[0]
    )
    major, minor = pyver.split(".")
    _write(
        debian / "control",
        f"Package: a2d\n"
        f"Version: {version}\n"
        f"Architecture: {arch}\n"
        "Maintainer: analog2digital <a2d@localhost>\n"
        f"Installed-Size: {size_kib}\n"
        # the venv is bound to the minor version of Python it was made with
        f"Depends: python{pyver}, python3 (>= {pyver}~), python3 (<< {major}.{int(minor) + 1}), passwd\n"
        f"Recommends: {', '.join(RECOMMENDS)}\n"
        "Section: misc\n"
        "Priority: optional\n"
        "Description: analog2digital kiosk and edge appliance\n"
        " The edge agent, the kiosk, the buttons bridge and the sync server of analog2digital\n"
        " in one venv under /opt/a2d, with their systemd units and default configuration.\n",
    )


def build(
    out_dir: Path,
    version: str = __version__,
    extras: Sequence[str] = lockset.APPLIANCE_EXTRAS,
    spec: rootfs.RootSpec | None = None,
    root: Path = ROOT,
) -> Path:
    """Build (or take from the cache) the package and copy it into ``out_dir``; its path."""
    spec = spec or rootfs.RootSpec()
    name = deb_name(version, spec.arch)
    cached = rootfs.cache_dir() / "deb" / cache_key(version, extras, spec, root) / name
    if not cached.exists():
        with tempfile.TemporaryDirectory(prefix="a2d-deb-") as tmp:
            work = Path(tmp)
            tree, pyver = build_venv(work, spec, extras, root)
            pkg = work / "pkg"
            lay_out(pkg, tree, version, spec.arch, pyver, root)
            built = work / name
            subprocess.run(
                ["dpkg-deb", "--root-owner-group", "-Zzstd", "-z9", "--build", str(pkg), str(built)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(".partial")
            shutil.copyfile(built, partial)
            partial.rename(cached)
    else:
        log.info("unchanged: taking %s from the cache", cached)
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached, out_dir / name)
    return out_dir / name


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.debian.build",
        description="Build the a2d Debian package (needs root, debootstrap and dpkg-deb).",
        epilog="example: python -m devtools.debian.build --out dist",
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "dist", help="folder for the .deb (default: dist/)"
    )
    parser.add_argument(
        "--version", default=__version__, help="the package's version (default: the project's)"
    )
    parser.add_argument(
        "--extras", default=",".join(lockset.APPLIANCE_EXTRAS), help="extras installed into the venv"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    path = build(args.out, args.version, tuple(args.extras.split(",")))
    sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
