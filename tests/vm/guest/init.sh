#!/bin/busybox sh
# SPDX-License-Identifier: Apache-2.0
# /init of the VM test guest: mount what the tests need, run the cases named on the kernel
# command line (tw.cases=a,b,c), or a shell (tw.mode=shell), then power off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t securityfs securityfs /sys/kernel/security
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup
[ -d /sys/fs/selinux ] && mount -t selinuxfs selinuxfs /sys/fs/selinux
cmdline=$(cat /proc/cmdline)
arg() { for w in $cmdline; do case $w in "$1="*) echo "${w#*=}";; esac; done; }
echo "TWVM-BOOTED $(uname -r)"
if [ "$(arg tw.mode)" = shell ]; then
  echo "tokenwarden test guest: /bin/tw-vmtest CASE..., /bin/tokenwarden doctor; exit to power off"
  setsid cttyhack sh
else
  /bin/tw-vmtest $(arg tw.cases | tr , ' ')
fi
echo "TWVM-DONE"
poweroff -f
