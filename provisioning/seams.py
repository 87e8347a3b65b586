"""Where the claim meets the bundle: the one place each side gets or hands over the first-boot bundle.

The claim carries an opaque bundle (bytes) and knows nothing of what is in it:

- the admin's side gets it from a :data:`MakeBundle`, ``make_bundle(name, site, role) -> bytes``
  (registering the device at the server is the enroll's job);
- the device's side hands it to an :data:`Install`, ``install(bundle) -> None``, which raises
  :class:`a2d.errors.KnownError` (or ``ValueError``) for a bundle it will not take; the claim
  then stays open and the admin is told why.

:func:`admin_bundle_maker` and :func:`device_installer` build the ones ``a2d provision claim`` and
``a2d provision await-claim`` use. Until the enroll and first-boot code is wired in here, they are
stand-ins: the admin's side sends a small JSON stand-in bundle (or the bytes of ``--bundle-file``),
the device's side keeps what it got in a file of mode 0600.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from a2d.errors import KnownError

MakeBundle = Callable[[str, str, str], bytes]
Install = Callable[[bytes], None]

ROLES = ("edge", "kiosk", "edge+kiosk", "edge+kiosk+bridge", "wall")


def admin_bundle_maker(server: str, admin_token: str, bundle_file: Path | None = None) -> MakeBundle:
    """The admin's :data:`MakeBundle`. Stand-in: ``bundle_file``'s bytes, else a JSON description."""

    def make_bundle(name: str, site: str, role: str) -> bytes:
        if bundle_file is not None:
            try:
                return bundle_file.read_bytes()
            except OSError as exc:
                raise KnownError(f"cannot read the bundle {bundle_file}: {exc.strerror}") from None
        return json.dumps(
            {"standin": True, "name": name, "site": site, "role": role, "server": server}
        ).encode()

    return make_bundle


def device_installer(out: Path) -> Install:
    """The device's :data:`Install`. Stand-in: the bundle kept whole in ``out`` (mode 0600)."""

    def install(bundle: bytes) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(bundle)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out)

    return install
