"""The signed APT repository: `a2d server apt key|publish|sources` and `GET /apt/...`.

Small packages are built here with dpkg-deb; the signature is checked with gpgv, the tool apt
itself verifies with. apt reading the repository in a Debian root folder is in
tests_system/test_apt_updates.py.
"""

from __future__ import annotations

import gzip
import hashlib
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sync_server import aptkey, aptrepo, cli
from sync_server.app import create_app
from sync_server.config import ServerSettings

SUITE_DIR = "dists/bookworm"


def make_deb(folder: Path, version: str, payload: str = "one", arch: str = "amd64") -> Path:
    tree = folder / f"tree-{hashlib.sha256((version + payload).encode()).hexdigest()[:8]}"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN" / "control").write_text(
        f"Package: a2d-probe\nVersion: {version}\nArchitecture: {arch}\nMaintainer: t <t@localhost>\n"
        "Description: a probe\n two lines\nSHA256: not-this-one\n"
    )
    (tree / "usr/share/a2d-probe").mkdir(parents=True)
    (tree / "usr/share/a2d-probe/payload").write_text(payload)
    out = tree.with_suffix(".deb")
    # --nocheck: a version dpkg would refuse must reach the publisher, which must refuse it too
    subprocess.run(["dpkg-deb", "--nocheck", "--root-owner-group", "--build", str(tree), str(out)], check=True,
                   capture_output=True)  # fmt: skip
    return out


def stanzas(text: str) -> list[dict[str, str]]:
    return [aptrepo.parse_fields(block) for block in text.strip().split("\n\n") if block.strip()]


def gpgv(tmp_path: Path, public: Path, signed: Path) -> subprocess.CompletedProcess[bytes]:
    keyring = tmp_path / f"{public.name}.gpg"
    subprocess.run(["gpg", "--batch", "--yes", "--output", str(keyring), "--dearmor", str(public)],
                   check=True, capture_output=True)  # fmt: skip
    return subprocess.run(["gpgv", "--keyring", str(keyring), str(signed)], capture_output=True)


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("aptkey") / "apt-signing.asc"
    aptkey.create(path)
    return path


def test_the_key_is_private_and_never_replaced(key: Path) -> None:
    assert key.stat().st_mode & 0o777 == 0o600
    assert "PRIVATE KEY" in key.read_text()
    public = aptkey.public_path(key).read_text()
    assert "PUBLIC KEY" in public and "PRIVATE" not in public
    assert aptkey.public_key(key).strip() == public.strip()
    with pytest.raises(aptkey.AptKeyError, match="already exists"):
        aptkey.create(key)


def test_publish_writes_indexes_that_match_and_a_signature_gpgv_accepts(key: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    deb = make_deb(tmp_path, "1.0")
    assert aptrepo.publish(repo, [deb], key) == ["pool/main/a/a2d-probe/a2d-probe_1.0_amd64.deb"]
    dist = repo / SUITE_DIR
    packages = (dist / "main/binary-amd64/Packages").read_bytes()
    assert gzip.decompress((dist / "main/binary-amd64/Packages.gz").read_bytes()) == packages
    (entry,) = stanzas(packages.decode())
    data = deb.read_bytes()
    assert entry["filename"] == "pool/main/a/a2d-probe/a2d-probe_1.0_amd64.deb"
    assert (repo / entry["filename"]).read_bytes() == data
    assert entry["size"] == str(len(data)) and entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert "not-this-one" not in packages.decode()  # the index's own hash, not the control file's
    assert " two lines" in packages.decode()  # a continued field stays whole
    assert (dist / "main/binary-arm64/Packages").read_bytes() == b""  # the Pi's index exists, empty

    release = (dist / "Release").read_text()
    sha = hashlib.sha256(packages).hexdigest()
    assert f" {sha} {len(packages):>10} main/binary-amd64/Packages\n" in release
    assert (dist / "main/binary-amd64/by-hash/SHA256" / sha).read_bytes() == packages
    assert "Origin: a2d\n" in release and "Codename: bookworm\n" in release
    inrelease = (dist / "InRelease").read_text()
    assert inrelease.startswith("-----BEGIN PGP SIGNED MESSAGE-----") and release.splitlines()[0] in inrelease
    assert gpgv(tmp_path, aptkey.public_path(key), dist / "InRelease").returncode == 0

    other = tmp_path / "other" / "apt-signing.asc"
    aptkey.create(other)
    assert gpgv(tmp_path, aptkey.public_path(other), dist / "InRelease").returncode != 0


def test_a_second_version_adds_a_stanza_and_a_changed_file_is_refused(key: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    first = make_deb(tmp_path, "1.0")
    aptrepo.publish(repo, [first], key)
    assert aptrepo.publish(repo, [first], key) == []  # the same file again: nothing new
    aptrepo.publish(repo, [make_deb(tmp_path, "1.1")], key)
    versions = [s["version"] for s in stanzas((repo / SUITE_DIR / "main/binary-amd64/Packages").read_text())]
    assert versions == ["1.0", "1.1"]  # the old one stays: an admin can go back to it
    before = (repo / SUITE_DIR / "InRelease").read_bytes()
    with pytest.raises(aptrepo.AptRepoError, match="published already with other content"):
        aptrepo.publish(repo, [make_deb(tmp_path, "1.0", payload="two")], key)
    assert (repo / "pool/main/a/a2d-probe/a2d-probe_1.0_amd64.deb").read_bytes() == first.read_bytes()
    assert (repo / SUITE_DIR / "InRelease").read_bytes() == before


def test_publish_refuses_what_is_not_a_package_and_writes_nothing(key: Path, tmp_path: Path) -> None:
    bogus = tmp_path / "a2d_9_amd64.deb"
    bogus.write_bytes(b"!<arch>\nnot really")
    with pytest.raises(aptrepo.AptRepoError, match="not a Debian package"):
        aptrepo.publish(tmp_path / "repo", [bogus], key)
    assert not (tmp_path / "repo").exists()
    evil = make_deb(tmp_path, "1.0/../../x")
    with pytest.raises(aptrepo.AptRepoError, match="not valid"):
        aptrepo.publish(tmp_path / "repo", [evil], key)


def test_the_server_serves_the_repository_read_only_and_nothing_beside_it(key: Path, tmp_path: Path) -> None:
    repo = tmp_path / "srv" / "apt"
    aptrepo.publish(repo, [make_deb(tmp_path, "1.0")], key)
    (tmp_path / "srv" / "server.db").write_text("secret")
    (repo / "dists" / "escape").symlink_to(tmp_path / "srv" / "server.db")
    client = TestClient(create_app(ServerSettings(apt_repo=str(repo))))
    r = client.get(f"/apt/{SUITE_DIR}/InRelease")
    assert r.status_code == 200 and r.content == (repo / SUITE_DIR / "InRelease").read_bytes()
    deb = client.get("/apt/pool/main/a/a2d-probe/a2d-probe_1.0_amd64.deb")
    assert (
        deb.status_code == 200
        and deb.content == (repo / "pool/main/a/a2d-probe/a2d-probe_1.0_amd64.deb").read_bytes()
    )
    for bad in ("../server.db", "%2e%2e/server.db", "dists/escape", "dists", "", ".publish.lock",
                f"{SUITE_DIR}/Release.new", "pool/../../server.db"):  # fmt: skip
        assert client.get(f"/apt/{bad}").status_code == 404, bad
    assert client.post(f"/apt/{SUITE_DIR}/InRelease").status_code == 405
    # the default: apt/ beside the SQLite database
    beside = TestClient(create_app(ServerSettings(db=f"sqlite:///{tmp_path / 'srv' / 'server.db'}")))
    assert beside.get(f"/apt/{SUITE_DIR}/Release").status_code == 200


def test_the_commands_make_a_key_publish_and_write_the_devices_sources(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, repo = tmp_path / "k.asc", tmp_path / "apt"
    assert cli.main(["apt", "key", "--key", str(key)]) == 0
    deb = make_deb(tmp_path, "2.0")
    assert (
        cli.main(["apt", "publish", "--deb", str(deb), "--repo", str(repo), "--key", str(key), "--json"]) == 0
    )
    assert '"added":["pool/main/a/a2d-probe/a2d-probe_2.0_amd64.deb"]' in capsys.readouterr().out
    out = tmp_path / "a2d.sources"
    cli.main(["apt", "sources", "--url", "http://127.0.0.1:9/apt/", "--key", str(key), "--out", str(out)])
    sources = out.read_text()
    assert "URIs: http://127.0.0.1:9/apt/\n" in sources and "Suites: bookworm\n" in sources
    assert " -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n" in sources  # the key inline, blank line as " ."
