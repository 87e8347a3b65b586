"""The claim notice the kiosk reads (a2d/claimwire.py)."""

from __future__ import annotations

import stat

import pytest

from a2d import claimwire
from a2d.claimwire import ClaimNotice, NoticeError


def test_a_notice_goes_through_the_file_whole_and_readable_by_the_kiosk(tmp_path):
    path = tmp_path / "run" / "a2d" / "claim.json"
    notice = ClaimNotice("012345", "10000000a1b2c3d4", "2026-12-03T14:00:00+00:00")
    claimwire.write(path, notice)
    assert claimwire.read(path) == notice
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in path.parent.iterdir()] == ["claim.json"]  # no temporary file left
    claimwire.remove(path)
    assert claimwire.read(path) is None
    claimwire.remove(path)  # twice is fine


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"{", "not JSON"),
        (b"[]", "version 1"),
        (b'{"v": 2, "code": "012345", "serial": "abcd1234"}', "version 1"),
        (b'{"v": 1, "code": "12345", "serial": "abcd1234"}', "'code'"),
        (b'{"v": 1, "code": "\\u0661\\u0662\\u0663\\u0664\\u0665\\u0666", "serial": "abcd1234"}', "'code'"),
        (b'{"v": 1, "code": "012345", "serial": "ab\\n12345"}', "'serial'"),
        (b'{"v": 1, "code": "012345", "serial": "abcd1234", "locked_until": 5}', "'locked_until'"),
        (b" " * 5000, "at most"),
    ],
)
def test_a_broken_notice_is_refused_with_a_reason(tmp_path, raw, says):
    path = tmp_path / "claim.json"
    path.write_bytes(raw)
    with pytest.raises(NoticeError, match=says):
        claimwire.read(path)


def test_a_lock_ends_at_its_time():
    from datetime import UTC, datetime, timedelta

    until = datetime(2026, 12, 3, 14, 10, tzinfo=UTC)
    notice = ClaimNotice("012345", "abcd1234", until.isoformat())
    assert notice.locked_at(until - timedelta(seconds=1))
    assert not notice.locked_at(until)
    assert not ClaimNotice("012345", "abcd1234").locked_at(until)
    assert ClaimNotice("012345", "abcd1234", "garbage").locked_at(until)
