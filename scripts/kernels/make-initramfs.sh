#!/usr/bin/env bash
# Builds the kernel matrix's guest initramfs (a cpio archive; the cloud kernels have no 9p,
# so everything the guest runs travels in it):
#   make-initramfs.sh OUT.cpio DIFFTRACE BPF_TESTS [ENV_FILE]
# It holds busybox (static), nginx (the HTTP/1 smoke test's server), nghttpd and nghttp (the
# HTTP/2 one's server and client), stripped copies of difftrace and bpf-tests with every shared
# library ldd lists and the dynamic loader, tests/fixtures (the [bpf] tier's replay parity
# reads tests/fixtures/pcap relative to its working directory, /opt/difftrace), run-steps.sh
# and guest-init.sh as /init. One archive serves every guest kernel: nothing in it is
# kernel-specific (everything difftrace needs is built into the cloud kernels, no modules).
set -euo pipefail

out="${1:?usage: make-initramfs.sh OUT.cpio DIFFTRACE BPF_TESTS [ENV_FILE]}"
difftrace="${2:?usage: make-initramfs.sh OUT.cpio DIFFTRACE BPF_TESTS [ENV_FILE]}"
bpf_tests="${3:?usage: make-initramfs.sh OUT.cpio DIFFTRACE BPF_TESTS [ENV_FILE]}"
env_file="${4:-}"
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

# busybox-static puts a static /bin/busybox in place of the dynamic one of the busybox package.
busybox=/bin/busybox
if [ ! -x "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
  echo "make-initramfs: $busybox is missing or not static (apt-get install busybox-static)" >&2
  exit 1
fi
for f in "$difftrace" "$bpf_tests"; do
  [ -x "$f" ] || { echo "make-initramfs: $f missing or not executable (make all $bpf_tests)" >&2; exit 1; }
done

root="$(mktemp -d "${out%/*}/initramfs.XXXXXX")"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,opt/difftrace/tests,lib64,lib/x86_64-linux-gnu}
# The kernel opens /dev/console for init's stdio before /init can mount devtmpfs.
mknod -m 600 "$root/dev/console" c 5 1
mknod -m 666 "$root/dev/null" c 1 3

cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
ln -sf ../bin/busybox "$root/sbin/poweroff"

# Stripped copies: the debug info is most of the binaries' size, and the guest never needs it.
strip -o "$root/opt/difftrace/difftrace" "$difftrace"
strip -o "$root/opt/difftrace/bpf-tests" "$bpf_tests"

# The smoke test's server (run-steps.sh says why nginx), at its usual path. nginx run as root
# looks up its worker user, so the guest gets a passwd and group file (glibc reads them with
# its built-in files NSS, no module to copy).
nginx=/usr/sbin/nginx
[ -x "$nginx" ] || { echo "make-initramfs: $nginx missing (apt-get install nginx-light)" >&2; exit 1; }
mkdir -p "$root/usr/sbin" "$root/etc"
cp "$nginx" "$root/usr/sbin/nginx"
# The HTTP/2 smoke test's server and client (h2c), on the guest's PATH.
nghttpd=/usr/sbin/nghttpd
nghttp=/usr/bin/nghttp
for b in "$nghttpd" "$nghttp"; do
  [ -x "$b" ] || { echo "make-initramfs: $b missing (apt-get install nghttp2-server nghttp2-client)" >&2; exit 1; }
  cp "$b" "$root/usr/sbin/$(basename "$b")"
done
printf 'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nwww-data:x:33:\nnogroup:x:65534:\n' >"$root/etc/group"

# Every shared library at the path the binaries' ldd resolves it to, the loader included
# (ldd's lines are "name => /path (addr)" or "/path (addr)" for the loader).
libs="$(ldd "$difftrace" "$bpf_tests" "$nginx" "$nghttpd" "$nghttp" | awk '/=>/ {print $3; next} /^\t\// {print $1}' |
        grep '^/' | sort -u)"
for lib in $libs; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done

cp -r "$repo/tests/fixtures" "$root/opt/difftrace/tests/fixtures"
install -m 755 "$here/run-steps.sh" "$root/opt/difftrace/run-steps.sh"
install -m 755 "$here/guest-init.sh" "$root/init"
[ -z "$env_file" ] || install -m 644 "$env_file" "$root/opt/difftrace/env"

# Uncompressed: decompressing in the TCG guest costs more than reading a bigger file.
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
echo "make-initramfs: $out ($(du -h "$out" | cut -f1))" >&2
