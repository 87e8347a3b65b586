"""Signed bundles: what a device accepts, what it refuses (tampering, replay, foreign targets, unknown
or expired keys), how a key rotation reaches it, and that the last good bundle stays."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from a2d import bundles
from a2d.bundles import Applied, BundleError, Identity, TrustedKeys
from edge_agent import bundles as edge_bundles
from edge_agent.store import Store

KEY = bundles.new_private_key()
PUBLIC = bundles.public_key_text(KEY)
TRUST = TrustedKeys.configured([PUBLIC])
ME = Identity("edge-rathaus-1", "rathaus")
NOW = datetime(2026, 6, 2, 8, tzinfo=UTC)


def doc(kind: str = "content", version: str = "v1", content: bytes = b'{"services": []}', counter: int = 1,
        target: str = "all", key: Ed25519PrivateKey = KEY) -> dict:  # fmt: skip
    return bundles.sign(key, kind, version, counter, target, content).as_dict()


def verify(
    d: dict, applied: Applied | None = None, trust: TrustedKeys = TRUST, now: datetime = NOW
) -> bundles.Bundle:
    return bundles.verify(d, trust, d.get("kind", "content"), ME, now=now, applied=applied)


def test_a_signed_bundle_verifies_and_names_its_key() -> None:
    d = doc(counter=5, target="site:rathaus")
    b = verify(d)
    assert (b.content, b.version, b.counter, b.target) == (b'{"services": []}', "v1", 5, "site:rathaus")
    assert d["key_id"] == bundles.key_id(KEY) == bundles.key_id(PUBLIC) and len(d["key_id"]) == 16
    assert b.etag == f'"5-{b.sha256}"' and b.as_dict() == d


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d.update(content=base64.b64encode(b'{"services": [1]}').decode()), "truncated"),
        (lambda d: d.update(content=base64.b64encode(b'{"services": []!').decode()), "sha256"),
        (lambda d: d.update(version="v2"), "signature does not match"),
        (lambda d: d.update(counter=99), "signature does not match"),  # a replay with a new counter
        (lambda d: d.update(target="device:edge-rathaus-1"), "signature does not match"),  # re-aimed
        (lambda d: d.update(kind="config"), "asked for a content bundle"),
        (lambda d: d.update(signature=base64.b64encode(b"\0" * 64).decode()), "signature does not match"),
        (lambda d: d.update(key_id="00" * 8), "not trusted here"),
        (lambda d: d.update(content="***"), "malformed"),
        (lambda d: d.pop("sha256"), "malformed"),
        (lambda d: d.pop("signature"), "malformed"),
        (lambda d: d.update(counter="7"), "counter is a whole number"),
        (lambda d: d.update(counter=0), "counter is a whole number from 1"),
        (lambda d: d.update(target="site:Rathaus Nord"), "a target is all, site:<site> or device:<device id>"),
        (lambda d: d.update(version="v1\nall"), "printable"),
        (lambda d: d.update(format="zip"), "not an a2d-bundle/2"),
    ],
)  # fmt: skip
def test_tampered_or_truncated_bundles_are_refused(change, reason: str) -> None:
    d = doc()
    change(d)
    with pytest.raises(BundleError, match=reason):
        bundles.verify(d, TRUST, "content", ME, now=NOW)


def test_a_version_1_bundle_is_refused_as_replayable() -> None:
    old = {"format": "a2d-bundle/1", "kind": "content", "version": "v1", "sha256": "0" * 64, "size": 0,
           "content": "", "signature": ""}  # fmt: skip
    with pytest.raises(BundleError, match="version-1 .* could be replayed: the server must publish it again"):
        verify(old)


def test_a_bundle_signed_by_an_unknown_key_is_refused() -> None:
    rogue = bundles.new_private_key()
    with pytest.raises(
        BundleError, match=f"signed with key {bundles.key_id(rogue)}, which is not trusted here"
    ):
        verify(doc(key=rogue))


def test_only_bundles_for_all_this_site_or_this_device_are_taken() -> None:
    for target in ("all", "site:rathaus", "device:edge-rathaus-1"):
        assert verify(doc(target=target)).target == target
    for target in ("site:ov-zell-weierbach", "device:edge-rathaus-2"):
        with pytest.raises(BundleError, match=f"meant for {target}, not for this device"):
            verify(doc(target=target))
    no_site = Identity("edge-rathaus-1")
    with pytest.raises(BundleError, match="meant for site:rathaus"):
        bundles.verify(doc(target="site:rathaus"), TRUST, "content", no_site, now=NOW)


def test_an_older_bundle_is_a_replay_and_the_same_one_again_a_no_op() -> None:
    applied = Applied(7, verify(doc(counter=7)).sha256)
    assert verify(doc(counter=8, content=b"newer"), applied).counter == 8
    assert verify(doc(counter=7), applied).counter == 7  # the same bundle again
    with pytest.raises(BundleError, match="counter 6 is older than the applied 7"):
        verify(doc(counter=6, content=b"older but validly signed"), applied)
    with pytest.raises(BundleError, match="counter 7 is the applied bundle's, with other content"):
        verify(doc(counter=7, content=b"other"), applied)


@given(st.binary(max_size=256), st.integers(min_value=0, max_value=1000))
def test_any_flipped_byte_is_refused(content: bytes, where: int) -> None:
    d = doc(content=content + b"x")
    raw = bytearray(base64.b64decode(d["content"]))
    raw[where % len(raw)] ^= 0x01
    d["content"] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(BundleError):
        verify(d)


def test_an_unsigned_bundle_is_signed_elsewhere_and_then_verifies() -> None:
    plain = bundles.unsigned("config", "2026-06", 3, "device:edge-rathaus-1", b"[kiosk]\nidle_s = 90\n")
    exported = json.loads(json.dumps(plain.as_dict()))
    assert "signature" not in exported and "key_id" not in exported
    with pytest.raises(BundleError, match="malformed"):
        bundles.verify(exported, TRUST, "config", ME, now=NOW)
    again = bundles.sign_bundle(bundles.parse(exported, signed=False), KEY)
    assert bundles.verify(again.as_dict(), TRUST, "config", ME, now=NOW).counter == 3


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"not json", "holds JSON"),
        (b'{"keys": []}', "1 to 16 keys"),
        (b'{"keys": [{"until": null}]}', "no public_key"),
        (json.dumps({"keys": [{"public_key": PUBLIC}, {"public_key": PUBLIC}]}).encode(), "twice"),
        (json.dumps({"keys": [{"public_key": PUBLIC, "until": "next week"}]}).encode(), "ISO 8601"),
        (json.dumps({"keys": [{"public_key": "c2hvcnQ="}]}).encode(), "not an Ed25519 public key"),
    ],
)
def test_a_bad_keys_list_cannot_even_be_signed(content: bytes, reason: str) -> None:
    with pytest.raises(BundleError, match=reason):
        bundles.sign(KEY, "keys", "v1", 1, "all", content)


def test_trusted_keys_are_the_anchor_then_the_keys_bundles_list() -> None:
    new = bundles.new_private_key()
    until = NOW + timedelta(days=90)
    listed = bundles.parse_keys(
        bundles.keys_content(
            [bundles.trusted_key(bundles.public_key_text(new)), bundles.trusted_key(PUBLIC, until)]
        )
    )
    assert set(TRUST.valid(NOW)) == {bundles.key_id(KEY)}
    after = TRUST.with_list(listed)
    assert set(after.valid(NOW)) == {bundles.key_id(KEY), bundles.key_id(new)}
    assert set(after.valid(until)) == {bundles.key_id(new)}  # the old key's time is up
    assert listed[1].until == "2026-08-31T08:00:00Z"


# --- on the edge device ------------------------------------------------------------------------


@pytest.fixture
def device(tmp_path: Path) -> Iterator[tuple[Path, Store]]:
    """A data folder with the agent's database (where applied counters are recorded)."""
    store = Store(tmp_path / edge_bundles.DB_FILE)
    yield tmp_path, store
    store.close()


def trust(*keys: str, site: str = "rathaus") -> edge_bundles.DeviceTrust:
    return edge_bundles.DeviceTrust(
        TrustedKeys.configured(keys or [PUBLIC]), Identity("edge-rathaus-1", site)
    )


def apply(folder: Path, store: Store, d: dict, kind: str = "content", now: datetime = NOW,
          t: edge_bundles.DeviceTrust | None = None) -> bundles.Bundle:  # fmt: skip
    """What the sync client does: apply, then record the counter on the writer."""
    b = edge_bundles.apply(folder, d, kind, t or trust(), now=now)
    with store.atomic() as db:
        edge_bundles.record(db, kind, "2026-06-02T08:00:00Z", b)
    return b


def test_apply_keeps_the_last_good_bundle(device: tuple[Path, Store]) -> None:
    folder, store = device
    apply(folder, store, doc(version="v1"))
    bad = doc(version="v2", content=b"new content", counter=2)
    bad["content"] = base64.b64encode(b"evil content").decode()
    with pytest.raises(BundleError):
        edge_bundles.apply(folder, bad, "content", trust(), now=NOW)
    kept = edge_bundles.current(folder, "content", trust(), now=NOW)
    assert kept is not None and kept.version == "v1"
    apply(folder, store, doc(version="v3", content=b"newer", counter=3))
    now = edge_bundles.current(folder, "content", trust(), now=NOW)
    assert now is not None and now.content == b"newer"
    assert [p.name for p in (folder / "bundles").iterdir()] == ["content.json"]  # no temporary files left
    assert [(s["kind"], s["counter"]) for s in edge_bundles.status(store.db)] == [("content", 3)]


def test_a_replayed_older_bundle_is_refused_on_the_device(device: tuple[Path, Store]) -> None:
    folder, store = device
    old = doc(version="old", content=b"opening hours 2025", counter=4)
    apply(folder, store, old)
    apply(folder, store, doc(version="new", content=b"opening hours 2026", counter=5))
    with pytest.raises(BundleError, match="counter 4 is older than the applied 5"):
        edge_bundles.apply(folder, old, "content", trust(), now=NOW)
    # nor can the older file be put in place of the newer one: reading checks the counter again
    (folder / "bundles" / "content.json").write_text(json.dumps(old))
    with pytest.raises(BundleError, match="older than the applied 5"):
        edge_bundles.current(folder, "content", trust(), now=NOW)


def test_a_bundle_for_another_site_is_refused_on_the_device(device: tuple[Path, Store]) -> None:
    folder, store = device
    with pytest.raises(BundleError, match="meant for site:ov-zell-weierbach"):
        edge_bundles.apply(folder, doc(target="site:ov-zell-weierbach"), "content", trust(), now=NOW)
    assert apply(folder, store, doc(target="site:rathaus")).target == "site:rathaus"
    # the device moves to another site: what was meant for the old one is no longer used
    with pytest.raises(BundleError, match="meant for site:rathaus"):
        edge_bundles.current(folder, "content", trust(site="ov-zell-weierbach"), now=NOW)


def test_a_bundle_changed_on_disk_is_not_trusted(device: tuple[Path, Store]) -> None:
    folder, store = device
    apply(folder, store, doc(kind="config"), "config")
    path = folder / "bundles" / "config.json"
    d = json.loads(path.read_text())
    d["content"] = base64.b64encode(b"edited by hand").decode()
    path.write_text(json.dumps(d))
    with pytest.raises(BundleError):
        edge_bundles.current(folder, "config", trust(), now=NOW)


def test_rotation_a_device_trusting_the_old_key_moves_to_the_new_one(device: tuple[Path, Store]) -> None:
    folder, store = device
    new = bundles.new_private_key()
    until = NOW + timedelta(days=90)
    listed = bundles.keys_content(
        [bundles.trusted_key(bundles.public_key_text(new)), bundles.trusted_key(PUBLIC, until)]
    )
    from_new = doc(content=b"signed with the new key", counter=2, key=new)
    with pytest.raises(BundleError, match="not trusted here"):  # before the rotation reached it
        edge_bundles.apply(folder, from_new, "content", trust(), now=NOW)
    forged = doc(kind="keys", content=listed, key=new)  # a list signed by the key it introduces
    with pytest.raises(BundleError, match="not trusted here"):
        edge_bundles.apply(folder, forged, "keys", trust(), now=NOW)

    apply(folder, store, doc(kind="keys", content=listed, counter=1), "keys")  # signed with the old key
    assert apply(folder, store, from_new).content == b"signed with the new key"
    assert apply(folder, store, doc(content=b"old key, in time", counter=3), now=until - timedelta(seconds=1))
    later = until + timedelta(seconds=1)
    with pytest.raises(
        BundleError, match=f"signed with key {bundles.key_id(KEY)}, which is not trusted here"
    ):
        edge_bundles.apply(
            folder, doc(content=b"old key, too late", counter=4), "content", trust(), now=later
        )
    # the keys bundle itself, signed with the old key, still reads back after the old key's time
    keys_now = edge_bundles.current(folder, "keys", trust(), now=later)
    assert keys_now is not None and keys_now.counter == 1
    assert set(edge_bundles.trusted_keys(folder, trust()).valid(later)) == {bundles.key_id(new)}
    assert apply(folder, store, doc(content=b"new key, later", counter=5, key=new), now=later).counter == 5


def test_a_list_of_keys_written_on_disk_is_not_trusted(device: tuple[Path, Store]) -> None:
    folder, store = device
    rogue = bundles.new_private_key()
    apply(
        folder, store, doc(kind="keys", content=bundles.keys_content([bundles.trusted_key(PUBLIC)])), "keys"
    )
    # someone writes a list naming their own key, signed by that key
    own = doc(kind="keys", counter=2, key=rogue,
              content=bundles.keys_content([bundles.trusted_key(bundles.public_key_text(rogue))]))  # fmt: skip
    (folder / "bundles" / "keys.json").write_text(json.dumps([own]))
    keys = edge_bundles.trusted_keys(folder, trust())
    assert keys == trust().anchors  # not the rogue list: the chain must start with a configured key
    with pytest.raises(BundleError, match="not trusted here"):
        edge_bundles.apply(folder, doc(content=b"rogue", counter=9, key=rogue), "content", trust(), now=NOW)
