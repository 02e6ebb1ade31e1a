#!/usr/bin/env bash
# Fetches one of Debian 12's cloud kernels into a cache directory and prints that directory.
#   scripts/kernels/fetch-kernel.sh SERIES CACHE_DIR      SERIES: 6.1 | 6.12
# The newest build apt offers is picked now, not pinned: Debian retires old ABIs from the
# mirrors, and the point of the matrix is the kernel a node would get today. The package is
# `apt-get download`ed and unpacked with `dpkg-deb -x`; nothing is installed, the host's /boot
# is never touched. The printed directory holds boot/vmlinuz-*, boot/config-* and lib/modules/.
set -euo pipefail

series="${1:?usage: fetch-kernel.sh 6.1|6.12 CACHE_DIR}"
cache="${2:?usage: fetch-kernel.sh 6.1|6.12 CACHE_DIR}"

case "$series" in
  # 6.1 is bookworm's own series: linux-image-6.1.0-NN-cloud-amd64-unsigned.
  6.1)  pattern='^linux-image-6\.1\.0-[0-9]+-cloud-amd64-unsigned$' ;;
  # 6.12 comes to bookworm through bookworm-security: linux-image-6.12.NNN+deb12-cloud-amd64-unsigned.
  6.12) pattern='^linux-image-6\.12\.[0-9]+\+deb12-cloud-amd64-unsigned$' ;;
  *) echo "fetch-kernel: unknown series '$series' (want 6.1 or 6.12)" >&2; exit 2 ;;
esac

newest() {
  apt-cache search --names-only "$pattern" | awk '{print $1}' | grep -E "$pattern" | sort -V | tail -n1
}

pkg="$(newest || true)"
if [ -z "$pkg" ]; then
  # A fresh machine may never have run apt-get update (or only without bookworm-security).
  echo "fetch-kernel: apt knows no $series cloud kernel; running apt-get update" >&2
  apt-get update -qq
  pkg="$(newest || true)"
fi
if [ -z "$pkg" ]; then
  echo "fetch-kernel: no package matches $pattern even after apt-get update (is bookworm-security in the sources?)" >&2
  exit 1
fi

dir="$cache/$pkg"
if [ ! -f "$dir/.extracted" ]; then
  mkdir -p "$cache/debs"
  # A .deb already fetched (an earlier run cut short after the download) is reused.
  deb="$(ls "$cache/debs/${pkg}_"*.deb 2>/dev/null | head -n1 || true)"
  if [ -z "$deb" ]; then
    echo "fetch-kernel: downloading $pkg" >&2
    # As root into a directory the _apt user cannot write: apt would warn that it downloads
    # unsandboxed; say that this is intended.
    (cd "$cache/debs" && apt-get download -qq -o APT::Sandbox::User=root "$pkg" >&2)
    deb="$(ls "$cache/debs/${pkg}_"*.deb | head -n1)"
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  dpkg-deb -x "$deb" "$dir"
  ls "$dir"/boot/vmlinuz-* >/dev/null 2>&1 || { echo "fetch-kernel: $deb holds no boot/vmlinuz-*" >&2; exit 1; }
  touch "$dir/.extracted"
fi
echo "$dir"
