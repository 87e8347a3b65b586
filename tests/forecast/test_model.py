"""The model: no information from after the origin, ONNX equals scikit-learn, level shifts."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from a2d import hourgrid
from forecasting import features as ff
from sync_server.forecast import calendar, export, series
from sync_server.forecast.model import ModelSettings, Prepared, Rows, best_shrink, fit, rows

from . import synth

FAST = ModelSettings(iterations=80, learning_rate=0.15, holdout_days=14, threads=1)
# skl2onnx 1.20 still hands onnx booleans for int fields; fine below protobuf 7.34 (the train extra pins it)
pytestmark = pytest.mark.filterwarnings("ignore:Field onnx.AttributeProto.ints:DeprecationWarning")


def _prepared(hours: int, seed: int = 1, shifts: dict[int, float] | None = None) -> Prepared:
    data = synth.counts(synth.START, hours, seed=seed, shifts=shifts)
    start = hourgrid.epoch_hour(data[0][0])
    s = series.Series("synthetic", synth.TZ, start, np.array([c for _, c in data]))
    cal, _ = calendar.build("DE-BW", date(2023, 12, 1), date(2025, 12, 31))
    return Prepared.make(s, cal)


@pytest.fixture(scope="module")
def trained() -> tuple[Prepared, object]:
    # level shifts in training teach the model what the recent-level features mean
    shifts = {synth.weeks(7) + 24 * 3: 0.6, synth.weeks(10) + 24 * 5: 1.5, synth.weeks(14) + 24 * 2: 0.7}
    prep = _prepared(synth.weeks(17), shifts=shifts)
    return prep, fit(prep, len(prep.series.values), FAST)


def test_features_see_nothing_after_the_origin() -> None:
    prep = _prepared(synth.weeks(8))
    origin = int(prep.origins(synth.weeks(6), synth.weeks(7))[0])
    y = prep.series.values
    x1, b1 = ff.design(y[:origin], prep.lh, prep.calendar, origin)
    future = y.copy()
    future[origin:] = future[origin:] * 10 + 1000  # wildly different future
    prep.series.values = future
    r = rows(prep, [origin], len(y))
    prep.series.values = y
    assert np.array_equal(np.nan_to_num(r.x, nan=-7), np.nan_to_num(x1[: len(r.x)], nan=-7))
    assert np.array_equal(r.base, b1[: len(r.base)])
    with pytest.raises(ff.FeatureError):
        ff.design(y[: origin + 1], prep.lh, prep.calendar, origin)  # a history reaching past the origin


def test_onnx_equals_scikit_learn_within_1e4(trained: tuple[Prepared, object]) -> None:
    prep, model = trained
    onnx_model = export.to_onnx(model)  # type: ignore[arg-type]
    r = rows(prep, prep.origins(0, len(prep.series.values)), len(prep.series.values))
    x = r.x.copy()
    x[::7, model.columns[3]] = np.nan  # type: ignore[attr-defined]  # missing values take the same branch
    diff = export.parity(model, onnx_model, x)  # type: ignore[arg-type]
    assert diff <= export.PARITY
    assert len(onnx_model) < export.MAX_MODEL_BYTES


def test_band_and_median_are_ordered(trained: tuple[Prepared, object]) -> None:
    prep, model = trained
    r = rows(prep, prep.origins(synth.weeks(15), synth.weeks(16)), len(prep.series.values))
    p10, p50, p90 = model.quantiles(r)  # type: ignore[attr-defined]
    assert np.all(p10 <= p50 + 1e-9) and np.all(p50 <= p90 + 1e-9)
    assert np.mean((r.y >= p10) & (r.y <= p90)) > 0.5


def test_adapts_to_a_level_shift_within_days(trained: tuple[Prepared, object]) -> None:
    _prep, model = trained
    # a new street: the counts halve on a Wednesday; forecast from the Saturday midnight after
    shift_at = synth.weeks(10) + 24 * 2
    prep = _prepared(synth.weeks(12), seed=7, shifts={shift_at: 0.5})
    y = prep.series.values
    origin = int(prep.origins(shift_at + 72, shift_at + 96)[0])
    r = rows(prep, [origin], len(y))
    _, p50, _ = model.quantiles(r)  # type: ignore[attr-defined]
    week = r.horizon <= 168
    err_model = np.abs(p50 - r.y)[week].sum() / r.y[week].sum()
    err_base = np.abs(np.expm1(r.base) - r.y)[week].sum() / r.y[week].sum()
    # the last four weeks still say "twice as many"; the model follows the last days instead
    assert model.shrink >= 0.5  # the holdout showed the corrections to be worth taking
    assert err_base > 0.3, err_base
    assert err_model < 0.6 * err_base, (err_model, err_base)


def test_band_widens_with_a_restless_week_that_calibration_never_saw() -> None:
    # calm counts to train and calibrate on; from week 14 on every hour strays by a random factor,
    # as a household's heating in winter strays from its summer
    prep = _prepared(synth.weeks(18), seed=3)
    y = prep.series.values
    cut = synth.weeks(14)
    rng = np.random.default_rng(11)
    y[cut:] = np.round(y[cut:] * np.exp(rng.normal(0.0, 0.5, len(y) - cut)))
    model = fit(prep, cut, FAST)
    assert model.spread_reference is not None and model.spread_reference > 0
    r = rows(prep, prep.origins(cut + ff.WEEK, synth.weeks(16)), len(y))
    p10, _, p90 = model.quantiles(r)
    scaled = float(np.mean((r.y >= p10) & (r.y <= p90)))
    unscaled = replace(r, spread=np.full_like(r.spread, np.nan))  # factor 1: the calibration's band
    q10, _, q90 = model.quantiles(unscaled)
    fixed = float(np.mean((r.y >= q10) & (r.y <= q90)))
    assert np.all(ff.spread_factor(r.spread, model.spread_reference) > 1.5)
    assert fixed < 0.6 < 0.7 < scaled, (fixed, scaled)


def test_the_correction_weight_is_what_forecast_the_holdout_best() -> None:
    rng = np.random.default_rng(2)
    base = np.log1p(rng.uniform(50, 500, 4000))
    output = rng.normal(0, 0.4, 4000)
    r = Rows(np.empty((4000, 0)), base, np.expm1(base + 0.35 * output), np.zeros(4000, np.int64),
             np.ones(4000, np.int64), np.full(4000, np.nan))  # fmt: skip
    assert best_shrink(output, r) == pytest.approx(0.35)
    assert best_shrink(np.zeros(4000), r) == 1.0  # no difference: the model is trusted


def test_a_model_with_nothing_to_learn_falls_back_towards_the_base() -> None:
    # the same week again and again under heavy noise: the mean of the last four weeks is the best
    # one can do, and a model fitted on six weeks only learns the noise
    prep = _prepared(synth.weeks(10), seed=4)
    y = prep.series.values
    rng = np.random.default_rng(8)
    y[:] = np.round(y * np.exp(rng.normal(0, 0.45, len(y))))
    cut = synth.weeks(8)
    model = fit(prep, cut, FAST)
    assert model.shrink < 0.6
    r = rows(prep, prep.origins(cut, synth.weeks(9)), len(y))
    _, p50, _ = model.quantiles(r)
    full = ff.counts(model.raw(r.x), r.base)
    assert np.abs(p50 - r.y).mean() < np.abs(full - r.y).mean()
