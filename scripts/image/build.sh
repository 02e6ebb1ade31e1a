#!/usr/bin/env bash
# Builds difftrace's container image with podman, without a registry: the base is a minimal
# Debian 12 made by mmdebstrap from apt (with the runtime libraries of
# scripts/image/runtime-packages.txt; docs, man pages and locales left out), imported with
# `podman import`, then deploy/Containerfile adds build/difftrace. Prints the image's size.
#   scripts/image/build.sh            -> localhost/difftrace:latest
# Env: IMAGE (tag), BASE (base image tag; made once per package list, then reused),
# REBUILD_BASE=1 (make it again). Ends by running `difftrace version` in the image, so a
# runtime library missing from the list fails the build.
# Building on a registry's image instead: see deploy/Containerfile.
set -euo pipefail
cd "$(dirname "$0")/../.."
IMAGE=${IMAGE:-localhost/difftrace:latest}
# The base's tag names its package list: a changed list makes a new base.
list_hash=$(sha256sum scripts/image/runtime-packages.txt | cut -c1-12)
BASE=${BASE:-localhost/difftrace-base:bookworm-$list_hash}
# crun refuses hybrid v1+v2 cgroup hosts; runc does not.
PODMAN=(podman --runtime runc)

[ -x build/difftrace ] || { echo "build.sh: build/difftrace is missing: run make first" >&2; exit 2; }
mkdir -p build/image
strip -o build/image/difftrace build/difftrace

if [ "${REBUILD_BASE:-0}" = 1 ] || ! "${PODMAN[@]}" image exists "$BASE"; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  pkgs=$(grep -v '^#' scripts/image/runtime-packages.txt | paste -sd, -)
  echo "build.sh: mmdebstrap bookworm (minbase + $pkgs)"
  mmdebstrap --quiet --variant=minbase --include="$pkgs" \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*' \
    bookworm "$tmp/rootfs.tar" http://deb.debian.org/debian
  "${PODMAN[@]}" import --change 'CMD ["/bin/bash"]' "$tmp/rootfs.tar" "$BASE" >/dev/null
fi

"${PODMAN[@]}" build --quiet -f deploy/Containerfile --build-arg BASE="$BASE" \
  --build-arg BINARY=build/image/difftrace -t "$IMAGE" . >/dev/null
if ! out=$("${PODMAN[@]}" run --rm --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 \
    "$IMAGE" version 2>&1); then
  echo "build.sh: the image does not run difftrace: $out" >&2
  exit 1
fi
size=$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$IMAGE")
echo "build.sh: $IMAGE ($out), $((size / 1000000)) MB, on $BASE"
