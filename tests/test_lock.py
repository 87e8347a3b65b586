"""requirements.lock: what `make venv` installs, so a Pi in the field gets exactly what was tested.

The lock must hold, for every machine we run on (Linux on x86_64 and aarch64, CPython 3.11 to
3.13), one pinned version of each package that pyproject.toml declares in the extras `make venv`
installs (and of the build backend), a version that declaration admits, and the hashes of its
files (pip's ``--require-hashes`` refuses anything else).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"


@dataclass(frozen=True)
class Pin:
    name: str
    version: Version
    marker: Marker | None
    hashes: tuple[str, ...]

    def applies(self, env: dict[str, str]) -> bool:
        return self.marker is None or self.marker.evaluate(env)


def machines() -> dict[str, dict[str, str]]:
    """Marker environments of the machines the lock is for."""
    out = {}
    for machine in ("x86_64", "aarch64"):
        for minor, patch in ((11, 2), (12, 3), (13, 5)):
            out[f"linux-{machine}-cp3{minor}"] = {
                "implementation_name": "cpython",
                "implementation_version": f"3.{minor}.{patch}",
                "os_name": "posix",
                "platform_machine": machine,
                "platform_python_implementation": "CPython",
                "platform_release": "6.1.0",
                "platform_system": "Linux",
                "platform_version": "#1 SMP",
                "python_full_version": f"3.{minor}.{patch}",
                "python_version": f"3.{minor}",
                "sys_platform": "linux",
                "extra": "",
            }
    return out


def parse_lock(text: str) -> list[Pin]:
    """The entries of a pip requirements file with hashes (``name==v ; marker \\`` then ``--hash=`` lines)."""
    pins: list[Pin] = []
    entry: list[str] = []

    def close() -> None:
        if not entry:
            return
        spec = entry[0].rstrip("\\ ").strip()
        req = Requirement(spec)
        pinned = [s for s in req.specifier if s.operator == "=="]
        if len(pinned) != 1 or len(req.specifier) != 1:
            raise ValueError(f"not pinned to one version: {spec}")
        hashes = tuple(h for line in entry[1:] for h in re.findall(r"--hash=sha256:([0-9a-f]{64})", line))
        pins.append(Pin(canonicalize_name(req.name), Version(pinned[0].version), req.marker, hashes))
        entry.clear()

    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            close()
        entry.append(line)
    close()
    return pins


def make_extras() -> list[str]:
    """The extras `make venv` installs (the Makefile's EXTRAS)."""
    m = re.search(r"^EXTRAS := (\S+)$", (ROOT / "Makefile").read_text(), re.M)
    assert m, "the Makefile has no EXTRAS line"
    return m.group(1).split(",")


def declared(pyproject: dict, extras: list[str]) -> list[Requirement]:
    project = pyproject["project"]
    specs = list(project.get("dependencies", [])) + list(pyproject["build-system"]["requires"])
    for extra in extras:
        specs += project["optional-dependencies"][extra]
    return [Requirement(s) for s in specs]


def shortfalls(pins: list[Pin], wanted: list[Requirement], envs: dict[str, dict[str, str]]) -> list[str]:
    """What the lock lacks: a declared package missing or twice on a machine, a version the
    declaration does not admit, an entry without a hash."""
    short = [f"{p.name}=={p.version} has no hash" for p in pins if not p.hashes]
    for env_name, env in envs.items():
        here = [p for p in pins if p.applies(env)]
        for req in wanted:
            if req.marker is not None and not req.marker.evaluate(env):
                continue
            name = canonicalize_name(req.name)
            found = [p for p in here if p.name == name]
            if not found:
                short.append(f"{env_name}: {req} is not in the lock")
            elif len(found) > 1:
                short.append(f"{env_name}: {name} is pinned {len(found)} times")
            elif not req.specifier.contains(found[0].version, prereleases=True):
                short.append(f"{env_name}: {name}=={found[0].version} is not admitted by {req}")
    return short


def extra_requirements(req: Requirement) -> list[Requirement]:
    """What a declared package's extras (``qrcode[pil]``) add, read from its installed metadata."""
    out = []
    for line in metadata.requires(req.name) or []:
        r = Requirement(line)
        if r.marker is not None and any(r.marker.evaluate({"extra": e}) for e in req.extras):
            r.marker = None  # the extra matched; the lock's own markers decide the platform
            out.append(r)
    return out


@pytest.fixture(scope="module")
def pins() -> list[Pin]:
    assert LOCK.exists(), "requirements.lock is missing: make lock"
    return parse_lock(LOCK.read_text())


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_lock_covers_every_declared_package_on_every_machine(pins: list[Pin], pyproject: dict) -> None:
    extras = make_extras()
    assert {"edge", "kiosk", "bridge", "server", "train", "dev"} <= set(extras) and "bench" not in extras
    wanted = declared(pyproject, extras)
    assert len(wanted) > 20
    assert not shortfalls(pins, wanted, machines()), "\n".join(shortfalls(pins, wanted, machines()))


def test_the_lock_covers_what_declared_extras_pull_in(pins: list[Pin], pyproject: dict) -> None:
    with_extras = [r for r in declared(pyproject, make_extras()) if r.extras]
    assert {canonicalize_name(r.name) for r in with_extras} >= {"qrcode", "psycopg"}
    added = [x for r in with_extras for x in extra_requirements(r)]
    names = {canonicalize_name(x.name) for x in added}
    assert {"pillow", "psycopg-binary"} <= names
    short = shortfalls(pins, added, machines())
    assert not short, "\n".join(short)


def test_every_entry_is_pinned_with_hashes(pins: list[Pin]) -> None:
    assert len(pins) > 50
    assert all(len(p.hashes) >= 1 for p in pins)
    # the build backend is locked too: make venv builds the project with it, without downloading
    assert any(p.name == "setuptools" and p.version >= Version("78.1.1") for p in pins)


def test_the_floors_that_keep_known_vulnerable_versions_out(pyproject: dict) -> None:
    reqs = {canonicalize_name(r.name): r for r in declared(pyproject, make_extras())}
    for name, bad, good in [
        ("cryptography", "42.0.3", "44.0.1"),
        ("starlette", "0.49.0", "0.49.1"),
        ("pillow", "11.2.1", "11.3.0"),
        ("protobuf", "6.31.0", "6.33.6"),
        ("setuptools", "78.1.0", "78.1.1"),
    ]:
        assert not reqs[name].specifier.contains(bad), f"{name} {bad} is still admitted"
        assert reqs[name].specifier.contains(good), f"{name} {good} is not admitted"
    # and the deliberate cap stays: skl2onnx cannot convert tree models with protobuf 7.34 and newer
    assert not reqs["protobuf"].specifier.contains("7.34.0")


# -- the checker itself, on small lock files --------------------------------------------------

SMALL = """\
# made by hand
alpha==1.2.0 \\
    --hash=sha256:{h1}
beta==2.0.0 ; python_full_version < '3.12' \\
    --hash=sha256:{h2}
beta==2.1.0 ; python_full_version >= '3.12' \\
    --hash=sha256:{h1} \\
    --hash=sha256:{h2}
    # via alpha
""".format(h1="a" * 64, h2="b" * 64)


def test_the_checker_reads_a_good_lock() -> None:
    pins = parse_lock(SMALL)
    assert [(p.name, str(p.version), len(p.hashes)) for p in pins] == [
        ("alpha", "1.2.0", 1),
        ("beta", "2.0.0", 1),
        ("beta", "2.1.0", 2),
    ]
    assert not shortfalls(pins, [Requirement("alpha>=1"), Requirement("Beta>=2")], machines())


def test_the_checker_finds_what_is_wrong() -> None:
    pins = parse_lock(SMALL)
    assert any("gamma" in s for s in shortfalls(pins, [Requirement("gamma")], machines()))
    too_old = shortfalls(pins, [Requirement("beta>=2.1")], machines())
    assert too_old and all("cp311" in s and "beta==2.0.0" in s for s in too_old)
    no_hash = parse_lock("alpha==1.2.0\n")
    assert shortfalls(no_hash, [Requirement("alpha")], machines()) == ["alpha==1.2.0 has no hash"]
    with pytest.raises(ValueError, match="not pinned"):
        parse_lock("alpha>=1.2 \\\n    --hash=sha256:" + "a" * 64 + "\n")
