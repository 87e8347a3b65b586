"""Key rotation end to end, on SQLite and PostgreSQL: `a2d server signing-key rotate` publishes a keys
bundle signed with the old key, signs the current bundles again with the new one, keeps the old key
file until its date; a device that trusts only the old key follows, and refuses the old key later."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from a2d import bundles
from a2d.bundles import BundleError, Identity, TrustedKeys, bundle_path
from edge_agent import bundles as edge_bundles
from edge_agent.store import Store
from sync_server import signing
from sync_server.db import Database
from tests.signedpack import demo_pack_bytes

from .conftest import add_device, bearer
from .test_bundles import run


class Device:
    """An edge device's bundle handling (edge_agent.bundles) fed by the test client, as its sync would."""

    def __init__(self, folder: Path, device_id: str, token: str, client: TestClient, trusted: str) -> None:
        self.folder, self.token, self.client = folder, token, client
        self.trust = edge_bundles.DeviceTrust(TrustedKeys.configured([trusted]), Identity(device_id))
        self.store = Store(folder / edge_bundles.DB_FILE)

    def fetch(self, kind: str, now: datetime | None = None) -> bundles.Bundle:
        r = self.client.get(bundle_path(self.trust.identity.device_id, kind), headers=bearer(self.token))
        assert r.status_code == 200, r.text
        return self.apply(r.json(), kind, now)

    def apply(self, doc: dict, kind: str, now: datetime | None = None) -> bundles.Bundle:
        b = edge_bundles.apply(self.folder, doc, kind, self.trust, now=now)
        with self.store.atomic() as db:
            edge_bundles.record(db, kind, "2026-06-02T08:00:00Z", b)
        return b


@pytest.fixture
def device(tmp_path: Path, db: Database, client: TestClient) -> Iterator[tuple[Device, Path, str]]:
    """A device registered with the server, trusting only the server's first key (made here)."""
    key_file = tmp_path / "srv" / "signing.key"
    old = signing.create(key_file)
    device_id, token = add_device(db, "edge-rathaus-1")
    d = Device(tmp_path / "edge", device_id, token, client, bundles.public_key_text(old))
    yield d, key_file, bundles.public_key_text(old)
    d.store.close()


def test_a_device_trusting_only_the_old_key_follows_a_rotation(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, db_url: str, device: tuple[Device, Path, str]
) -> None:
    d, key_file, old_public = device
    (tmp_path / "pack.json").write_bytes(demo_pack_bytes("Meldebescheinigung"))
    publish = (
        "bundle",
        "publish",
        "content",
        str(tmp_path / "pack.json"),
        "--db",
        db_url,
        "--key",
        str(key_file),
    )
    assert run(capsys, *publish)[0] == 0
    assert d.fetch("content").key_id == bundles.key_id(old_public)

    until = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    code, out, err = run(capsys, "signing-key", "rotate", "--keep-old-until", until.isoformat(), "--key",
                         str(key_file), "--db", db_url, "--json")  # fmt: skip
    assert code == 0, err
    rotated = json.loads(out)
    new_public = rotated["public_key"]
    assert (
        rotated["old_key_id"] == bundles.key_id(old_public) != rotated["key_id"] == bundles.key_id(new_public)
    )
    assert rotated["old_trusted_until"] == bundles.until_text(until) and rotated["resigned"] == 1
    retired = Path(rotated["old_key_file"])
    assert bundles.public_key_text(signing.load(retired)) == old_public
    assert stat.S_IMODE(retired.stat().st_mode) == 0o600
    assert run(capsys, "signing-key", "--key", str(key_file), "--public")[1] == new_public + "\n"
    assert sorted(p.name for p in key_file.parent.iterdir()) == sorted(["signing.key", retired.name])
    listed = [
        json.loads(line)
        for line in run(capsys, "signing-key", "list", "--db", db_url, "--json")[1].splitlines()
    ]
    assert {k["key_id"]: (k["retire_at"] is None, k["active"]) for k in listed} == {
        bundles.key_id(old_public): (False, True), bundles.key_id(new_public): (True, True)
    }  # fmt: skip

    # the content signed again with the new key: refused until the keys bundle is applied
    served = d.client.get(bundle_path(d.trust.identity.device_id, "content"), headers=bearer(d.token)).json()
    assert served["key_id"] == bundles.key_id(new_public) and served["counter"] == 2
    with pytest.raises(BundleError, match="not trusted here"):
        d.apply(served, "content")
    keys = d.fetch("keys")  # signed with the old key, which the device trusts
    assert keys.key_id == bundles.key_id(old_public)
    assert [(k.public_key, k.until) for k in bundles.parse_keys(keys.content)] == [
        (new_public, None), (old_public, bundles.until_text(until))
    ]  # fmt: skip
    assert d.fetch("content").counter == 2
    assert run(capsys, *publish, "--version", "after")[0] == 0  # signed with the new key file now
    assert d.fetch("content").version == "after"

    # after the old key's time, a bundle it signs is refused; the new key goes on
    old_key, later = signing.load(retired), until + timedelta(seconds=1)
    with pytest.raises(
        BundleError, match=f"signed with key {bundles.key_id(old_public)}, which is not trusted"
    ):
        d.apply(
            bundles.sign(old_key, "content", "late", 10, "all", b"old key, too late").as_dict(),
            "content",
            later,
        )
    new_key = signing.load(key_file)
    assert d.apply(bundles.sign(new_key, "content", "ok", 11, "all", b"new key").as_dict(), "content", later)
    assert signing.remove_expired(key_file, later) == [retired] and not retired.exists()


def test_a_second_rotation_and_the_rotate_flag(
    capsys: pytest.CaptureFixture[str], db_url: str, device: tuple[Device, Path, str]
) -> None:
    d, key_file, first = device
    assert run(capsys, "signing-key", "rotate", "--key", str(key_file), "--db", db_url)[0] == 0
    second = run(capsys, "signing-key", "--key", str(key_file), "--public")[1].strip()
    code, out, err = run(capsys, "signing-key", "--rotate", "--key", str(key_file), "--db", db_url)
    assert code == 0 and "new signing key" in out and "trusted until" in out, err
    third = run(capsys, "signing-key", "--key", str(key_file), "--public")[1].strip()
    # a device that missed the first list cannot check the second (signed by a key it never learnt):
    # it must be given a current key by hand (docs/bundles.md says so)
    with pytest.raises(BundleError, match=f"signed with key {bundles.key_id(second)}"):
        d.fetch("keys")
    served = d.client.get(bundle_path(d.trust.identity.device_id, "keys"), headers=bearer(d.token)).json()
    b = bundles.parse(served)
    assert b.counter == 2 and {k.public_key for k in bundles.parse_keys(b.content)} == {first, second, third}
    default_until = datetime.now(UTC) + timedelta(days=90)
    untils = {k.public_key: k.until for k in bundles.parse_keys(b.content)}
    assert untils[third] is None and abs(
        bundles.parse_until(untils[second] or "") - default_until
    ) < timedelta(hours=1)
    # a rotation that would end the old key at once is refused
    code, _, err = run(capsys, "signing-key", "rotate", "--keep-old-until", "2020-01-01", "--key", str(key_file),
                       "--db", db_url)  # fmt: skip
    assert code == 1 and "must lie in the future" in err
