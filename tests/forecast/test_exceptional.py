"""Exceptional periods (a lockdown): found in the training counts and left out; lasting shifts stay."""

from __future__ import annotations

from datetime import date

import numpy as np

from a2d import hourgrid
from sync_server.forecast import calendar, series
from sync_server.forecast.model import Prepared, exceptional_days

from . import synth


def _prepared(shifts: dict[int, float]) -> Prepared:
    data = synth.counts(synth.START, synth.weeks(20), seed=3, shifts=shifts)
    start = hourgrid.epoch_hour(data[0][0])
    s = series.Series("synthetic", synth.TZ, start, np.array([c for _, c in data]))
    cal, _ = calendar.build("DE-BW", date(2023, 12, 1), date(2024, 12, 31))
    return Prepared.make(s, cal)


def test_a_collapse_with_recovery_is_exceptional() -> None:
    # three weeks at a tenth of the usual counts from week 9, then back to normal
    prep = _prepared({synth.weeks(9): 0.1, synth.weeks(12): 10.0})
    days = exceptional_days(prep, len(prep.series.values))
    first = prep.lh.ordinal[synth.weeks(9)]
    dip = set(range(int(first), int(first) + 21))
    assert set(days.tolist()) <= set(range(int(first) - 3, int(first) + 24))
    assert len(dip & set(days.tolist())) >= 18


def test_a_lasting_shift_and_the_unseen_future_are_not() -> None:
    # a counter moved: a third of the counts from week 9 on, for good
    prep = _prepared({synth.weeks(9): 0.3})
    assert len(exceptional_days(prep, len(prep.series.values))) == 0
    # the same collapse as above, judged before its recovery was counted: nothing to leave out yet
    prep = _prepared({synth.weeks(9): 0.1, synth.weeks(12): 10.0})
    assert len(exceptional_days(prep, synth.weeks(11))) == 0
