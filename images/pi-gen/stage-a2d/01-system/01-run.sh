#!/bin/bash -e
# pi-gen (on the build host): the appliance's system settings, from files/.
install -D -m 0644 files/sshd-a2d.conf "${ROOTFS_DIR}/etc/ssh/sshd_config.d/a2d.conf"
install -D -m 0644 files/watchdog.conf "${ROOTFS_DIR}/etc/systemd/system.conf.d/a2d-watchdog.conf"
install -D -m 0644 files/journald.conf "${ROOTFS_DIR}/etc/systemd/journald.conf.d/a2d.conf"
install -D -m 0644 files/50unattended-upgrades-a2d "${ROOTFS_DIR}/etc/apt/apt.conf.d/51a2d-unattended-upgrades"
install -D -m 0644 files/20auto-upgrades "${ROOTFS_DIR}/etc/apt/apt.conf.d/20auto-upgrades"
install -D -m 0644 files/80a2d-readonly "${ROOTFS_DIR}/etc/apt/apt.conf.d/80a2d-readonly"
install -D -m 0644 files/a2d-firstboot.service "${ROOTFS_DIR}/etc/systemd/system/a2d-firstboot.service"
install -D -m 0755 files/a2d-data-partition "${ROOTFS_DIR}/usr/local/sbin/a2d-data-partition"
install -D -m 0644 files/a2d-data-partition.service "${ROOTFS_DIR}/etc/systemd/system/a2d-data-partition.service"
# the town's software updates: files/a2d.sources from `a2d server apt sources --url ... --out`
# (the repository's URL and the town's public key); without it the image takes no a2d updates
if [ -f files/a2d.sources ]; then
    install -D -m 0644 files/a2d.sources "${ROOTFS_DIR}/etc/apt/sources.list.d/a2d.sources"
else
    echo "stage-a2d: no files/a2d.sources: this image will take no a2d updates (docs/provisioning-appliance.md)" >&2
fi
