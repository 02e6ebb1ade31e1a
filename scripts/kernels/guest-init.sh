#!/bin/sh
# /init of the kernel matrix's guests (scripts/kernels/make-initramfs.sh puts it there):
# mounts what difftrace needs, brings up loopback, runs run-steps.sh and powers off.
# The console (ttyS0) gets every step's output for the log; ttyS1 is the results channel the
# host parses, where no kernel message can interleave with the markers or the check JSON.
export PATH=/bin:/sbin:/usr/sbin
# Whatever happens below, the guest ends: PID 1 exiting would panic the kernel (panic=-1 then
# reboots, which -no-reboot turns into QEMU exiting), but a clean poweroff is clearer.
trap 'poweroff -f' EXIT

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tracefs tracefs /sys/kernel/tracing
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mkdir -p /tmp
ip link set lo up

# Raw: the tty layer would otherwise turn each \n of the results into \r\n.
stty -F /dev/ttyS1 raw -echo 2>/dev/null || true

# Settings written by the host (DT_BPF_FILTER, DT_REQUESTS, ...).
# set -a: exported, so run-steps.sh (a child) sees them.
set -a
[ -f /opt/difftrace/env ] && . /opt/difftrace/env
set +a

echo "guest: kernel $(uname -r), $(nproc) CPUs, $(grep MemTotal /proc/meminfo)"
/opt/difftrace/run-steps.sh /opt/difftrace/difftrace /opt/difftrace/bpf-tests /opt/difftrace \
  /dev/ttyS1 2>&1
echo "guest: run-steps.sh exited $?"
sync
