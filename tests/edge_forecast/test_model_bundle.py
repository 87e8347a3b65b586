"""A model published by the sync server as a signed bundle, pulled and verified by the agent, used."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from a2d.bundles import Identity, TrustedKeys
from edge_agent import bundles as edge_bundles
from tests.test_sync import A2D, ROOT, Server

from .edge import ForecastEdge
from .trained import model_file

pytestmark = pytest.mark.filterwarnings("ignore:Field onnx.AttributeProto.ints:DeprecationWarning")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    s = Server(tmp_path)
    yield s
    s.kill(signal.SIGTERM)


def _cli(*args: str) -> str:
    r = subprocess.run([*A2D, "server", *args], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_a_published_model_bundle_reaches_the_device_and_forecasts(server: Server, tmp_path: Path) -> None:
    key = tmp_path / "signing.key"
    _cli("signing-key", "--key", str(key))
    public = _cli("signing-key", "--key", str(key), "--public")
    device_id, token = server.add_device("edge-forecast")
    model = model_file(tmp_path)
    _cli("bundle", "publish", "model", str(model), "--db", server.db, "--key", str(key), "--version", "m1")
    sync = (
        f'[sync]\nurl = "http://127.0.0.1:{server.port}"\ntoken = "{token}"\nserver_public_key = "{public}"\n'
        "bundle_interval_s = 0.2\ninterval_s = 0.2\n"
    )
    edge = ForecastEdge(tmp_path, extra=sync, device_id=device_id)
    assert "[forecast]" not in edge.toml()  # no model file: the bundle is the only way in
    doc = edge.first_forecast(40, "a forecast from the model bundle")
    assert doc["model"]["version"] == "test-1" and len(doc["hours"]) == 336
    trust = edge_bundles.DeviceTrust(TrustedKeys.configured([public]), Identity(device_id))
    applied = edge_bundles.current(edge.data_dir, "model", trust)
    assert applied is not None and applied.version == "m1" and applied.content == model.read_bytes()
