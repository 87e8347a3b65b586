"""`a2d server forecast evaluate|train`: the JSON a town gets, the bundle, publishing it signed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from a2d import forecastwire
from a2d.forecastwire import Calendar
from sync_server import cli

from . import synth

pytestmark = pytest.mark.filterwarnings("ignore:Field onnx.AttributeProto.ints:DeprecationWarning")


@pytest.fixture(scope="module")
def counts_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fc") / "testplatz.csv"
    return synth.write_csv(path, synth.counts(synth.START, synth.weeks(12), seed=3))


def _json(out: str) -> dict:
    return json.loads([ln for ln in out.splitlines() if ln.startswith("{")][-1])


def test_evaluate_prints_the_figures_as_json(counts_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = cli.main(["forecast", "evaluate", "--csv", str(counts_csv), "--holidays", "DE-BW,FR-6AE",
                   "--train-until", "2024-03-11", "--test-until", "2024-03-25", "--json", "--threads", "1"])  # fmt: skip
    out = capsys.readouterr()
    assert rc == 0
    res = _json(out.out)
    for key in ("mase", "mase_seasonal_naive", "coverage_p10_p90", "n_forecasts"):
        assert key in res, key
    assert res["n_forecasts"] == 14
    assert 0 < res["mase"] < res["mase_seasonal_naive"]
    assert 0 <= res["coverage_p10_p90"] <= 1
    assert 0 <= res["shrink"] <= 1
    assert "forecasting from 14 origins" in out.err  # progress goes to stderr


def test_evaluate_outside_the_series_is_one_clear_error(counts_csv: Path) -> None:
    from a2d.errors import KnownError

    with pytest.raises(KnownError, match="train-until"):
        cli.main(["forecast", "evaluate", "--csv", str(counts_csv), "--holidays", "DE-BW",
                  "--train-until", "2030-01-01", "--test-until", "2030-02-01", "--quiet"])  # fmt: skip


def test_train_writes_and_publishes_a_signed_model_bundle(
    counts_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'server.db'}"
    key = tmp_path / "signing.key"
    assert cli.main(["admin-token", "--db", db]) == 0
    assert cli.main(["signing-key", "--key", str(key), "--db", db]) == 0
    capsys.readouterr()
    out = tmp_path / "testplatz.model"
    rc = cli.main(["forecast", "train", "--series", "testplatz", "--csv", str(counts_csv),
                   "--holidays", "DE-BW,FR-6AE", "--out", str(out), "--publish", "--server-db", db,
                   "--key", str(key), "--json", "--quiet", "--threads", "1"])  # fmt: skip
    assert rc == 0
    res = _json(capsys.readouterr().out)
    assert res["onnx_max_abs_diff"] <= 1e-4 and res["size"] < 2 * 1024 * 1024
    content = out.read_bytes()
    manifest, onnx_model = forecastwire.unpack(content)
    assert manifest.series == "testplatz" and manifest.tz == "Europe/Berlin"
    assert isinstance(manifest.calendar, Calendar) and "2026-12-25" in manifest.calendar.holidays
    assert len(manifest.low) == 14 and all(
        lo <= 0 <= hi for lo, hi in zip(manifest.low, manifest.high, strict=True)
    )
    assert manifest.spread_reference is not None and manifest.spread_reference > 0
    assert len(onnx_model) > 1000
    assert res["published"]["sha256"] == hashlib.sha256(content).hexdigest()
    assert cli.main(["bundle", "list", "--db", db, "--json"]) == 0
    listed = [json.loads(ln) for ln in capsys.readouterr().out.splitlines()]
    assert [(b["kind"], b["sha256"]) for b in listed] == [("model", hashlib.sha256(content).hexdigest())]
    assert np.isfinite([v for v in manifest.history if v is not None]).all()
