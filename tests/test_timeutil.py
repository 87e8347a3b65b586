"""a2d.timeutil.normalise: network-server time text -> our UTC form ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from a2d.timeutil import iso, normalise, parse


def ours(dt: datetime) -> str:
    """The expected text, spelled out independently of timeutil (always a four-digit year)."""
    u = dt.astimezone(UTC)
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
        f".{u.microsecond:06d}Z"
    )


def render(dt: datetime, digits: str, suffix: str) -> str:
    """RFC 3339 text for ``dt`` (whole seconds) with the given fractional digits and UTC suffix."""
    whole = f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
    return whole + (f".{digits}" if digits else "") + suffix


# Years from 1000: below that, iso() writes a three-digit year (see test_years_before_1000_*).
UTC_TIMES = st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)).map(
    lambda d: d.replace(microsecond=0, tzinfo=UTC)
)
FRACTIONS = st.integers(0, 9).flatmap(lambda n: st.text("0123456789", min_size=n, max_size=n))


@given(UTC_TIMES, FRACTIONS, st.sampled_from(["Z", "+00:00"]))
def test_fast_path_equals_slow_path(dt: datetime, digits: str, suffix: str) -> None:
    text = render(dt, digits, suffix)
    assert normalise(text) == iso(parse(text))


@given(UTC_TIMES, FRACTIONS, st.sampled_from(["Z", "+00:00"]))
def test_utc_text_keeps_its_instant_to_the_microsecond(dt: datetime, digits: str, suffix: str) -> None:
    text = render(dt, digits, suffix)
    micro = int((digits + "000000")[:6])
    assert normalise(text) == ours(dt.replace(microsecond=micro))


@given(UTC_TIMES, FRACTIONS, st.sampled_from(["Z", "+00:00", "+02:00", "-05:30"]))
def test_normalise_is_idempotent(dt: datetime, digits: str, suffix: str) -> None:
    once = normalise(render(dt, digits, suffix))
    assert normalise(once) == once


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-07-18T09:34:15.775023242+00:00", "2022-07-18T09:34:15.775023Z"),  # ChirpStack
        ("2020-02-12T15:15:45.789585559Z", "2020-02-12T15:15:45.789585Z"),  # The Things Stack
        ("2020-02-12T15:15:45.787Z", "2020-02-12T15:15:45.787000Z"),
        ("2020-02-12T15:15:45Z", "2020-02-12T15:15:45.000000Z"),
        ("2024-02-29T23:59:59.999999999Z", "2024-02-29T23:59:59.999999Z"),  # truncated, not rounded
    ],
)
def test_network_server_examples(text: str, expected: str) -> None:
    assert normalise(text) == expected


OFFSETS = st.integers(-14 * 60, 14 * 60).filter(bool).map(lambda m: timezone(timedelta(minutes=m)))


@given(
    st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30)),
    OFFSETS,
)
def test_other_offsets_convert_to_utc(local: datetime, tz: timezone) -> None:
    dt = local.replace(tzinfo=tz)
    assert normalise(dt.isoformat()) == ours(dt)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-07-18T11:34:15.775023242+02:00", "2022-07-18T09:34:15.775023Z"),
        ("2022-12-31T23:30:00-01:00", "2023-01-01T00:30:00.000000Z"),  # across a year
        ("2024-03-01T00:15:00+05:30", "2024-02-29T18:45:00.000000Z"),  # back into a leap day
        ("2026-03-29T03:00:00+02:00", "2026-03-29T01:00:00.000000Z"),  # Offenburg's spring forward
        ("2026-10-25T02:30:00+01:00", "2026-10-25T01:30:00.000000Z"),
    ],
)
def test_offset_examples(text: str, expected: str) -> None:
    assert normalise(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2022-02-30T00:00:00Z",  # Feb 30
        "2023-02-29T00:00:00Z",  # not a leap year
        "2022-07-18T24:00:00Z",  # hour 24
        "2022-13-01T00:00:00Z",  # month 13
        "2022-00-10T00:00:00Z",
        "2022-07-32T00:00:00Z",
        "2022-07-18T09:60:00Z",
        "2022-07-18T09:34:61Z",
        "2022-02-30T00:00:00+02:00",  # the same mistakes on the slow path
        "2022-07-18T24:00:00+02:00",
        "2022-13-01T00:00:00-01:00",
        "",
        "   ",
        "garbage",
        "yesterday at noon",
        "18.07.2022 09:34",
        "2022-07-18T09:34:15ZZ",
        "2022-07-18T09:34:15+25:00",
        "Z",
    ],
)
def test_invalid_time_raises_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        normalise(text)


# --- bugs ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_time_outside_the_calendar_in_utc_raises_value_error(text: str) -> None:
    """parse() lets astimezone's OverflowError through; callers (the parsers) only catch ValueError."""
    with pytest.raises(ValueError):
        normalise(text)


@pytest.mark.parametrize("text", ["٢٠٢٢-07-18T09:34:15Z", "2022-07-18T09:34:1٥Z", "２０２２-07-18T09:34:15Z"])
def test_non_ascii_digits_are_rejected(text: str) -> None:
    """The fast path's ``\\d`` matches any Unicode digit and returns the text unchanged; the slow path
    (fromisoformat) rejects the same text with an offset."""
    with pytest.raises(ValueError):
        normalise(text)


def test_years_before_1000_keep_four_digits() -> None:
    """iso() uses strftime("%Y"), which glibc does not pad: year 999 becomes "999-…", so the slow path
    disagrees with the fast path ("0999-…") and the text no longer sorts as time."""
    assert normalise("0999-06-01T12:00:00+00:00") == "0999-06-01T12:00:00.000000Z"
    assert normalise("0999-06-01T12:00:00+02:00") == "0999-06-01T10:00:00.000000Z"
    assert iso(datetime(999, 6, 1, tzinfo=UTC)) == "0999-06-01T00:00:00.000000Z"
