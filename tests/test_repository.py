"""The checkout stands alone: no code reads outside it, and every fixture in tests/data says where it comes from.

A fresh ``git clone`` must pass ``make test`` on any machine. So no tracked code file names the
research corpus kept beside our own checkout (the folder ``shared`` next to it) or builds a path
that climbs above the checkout's root; the data the tests and benchmarks read live in ``tests/data/``, one folder per
kind, each with a ``SOURCE.md`` that gives every file's origin and licence.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: the folder beside the checkout, spelled so that this file does not name it itself
SIBLING = f"{os.pardir}/shared"
DATA = ROOT / "tests" / "data"

#: code and build files: Python, make, TOML, the scripts and the CI entry point
CODE = re.compile(r"(\.py|\.toml|(^|/)Makefile)$|^scripts/|^\.ci/")
#: the sibling folder ``shared`` reached by a relative path, in code, strings or comments
SHARED = re.compile(r"\.\.[/\\]+shared\b")
#: a relative path that starts by going up (``../x``, ``"../x"``, ``=../x``): in the Makefile and
#: the scripts it climbs out of the folder they run in, which is the checkout's root
SHELL_UP = re.compile(r"""(^|[\s"'=:(])\.\.([/\\]|$)""")
#: the origin of a fixture: a commit, a PyPI package, or a web address
ORIGIN = re.compile(r"\b[0-9a-f]{40}\b|PyPI|https?://")
LICENCE = re.compile(r"\b(MIT|Apache-2\.0|CC BY(-SA)? \d\.\d|BSD|GPL-\d|CC0)\b")


def tracked_files() -> list[str]:
    """The files git knows of (tracked, and new ones it does not ignore)."""
    r = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return sorted(p for p in r.stdout.splitlines() if (ROOT / p).is_file())


def code_files() -> list[str]:
    return [p for p in tracked_files() if CODE.search(p)]


# -- paths built in Python -------------------------------------------------------------------


def _levels_up(node: ast.expr) -> int | None:
    """How many folders above the file ``node`` points, for paths built from ``__file__``.

    ``Path(__file__)`` is 0 (the file), ``.parent`` adds one, ``.parents[n]`` adds n + 1,
    ``os.path.dirname`` adds one; ``resolve()``, ``absolute()``, ``abspath`` and ``realpath``
    keep the count. ``None`` when the expression is not built from ``__file__`` this way.
    """
    if isinstance(node, ast.Name):
        return 0 if node.id == "__file__" else None
    if isinstance(node, ast.Attribute) and node.attr == "parent":
        inner = _levels_up(node.value)
        return None if inner is None else inner + 1
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "parents"
        and isinstance(node.slice, ast.Constant)
        and isinstance(node.slice.value, int)
    ):
        inner = _levels_up(node.value.value)
        return None if inner is None else inner + node.slice.value + 1
    if isinstance(node, ast.Call):
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
        if name in ("resolve", "absolute") and isinstance(f, ast.Attribute):
            return _levels_up(f.value)
        if name in ("Path", "PurePath", "abspath", "realpath", "dirname") and len(node.args) == 1:
            inner = _levels_up(node.args[0])
            return None if inner is None else inner + (name == "dirname")
    return None


def _climbs(text: object) -> bool:
    return isinstance(text, str) and (text == ".." or re.search(r"(^|[/\\])\.\.([/\\]|$)", text) is not None)


def python_escapes(path: str, source: str) -> Iterator[str]:
    """Each place where ``source`` (the file ``path``) builds a path above the checkout's root."""
    depth = len(Path(path).parts) - 1  # folders between the root and the file
    for node in ast.walk(ast.parse(source, filename=path)):
        if isinstance(node, ast.expr):
            up = _levels_up(node)
            # up = depth + 1 is the root itself; one more is outside
            if up is not None and up > depth + 1:
                yield f"{path}:{node.lineno}: climbs {up} folders up from a file {depth} below the root"
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            for side in (node.left, node.right):
                if isinstance(side, ast.Constant) and _climbs(side.value):
                    yield f"{path}:{node.lineno}: joins {side.value!r} to a path"
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            if name in ("Path", "PurePath", "join", "joinpath"):
                for arg in node.args:
                    if isinstance(arg, ast.Constant) and _climbs(arg.value):
                        yield f"{path}:{node.lineno}: {name}() with {arg.value!r}"


def escapes(path: str, text: str) -> list[str]:
    """Every line of a code file that reads outside the checkout."""
    found = [
        f"{path}:{i}: names {SIBLING}" for i, line in enumerate(text.splitlines(), 1) if SHARED.search(line)
    ]
    if path.endswith(".py"):
        found += python_escapes(path, text)
    elif not path.endswith(".toml"):
        found += [
            f"{path}:{i}: a relative path going up"
            for i, line in enumerate(text.splitlines(), 1)
            if SHELL_UP.search(line.split("#", 1)[0])
        ]
    return found


def test_no_code_file_reads_outside_the_checkout() -> None:
    files = code_files()
    assert "Makefile" in files and "pyproject.toml" in files and ".ci/run" in files
    assert any(p.startswith("bench/") for p in files) and "tests/vectors.py" in files
    found = [hit for p in files for hit in escapes(p, (ROOT / p).read_text(encoding="utf-8"))]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("tests/vectors.py", 'CORPUS = Path(__file__).resolve().parent.parent.parent / "corpus"\n'),
        ("tests/forecast/test_csv.py", 'd = Path(__file__).resolve().parents[3] / "x"\n'),
        ("bench/x.py", 'CORPUS = ROOT / ".." / "corpus"\n'),
        ("bench/x.py", 'p = os.path.join(ROOT, "../data")\n'),
        (
            "bench/x.py",
            "here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))\n",
        ),
        ("tests/x.py", f"# the vectors live in {SIBLING}/corpus\n"),
        ("Makefile", f"acceptance:\n\t{SIBLING}/acceptance/ingest\n"),
        ("scripts/run", 'cd "$ROOT" && python ../tools/x.py\n'),
    ],
)
def test_the_check_finds_a_path_outside(path: str, text: str) -> None:
    assert escapes(path, text), text


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("tests/vectors.py", 'PAYLOADS = Path(__file__).resolve().parent / "data" / "lorawan_payloads"\n'),
        ("tests/forecast/test_csv.py", 'd = Path(__file__).resolve().parents[1] / "data"\n'),
        ("bench/x.py", "ROOT = Path(__file__).resolve().parents[1]\n"),
        ("a2d/x.py", "from .. import errors\nassert '0..3' != '../etc/passwd'\n"),
        (".ci/run", 'cd "$(dirname "$0")/.."\n'),
    ],
)
def test_the_check_lets_paths_inside_pass(path: str, text: str) -> None:
    assert not escapes(path, text), escapes(path, text)


# -- the fixtures and their sources -----------------------------------------------------------


def data_folders() -> list[Path]:
    return sorted(p for p in DATA.iterdir() if p.is_dir())


def test_every_data_folder_has_a_source_for_each_file() -> None:
    folders = data_folders()
    assert {p.name for p in folders} >= {"lorawan_payloads", "network_server_messages", "pedestrian_counts"}
    short = []
    for folder in folders:
        source = folder / "SOURCE.md"
        if not source.is_file():
            short.append(f"{folder.name}: no SOURCE.md")
            continue
        text = source.read_text(encoding="utf-8")
        if not LICENCE.search(text):
            short.append(f"{folder.name}/SOURCE.md names no licence")
        lines = text.splitlines()
        for f in sorted(p.name for p in folder.iterdir() if p.name != "SOURCE.md"):
            line = next((ln for ln in lines if f"`{f}`" in ln), None)
            if line is None:
                short.append(f"{folder.name}/{f}: not in SOURCE.md")
            elif not ORIGIN.search(line):
                short.append(
                    f"{folder.name}/{f}: its line in SOURCE.md gives no origin (commit, PyPI or address)"
                )
        for sub in (p for p in folder.iterdir() if p.is_dir()):
            short.append(f"{folder.name}/{sub.name}: a folder inside a data folder")
    assert not short, "\n".join(short)


def test_the_data_files_are_tracked() -> None:
    """A fixture git ignores would be missing from a clone."""
    on_disk = {str(p.relative_to(ROOT)) for p in DATA.rglob("*") if p.is_file()}
    assert on_disk and on_disk <= set(tracked_files())
