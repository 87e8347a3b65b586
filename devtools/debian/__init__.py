"""Building the appliance's Debian package and testing it in a Debian root folder.

:mod:`.rootfs` makes (once) and caches a Debian 12 root folder with debootstrap and runs commands
in a copy of it through ``chroot``; :mod:`.lockset` picks the locked requirements the appliance
needs out of ``requirements.lock``; :mod:`.build` builds ``a2d_<version>_<arch>.deb`` with the
target's own ``python3`` (``make deb``). Only ``make deb`` and the system tests use them; they need
root (chroot, mounts) and Debian's debootstrap and dpkg-deb.
"""
