"""Provisioning: the admin's side (enroll, claim, list, revoke, rotate-token) and the device's
(firstboot, the claim responder).

The admin's commands talk to the sync server's admin API (:mod:`provisioning.adminapi`) and write a
first-boot bundle (:mod:`a2d.firstboot`); the device installs it with
:func:`provisioning.firstboot.install`. See ``docs/provisioning.md``.
"""
