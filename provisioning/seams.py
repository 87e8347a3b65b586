"""Where the claim meets the bundle: the one place each side gets or hands over the first-boot bundle.

The claim carries an opaque bundle (bytes) and knows nothing of what is in it:

- the admin's side gets it from an :class:`AdminBundle`: :meth:`~AdminBundle.prepare` before the
  device is contacted (the request checked, the server asked for its keys: address, pin and admin
  token proven), :meth:`~AdminBundle.make` only once the device proved it knows the code, so a
  mistyped code registers nothing at the server;
- the device's side hands it to an :data:`Install`, ``install(bundle) -> None``, which raises
  :class:`a2d.errors.KnownError` (or ``ValueError``) for a bundle it will not take; the claim
  then stays open and the admin is told why.

:func:`admin_bundle_maker` and :func:`device_installer` build the ones ``a2d provision claim`` and
``a2d provision await-claim`` use: enroll's registration and bundle (:mod:`.enroll`) on one side,
first boot's install (:func:`provisioning.firstboot.install`) on the other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from a2d.errors import KnownError
from a2d.firstboot import FirstbootBundle

from . import enroll, firstboot
from .adminapi import AdminApi

log = logging.getLogger(__name__)

Install = Callable[[bytes], None]

ROLES = ("edge", "kiosk", "edge+kiosk", "edge+kiosk+bridge", "wall")


class AdminBundle:
    """The admin's bundle for one claim: registered at the server and built, or a prepared file."""

    def __init__(self, req: enroll.Request, api: AdminApi | None, bundle_file: Path | None = None) -> None:
        if api is None and bundle_file is None:
            raise ValueError("a bundle comes from the server (api) or from a file")
        self.req, self.api, self.bundle_file = req, api, bundle_file
        #: the bundle made for a device the server registered (None before, or for a file)
        self.made: FirstbootBundle | None = None
        self._data = b""

    def prepare(self) -> None:
        """Everything that can fail before the device is contacted, with nothing registered yet."""
        if self.bundle_file is not None:
            try:
                self._data = self.bundle_file.read_bytes()
            except OSError as exc:
                raise KnownError(f"cannot read the bundle {self.bundle_file}: {exc.strerror}") from None
            return
        assert self.api is not None
        enroll.check(self.req)
        self.req = enroll.with_server_keys(self.req, self.api)

    def make(self) -> bytes:
        """The bundle's bytes; registers the device at the server (once) unless it came from a file."""
        if self.bundle_file is not None or self.made is not None:
            return self._data
        assert self.api is not None
        self.made = enroll.register(self.req, self.api)
        self._data = self.made.to_bytes()
        return self._data


def admin_bundle_maker(
    req: enroll.Request, api: AdminApi | None, bundle_file: Path | None = None
) -> AdminBundle:
    """The admin's side: ``bundle_file``'s bytes when given, else the device registered through ``api``."""
    return AdminBundle(req, api, bundle_file)


def device_installer(root: Path, units_dir: Path | None = None) -> Install:
    """The device's :data:`Install`: first boot's install of the bundle below ``root``."""

    def install(bundle: bytes) -> None:
        for line in firstboot.install(bundle, root, units_dir):
            log.info("claim: %s", line)

    return install
