#!/usr/bin/env bash
# Regenerates vmlinux/<arch>/vmlinux.h from the running kernel's BTF.
# The header is checked in so builds do not depend on the build machine's kernel;
# CO-RE relocations adapt the compiled programs to the kernel they load on.
set -euo pipefail
arch=$(uname -m | sed 's/x86_64/x86/; s/aarch64/arm64/')
btf=${1:-/sys/kernel/btf/vmlinux}
[ -r "$btf" ] || { echo "gen-vmlinux: no BTF at $btf (kernel built without CONFIG_DEBUG_INFO_BTF?)" >&2; exit 1; }
out="$(dirname "$0")/../vmlinux/$arch/vmlinux.h"
mkdir -p "$(dirname "$out")"
bpftool btf dump file "$btf" format c > "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out"
