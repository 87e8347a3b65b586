#!/bin/bash -e
# pi-gen (on the build host): install the a2d package that `make deb` built for arm64.
# Put it into files/ first (docs/provisioning-appliance.md, "Building an image").
shopt -s nullglob
debs=(files/a2d_*_arm64.deb files/a2d_*.deb)
if [ ${#debs[@]} -eq 0 ]; then
    echo "stage-a2d: no a2d_*.deb in $(pwd)/files: copy the one make deb built" >&2
    exit 1
fi
install -m 0644 "${debs[0]}" "${ROOTFS_DIR}/tmp/a2d.deb"
on_chroot <<'CHROOT'
dpkg -i /tmp/a2d.deb || apt-get install -y -f
dpkg-query -W -f='${Status}\n' a2d | grep -q "install ok installed"
rm -f /tmp/a2d.deb
CHROOT
