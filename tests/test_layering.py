"""What each layer loads when it is imported, in a fresh interpreter (import-linter sees only the
import statements; these see what really ends up in ``sys.modules``, lazy imports of modules
included): the shared vocabulary loads no adapter library, the kiosk no numpy, the forecasting
library's package nothing, and the apps' CLIs (which the `a2d` command loads) no developer tool.
And what a running edge agent loads: numpy and onnxruntime only once it has a model, httpx only
when it syncs (they are most of its memory)."""

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


# --- what the running agent loads ------------------------------------------------------------------

#: starts the agent as `a2d edge run` builds it (argv: its edge.toml, the start of the forecast
#: runner's log line to wait for), stops it once that line came, prints whether it came and the
#: top-level modules loaded
AGENT_PROBE = """
import json, logging, sys, threading, tomllib
from pathlib import Path
from edge_agent import config as edge_config
from edge_agent.agent import Agent
from edge_agent.mqtt import mqtt_sources

said = threading.Event()

class Watch(logging.Handler):
    def emit(self, record):
        if record.getMessage().startswith(sys.argv[2]):
            said.set()

runner_log = logging.getLogger("edge_agent.forecast")
runner_log.setLevel(logging.INFO)
runner_log.addHandler(Watch())
path = Path(sys.argv[1])
agent = Agent((cfg := edge_config.parse(tomllib.loads(path.read_text()), str(path), env={})), mqtt_sources(cfg))
agent.start()
try:
    came = said.wait(60)
finally:
    agent.stop()
print(json.dumps({"said": came, "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def running_agent_loads(tmp_path: Path, forecast: str, wait_for_line: str) -> set[str]:
    """Top-level names in the ``sys.modules`` of an agent (MQTT source to a port nobody listens on,
    local API on a free port, no sync) once its forecast runner logged ``wait_for_line``."""
    from tests.conftest import free_port

    data = tmp_path / "edge-data"
    data.mkdir()
    cfg = tmp_path / "edge.toml"
    cfg.write_text(
        f'[device]\nid = "edge-layering"\ndata_dir = "{data}"\n[mqtt]\nhost = "127.0.0.1"\nport = {free_port()}\n'
        f'[api]\nhost = "127.0.0.1"\nport = 0\n{forecast}\n[[sources]]\nkind = "chirpstack"\n'
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-c", AGENT_PROBE, str(cfg), wait_for_line], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.splitlines()[-1])
    assert out["said"], f"the forecast runner never logged {wait_for_line!r}: {r.stderr[-2000:]}"
    return set(out["modules"])


def test_an_agent_without_a_model_or_sync_loads_no_numpy_onnxruntime_or_httpx(tmp_path: Path) -> None:
    found = running_agent_loads(tmp_path, "", "no forecast: no model")
    assert {"paho", "edge_agent"} <= found  # the agent really ran, its MQTT source too
    assert not found & {"numpy", "onnxruntime", "httpx", "zeroconf", "sklearn"}, sorted(found)


@pytest.mark.filterwarnings("ignore:Field onnx.AttributeProto.ints:DeprecationWarning")
def test_an_agent_with_a_model_loads_numpy_and_onnxruntime_and_forecasts(tmp_path: Path) -> None:
    from tests.edge_forecast.trained import model_file

    model = model_file(tmp_path)
    found = running_agent_loads(tmp_path, f'[forecast]\nmodel = "{model}"\n', "forecast for testplatz stored")
    assert {"numpy", "onnxruntime"} <= found
