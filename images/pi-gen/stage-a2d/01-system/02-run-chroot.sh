#!/bin/bash -e
# pi-gen (inside the image's root): enable what runs at start, and make the root read-only.
mkdir -p /etc/systemd/system/multi-user.target.wants /etc/systemd/system/sysinit.target.wants \
    /etc/systemd/system/local-fs.target.wants
ln -sf /etc/systemd/system/a2d-data-partition.service /etc/systemd/system/local-fs.target.wants/a2d-data-partition.service
ln -sf /etc/systemd/system/a2d-firstboot.service /etc/systemd/system/multi-user.target.wants/a2d-firstboot.service
# no bundle on the card: wait to be claimed (the unit runs after firstboot, and only while the
# device is not set up and no bundle waits on the boot partition, so the two never both install)
ln -sf /usr/lib/systemd/system/a2d-claim.service /etc/systemd/system/multi-user.target.wants/a2d-claim.service
if [ -e /usr/lib/systemd/system/nftables.service ]; then
    ln -sf /usr/lib/systemd/system/nftables.service /etc/systemd/system/sysinit.target.wants/nftables.service
fi
# first boot links the role's rule set here; until then, the strictest one (SSH and mDNS only)
if [ -e /usr/share/a2d/nftables/a2d-wall.nft ]; then
    install -m 0644 /usr/share/a2d/nftables/a2d-wall.nft /etc/nftables.conf
fi

# read-only root: / and /boot/firmware mounted ro, what must change lives in RAM or on the data
# partition (label a2d-data) mounted at /data; the town's data and the broker's store on it
mkdir -p /data /var/lib/a2d /var/lib/mosquitto
# the card's free space stays free for the data partition (a2d-data-partition.service makes it at
# the first start): Raspberry Pi OS's first start would grow the root over the whole card
if [ -f /boot/firmware/cmdline.txt ]; then
    sed -i 's# init=/usr/lib/raspberrypi-sys-mods/firstboot##' /boot/firmware/cmdline.txt
fi
sed -i -E 's#^(\S+\s+/\s+\S+\s+)defaults(,noatime)?#\1defaults,noatime,ro#' /etc/fstab
sed -i -E 's#^(\S+\s+/boot/firmware\s+\S+\s+)defaults#\1defaults,ro#' /etc/fstab
if ! grep -q "a2d: read-only root" /etc/fstab; then
    cat >>/etc/fstab <<'FSTAB'
# a2d: read-only root; the rest in RAM or on the data partition
tmpfs /tmp tmpfs nosuid,nodev,mode=1777 0 0
tmpfs /var/tmp tmpfs nosuid,nodev,mode=1777 0 0
tmpfs /var/log tmpfs nosuid,nodev,mode=0755 0 0
LABEL=a2d-data /data ext4 defaults,noatime,nofail,x-systemd.device-timeout=30s 0 2
/data/a2d /var/lib/a2d none bind,nofail,x-systemd.requires-mounts-for=/data 0 0
/data/mosquitto /var/lib/mosquitto none bind,nofail,x-systemd.requires-mounts-for=/data 0 0
/data/apt/lib /var/lib/apt none bind,nofail,x-systemd.requires-mounts-for=/data 0 0
/data/apt/cache /var/cache/apt none bind,nofail,x-systemd.requires-mounts-for=/data 0 0
FSTAB
fi
