"""Signed bundles: what a device accepts, what it refuses, and that the last good one stays."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from a2d import bundles
from a2d.bundles import BundleError
from edge_agent import bundles as edge_bundles

KEY = bundles.new_private_key()
PUBLIC = bundles.public_key_text(KEY)


def doc(kind: str = "content", version: str = "v1", content: bytes = b'{"services": []}') -> dict:
    return bundles.sign(KEY, kind, version, content).as_dict()


def test_a_signed_bundle_verifies() -> None:
    b = bundles.verify(doc(), bundles.load_public_key(PUBLIC), "content")
    assert b.content == b'{"services": []}' and b.version == "v1" and b.etag == f'"{b.sha256}"'


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d.update(content=base64.b64encode(b'{"services": [1]}').decode()), "truncated"),
        (lambda d: d.update(content=base64.b64encode(b'{"services": []!').decode()), "sha256"),
        (lambda d: d.update(version="v2"), "signature"),
        (lambda d: d.update(kind="model"), "asked for a content bundle"),
        (lambda d: d.update(signature=base64.b64encode(b"\0" * 64).decode()), "signature"),
        (lambda d: d.update(content="***"), "malformed"),
        (lambda d: d.pop("sha256"), "malformed"),
        (lambda d: d.update(format="zip"), "not an"),
    ],
)  # fmt: skip
def test_tampered_or_truncated_bundles_are_refused(change, reason: str) -> None:
    d = doc()
    change(d)
    with pytest.raises(BundleError, match=reason):
        bundles.verify(d, bundles.load_public_key(PUBLIC), "content")


def test_another_servers_key_is_refused() -> None:
    other = bundles.load_public_key(bundles.public_key_text(bundles.new_private_key()))
    with pytest.raises(BundleError, match="signature"):
        bundles.verify(doc(), other)


@given(st.binary(max_size=256), st.integers(min_value=0, max_value=1000))
def test_any_flipped_byte_is_refused(content: bytes, where: int) -> None:
    d = doc(content=content + b"x")
    raw = bytearray(base64.b64decode(d["content"]))
    raw[where % len(raw)] ^= 0x01
    d["content"] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(BundleError):
        bundles.verify(d, bundles.load_public_key(PUBLIC))


def test_apply_keeps_the_last_good_bundle(tmp_path: Path) -> None:
    edge_bundles.apply(tmp_path, doc(version="v1"), "content", PUBLIC)
    bad = doc(version="v2", content=b"new content")
    bad["content"] = base64.b64encode(b"evil content").decode()
    with pytest.raises(BundleError):
        edge_bundles.apply(tmp_path, bad, "content", PUBLIC)
    kept = edge_bundles.current(tmp_path, "content", PUBLIC)
    assert kept is not None and kept.version == "v1"
    edge_bundles.apply(tmp_path, doc(version="v3", content=b"newer"), "content", PUBLIC)
    now = edge_bundles.current(tmp_path, "content", PUBLIC)
    assert now is not None and now.content == b"newer"
    assert [p.name for p in (tmp_path / "bundles").iterdir()] == ["content.json"]  # no temporary files left


def test_a_bundle_changed_on_disk_is_not_trusted(tmp_path: Path) -> None:
    edge_bundles.apply(tmp_path, doc(kind="config"), "config", PUBLIC)
    path = tmp_path / "bundles" / "config.json"
    d = json.loads(path.read_text())
    d["content"] = base64.b64encode(b"edited by hand").decode()
    path.write_text(json.dumps(d))
    with pytest.raises(BundleError):
        edge_bundles.current(tmp_path, "config", PUBLIC)
