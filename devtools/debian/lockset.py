"""The part of ``requirements.lock`` that the appliance installs.

The lock pins every extra, the developer tools included (pytest, ruff, mypy, uv). A Pi needs only
the apps' extras, so the package's venv gets the locked entries of those extras and of everything
they pull in, found through the lock's own ``# via`` notes (uv writes, for each pin, which pinned
packages asked for it). Each entry is copied unchanged, hashes and markers included, so pip's
``--require-hashes`` checks exactly what ``make venv`` checks; ``pip check`` in the built venv then
proves nothing is missing.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: the extras the appliance's package installs: every app, not the trainer nor the developer tools
APPLIANCE_EXTRAS = ("edge", "kiosk", "bridge", "server")
PROJECT = "analog2digital"

_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Entry:
    """One pin of the lock: its package name, the packages it is there for, and its text."""

    name: str
    via: tuple[str, ...]
    text: str


def parse(text: str) -> list[Entry]:
    """The lock's entries, each with the lines that belong to it (its hashes and its ``# via``)."""
    entries: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        match = _NAME.match(line)
        if match:
            entries.append((canonical(match.group(1)), [line]))
        elif entries:
            entries[-1][1].append(line)
    out = []
    for name, lines in entries:
        via: list[str] = []
        for line in lines:
            note = line.strip()
            if note.startswith("# via"):
                via += note[len("# via") :].split()
            elif note.startswith("#   "):
                via += note[1:].split()
        # "analog2digital (pyproject.toml)": the note in brackets is no package
        names = tuple(canonical(v) for v in via if not v.startswith("("))
        out.append(Entry(name, names, "\n".join(lines) + "\n"))
    return out


def wanted(pyproject: Path, extras: Iterable[str]) -> set[str]:
    """The names the project asks for itself: its dependencies and those of ``extras``."""
    project = tomllib.loads(pyproject.read_text())["project"]
    requirements = list(project["dependencies"])
    optional = project.get("optional-dependencies", {})
    for extra in extras:
        if extra not in optional:
            raise ValueError(f"pyproject.toml has no extra {extra!r}")
        requirements += optional[extra]
    names = set()
    for requirement in requirements:
        match = _NAME.match(requirement)
        if match:
            names.add(canonical(match.group(1)))
    return names


def select(entries: list[Entry], roots: set[str]) -> list[Entry]:
    """The entries of ``roots`` and of everything a chosen entry pulls in (lock order kept).

    An entry is taken when one of the packages it is there for is taken; the project's own name
    does not count, because the lock does not say through which extra the project asks for it.
    """
    known = {e.name for e in entries}
    missing = roots - known
    if missing:
        raise ValueError(f"requirements.lock pins none of {sorted(missing)}: run make lock")
    chosen = set(roots)
    grew = True
    while grew:
        grew = False
        for entry in entries:
            if entry.name not in chosen and any(v in chosen for v in entry.via if v != PROJECT):
                chosen.add(entry.name)
                grew = True
    return [e for e in entries if e.name in chosen]


def subset_text(lock: Path, pyproject: Path, extras: Iterable[str] = APPLIANCE_EXTRAS) -> str:
    """The requirements file (with hashes) for ``extras``, taken from ``lock``."""
    chosen = select(parse(lock.read_text()), wanted(pyproject, extras))
    header = f"# the locked requirements of the extras {','.join(extras)}, taken from {lock.name}\n"
    return header + "".join(e.text for e in chosen)
