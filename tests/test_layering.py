"""What each layer loads when it is imported, in a fresh interpreter (import-linter sees only the
import statements; these see what really ends up in ``sys.modules``, lazy imports of modules
included): the shared vocabulary loads no adapter library, the kiosk no numpy, the forecasting
library's package nothing, and the apps' CLIs (which the `a2d` command loads) no developer tool."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ADAPTER_LIBRARIES = ("numpy", "onnxruntime", "sklearn", "paho", "kivy", "httpx", "fastapi", "uvicorn",
                     "psycopg", "zeroconf", "gpiozero", "serial")  # fmt: skip
PROBE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def modules(package: str) -> list[str]:
    """Every module of ``package`` by its dotted name."""
    out = []
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        out.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


def loaded(names: list[str], tmp_path: Path) -> set[str]:
    """Top-level names in ``sys.modules`` after importing ``names`` in a new interpreter."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KIVY_NO_ARGS": "1", "KIVY_NO_CONSOLELOG": "1",
           "KIVY_NO_FILELOG": "1", "SDL_VIDEODRIVER": "offscreen", "KIVY_HOME": str(tmp_path / "kivy")}  # fmt: skip
    r = subprocess.run([sys.executable, "-c", PROBE, *names], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=120, check=False)  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    return set(json.loads(r.stdout.splitlines()[-1]))


def test_the_shared_vocabulary_loads_no_adapter_library(tmp_path: Path) -> None:
    found = loaded(modules("a2d"), tmp_path)
    assert "a2d" in found and "cryptography" in found  # the probe imported it all (bundles too)
    assert not found & set(ADAPTER_LIBRARIES), sorted(found & set(ADAPTER_LIBRARIES))


def test_importing_the_whole_kiosk_loads_no_numpy(tmp_path: Path) -> None:
    found = loaded([m for m in modules("kiosk") if m != "kiosk.__main__"], tmp_path)
    assert "kivy" in found  # the screens really were imported
    assert "numpy" not in found


@pytest.mark.parametrize(
    "cli", ["edge_agent.cli", "kiosk.cli", "buttons_firmware_bridge.cli", "sync_server.cli", "forecasting"]
)
def test_the_apps_clis_and_the_library_load_no_developer_tool(cli: str, tmp_path: Path) -> None:
    found = loaded([cli], tmp_path)
    assert "devtools" not in found
    if cli == "forecasting":
        assert "numpy" not in found  # the package itself imports nothing: forecasting.features does
