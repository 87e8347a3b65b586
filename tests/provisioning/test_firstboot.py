"""firstboot installs a bundle into a root folder: configs, secrets 0600 and owned, kiosk pairing,
units enabled, nothing left on the boot partition, the same again when run twice."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pytest

from a2d import firstboot, kioskpairing
from a2d.errors import KnownError
from provisioning import configs
from provisioning import firstboot as fb

TOKEN = "device-token-" + "x" * 30
KIOSK_TOKEN = kioskpairing.new_token()


def bundle(role: str = "edge+kiosk+bridge", token: str = TOKEN) -> firstboot.FirstbootBundle:
    d = configs.Device("edge-test-1", "Edge Test 1", "rathaus", "http://127.0.0.1:9", trusted_keys=("k",))
    pairing = configs.KioskPairing("edge-test-1-kiosk", "edge-test-1", "http://127.0.0.1:8780")
    files = {"edge.toml": configs.edge_toml(d), "kiosk.toml": configs.kiosk_toml(d, pairing),
             "bridge.toml": configs.bridge_toml(d)}  # fmt: skip
    kiosk = {"kiosk_id": "edge-test-1-kiosk", "name": "k", "token_sha256": kioskpairing.token_hash(KIOSK_TOKEN),
             "added_at": "2026-06-02T08:00:00.000000Z"}  # fmt: skip
    return firstboot.FirstbootBundle(
        "edge-test-1", "Edge Test 1", "rathaus", role, "2026-06-02T08:00:00.000000Z", "http://127.0.0.1:9",
        configs={k: v for k, v in files.items() if k.split(".")[0] in firstboot.ROLES[role]},
        secrets={"sync.token": token, "kiosk.token": KIOSK_TOKEN}, kiosks=(kiosk,),
    )  # fmt: skip


def card(tmp_path: Path, b: firstboot.FirstbootBundle) -> tuple[Path, Path]:
    boot, root = tmp_path / "boot", tmp_path / "root"
    boot.mkdir(exist_ok=True)
    root.mkdir(exist_ok=True)
    (boot / firstboot.FILE).write_bytes(b.to_bytes())
    return boot, root


def files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink()}


def test_a_bundle_is_installed_and_taken_off_the_boot_partition(tmp_path: Path) -> None:
    boot, root = card(tmp_path, bundle())
    (boot / "config.txt").write_text("arm_64bit=1\n")
    notes = fb.run(boot, root)
    assert sorted(p.name for p in boot.iterdir()) == ["config.txt"]
    etc = root / "etc/a2d"
    assert (etc / "sync.token").read_text().strip() == TOKEN
    for secret in ("sync.token", "kiosk.token", *()):
        assert (etc / secret).stat().st_mode & 0o777 == 0o600, secret
    pairs = json.loads((root / "var/lib/a2d/edge" / kioskpairing.FILE).read_text())
    assert pairs["format"] == kioskpairing.FORMAT and pairs["kiosks"][0]["kiosk_id"] == "edge-test-1-kiosk"
    assert (root / "var/lib/a2d/edge" / kioskpairing.FILE).stat().st_mode & 0o777 == 0o600
    edge = tomllib.loads((etc / "edge.toml").read_text())
    assert edge["device"]["id"] == "edge-test-1" and edge["sync"]["token_file"] == "/etc/a2d/sync.token"
    assert "token" not in edge["sync"]  # the config holds no secret: it may be read by all
    assert (etc / "edge.toml").stat().st_mode & 0o777 == 0o644
    for unit in ("a2d-edge.service", "a2d-kiosk.service", "a2d-bridge.service"):
        wants = root / "etc/systemd/system/multi-user.target.wants" / unit
        assert os.readlink(wants) == f"/etc/systemd/system/{unit}"  # as the device sees it
        assert (root / "etc/systemd/system" / unit).read_text() == (fb.CHECKOUT_UNITS / unit).read_text()
    assert json.loads((etc / "device.json").read_text())["device_id"] == "edge-test-1"
    assert "secrets" not in (etc / "device.json").read_text()
    assert any("no user a2d-edge" in n for n in notes)  # an empty root has no service users: said


def test_twice_is_the_same_and_a_new_bundle_replaces_the_old(tmp_path: Path) -> None:
    boot, root = card(tmp_path, bundle())
    fb.run(boot, root)
    before = {p: (root / p).read_bytes() for p in files(root) if not (root / p).is_symlink()}
    assert fb.run(boot, root)[0].startswith("nothing to do: set up as edge-test-1")
    assert {p: (root / p).read_bytes() for p in files(root) if not (root / p).is_symlink()} == before
    (root / "var/lib/a2d/edge" / kioskpairing.FILE).write_text(json.dumps(
        {"format": kioskpairing.FORMAT, "kiosks": [{"kiosk_id": "other", "name": "o", "token_sha256": "0" * 64,
                                                   "added_at": "x"}]}))  # fmt: skip
    card(tmp_path, bundle(token="rotated-token-" + "y" * 30))
    fb.run(boot, root)
    assert (root / "etc/a2d/sync.token").read_text().strip().startswith("rotated-token-")
    kiosks = json.loads((root / "var/lib/a2d/edge" / kioskpairing.FILE).read_text())["kiosks"]
    assert sorted(k["kiosk_id"] for k in kiosks) == ["edge-test-1-kiosk", "other"]  # others kept


def test_the_service_users_own_their_secrets(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.fail("this test runs as root (make test does): only root can give files away")
    boot, root = card(tmp_path, bundle("edge+kiosk"))
    (root / "etc").mkdir()
    (root / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/bash\na2d-edge:x:991:981::/nonexistent:/usr/sbin/nologin\n"
        "a2d-kiosk:x:992:982::/nonexistent:/usr/sbin/nologin\n"
    )
    notes = fb.run(boot, root)
    assert not any("no user" in n for n in notes)
    for path, owner in (("etc/a2d/sync.token", 991), ("etc/a2d/kiosk.token", 992), ("var/lib/a2d/edge", 991),
                        ("var/lib/a2d/edge/kiosks.json", 991), ("var/lib/a2d/kiosk", 992)):  # fmt: skip
        st = (root / path).stat()
        assert (st.st_uid, st.st_gid) == (owner, owner - 10), path
    assert not (root / "etc/systemd/system/a2d-bridge.service").exists()  # not this role's


def test_a_unit_the_package_installed_is_enabled_not_copied(tmp_path: Path) -> None:
    boot, root = card(tmp_path, bundle("edge"))
    (root / "lib/systemd/system").mkdir(parents=True)
    (root / "lib/systemd/system/a2d-edge.service").write_text("[Service]\n")
    fb.run(boot, root)
    assert os.readlink(root / "etc/systemd/system/multi-user.target.wants/a2d-edge.service") == (
        "/lib/systemd/system/a2d-edge.service"
    )
    assert not (root / "etc/systemd/system/a2d-edge.service").exists()


def test_a_config_holding_a_secret_is_written_like_one(tmp_path: Path) -> None:
    b = bundle("edge")
    b = firstboot.FirstbootBundle(**{**b.__dict__, "configs": {"edge.toml": b.configs["edge.toml"].replace(
        '[mqtt]\n', '[mqtt]\npassword = "broker-secret"\n')}})  # fmt: skip
    boot, root = card(tmp_path, b)
    fb.run(boot, root)
    assert (root / "etc/a2d/edge.toml").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda d: d.update(format="a2d-firstboot/0"), "is not an a2d-firstboot/1 bundle"),
        (lambda d: d.update(role="toaster"), "role 'toaster'"),
        (lambda d: d["configs"].update({"../../etc/shadow": "x"}), "configs names '../../etc/shadow'"),
        (lambda d: d["secrets"].update({"../.ssh/authorized_keys": "x"}), "secrets names"),
        (lambda d: d["configs"].pop("kiosk.toml"), "needs kiosk.toml"),
        (lambda d: d.update(device_id="a\nb"), "device_id must be one line"),
    ],
)
def test_a_bad_bundle_installs_nothing(tmp_path: Path, change, says: str) -> None:
    doc = bundle("edge+kiosk").as_dict()
    change(doc)
    boot, root = card(tmp_path, bundle())
    (boot / firstboot.FILE).write_text(json.dumps(doc))
    with pytest.raises(KnownError, match=says.replace("(", r"\(")):
        fb.run(boot, root)
    assert files(root) == set() and (boot / firstboot.FILE).exists()


def test_no_bundle_and_never_set_up_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "boot").mkdir()
    with pytest.raises(KnownError, match="no first-boot bundle"):
        fb.run(tmp_path / "boot", tmp_path)
    (tmp_path / "boot" / firstboot.FILE).write_bytes(b"\x00" * (firstboot.MAX_BYTES + 1))
    with pytest.raises(KnownError, match="more than a bundle may have"):
        fb.run(tmp_path / "boot", tmp_path)
