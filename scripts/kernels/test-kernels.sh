#!/usr/bin/env bash
# `make test-kernels`: difftrace against Debian 12's own cloud kernels, 6.1 (bookworm's series)
# and 6.12 (bookworm-security's), each booted in QEMU, and against the host's kernel as it is.
# On each: `difftrace check --json`, the [bpf] Catch2 tier (with the hook source the kernel
# gets: sockets on 6.1/6.12, syscalls on the host), and a live smoke test in each hook source
# (scripts/kernels/run-steps.sh). Prints one table: pass/fail per step per kernel, and
# kernel x program x verified instructions; writes it to BUILD/kernels/results.{md,json}.
# Exits non-zero if any step failed (or lost its markers) on any kernel.
#
#   scripts/kernels/test-kernels.sh [BUILD_DIR]         (default: build)
# Environment:
#   KERNELS        which kernels, in order (default "6.1 6.12 host")
#   GUEST_TIMEOUT  seconds one kernel's run may take before it is killed and failed (default 300:
#                  a guest takes 30-40 s, and 2m13s when the verifier had 1M instructions to walk)
#   GUEST_MEM      guest memory (default 1G)
#   DT_BPF_FILTER  Catch2 test spec for the [bpf] tier, in the guests too (default: every test)
#   DT_BENCH=1     also time an untargeted dd in each hook source (run-steps.sh's step 4;
#                  DT_BENCH_COUNT, DT_BENCH_ROUNDS): emulated figures, not a test
#
# KVM is not used on purpose: this machine's /dev/kvm is a paravirtual module that cannot run
# stock kernels (QEMU aborts setting MSR 0x10a), so the guests run under TCG. TCG times are not
# performance; the guests only show what loads, what the verifier says and what works.
# The guests have loopback only (-nic none): no traffic leaves the machine.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"
build="${1:-build}"
kernels="${KERNELS:-6.1 6.12 host}"
guest_timeout="${GUEST_TIMEOUT:-300}"
guest_mem="${GUEST_MEM:-1G}"
out="$build/kernels"
difftrace="$build/difftrace"
bpf_tests="$build/bpf-tests"

die() { echo "test-kernels: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root: the [bpf] tier and difftrace load BPF programs"
for f in "$difftrace" "$bpf_tests"; do
  [ -x "$f" ] || die "$f is missing: make all $bpf_tests (make test-kernels builds both)"
done
for tool in qemu-system-x86_64 cpio apt-get dpkg-deb strip ldd python3 timeout; do
  command -v "$tool" >/dev/null || die "$tool not found (bash scripts/install-deps.sh)"
done
mkdir -p "$out"

now() { date +%s.%N; }
t_start="$(now)"
report_args=()

# A guest's (or the host's) console section of a failed step, so the CI log shows why.
show_failures() {
  local label="$1" results="$2" console="$3"
  local failed
  failed="$(sed -n 's/^@@DT END \([a-z]*\) rc=[0-9]* status=fail.*/\1/p' "$results" 2>/dev/null | tr -d '\r')"
  for s in $failed; do
    echo "---- $label: step $s failed; its output (from $console) ----"
    tr -d '\r' <"$console" | sed -n "/^@@DT BEGIN $s\$/,/^@@DT END $s /p" | tail -n 150
  done
  if ! grep -q '^@@DT DONE' "$results" 2>/dev/null; then
    echo "---- $label: the run did not finish; last console lines ($console) ----"
    tr -d '\r' <"$console" 2>/dev/null | tail -n 60 || true
  fi
}

exit_note() {
  case "$2" in
    124 | 137) echo "$1 killed: over the ${guest_timeout}s timeout (GUEST_TIMEOUT)" ;;
    *) echo "$1 exited $2" ;;
  esac
}

initramfs=""
for k in $kernels; do
  case "$k" in
    host)
      label="host"
      dir="$out/host"
      rm -rf "$dir"; mkdir -p "$dir"
      echo "test-kernels: host kernel $(uname -r): running the steps directly"
      t0="$(now)"
      note=""
      # The host has its own tools; the smoke test runs nginx and busybox wget, as in the
      # guests. The working directory is the repo: tests/fixtures is where the tests look.
      timeout --kill-after=10 "$guest_timeout" \
        sh "$here/run-steps.sh" "$(realpath "$difftrace")" "$(realpath "$bpf_tests")" "$repo" "$dir/results.log" \
        >"$dir/console.log" 2>&1 || note="$(exit_note run-steps.sh $?)"
      t1="$(now)"
      ;;
    6.1 | 6.12)
      kdir="$("$here/fetch-kernel.sh" "$k" "$out")"
      vmlinuz="$(ls "$kdir"/boot/vmlinuz-* | head -n1)"
      release="${vmlinuz##*/vmlinuz-}"
      label="$k"
      if [ -z "$initramfs" ]; then
        # One archive for every guest: nothing in it depends on the kernel.
        initramfs="$out/initramfs.cpio"
        printf 'DT_REQUESTS=%s\nDT_PORT=%s\nDT_BENCH=%s\nDT_BENCH_COUNT=%s\nDT_BENCH_ROUNDS=%s\nDT_BPF_FILTER=%s\n' \
          "${DT_REQUESTS:-5}" "${DT_PORT:-18931}" "${DT_BENCH:-0}" "${DT_BENCH_COUNT:-200000}" \
          "${DT_BENCH_ROUNDS:-3}" "${DT_BPF_FILTER:-}" >"$out/guest.env"
        "$here/make-initramfs.sh" "$initramfs" "$difftrace" "$bpf_tests" "$out/guest.env"
      fi
      dir="$out/$release"
      rm -rf "$dir"; mkdir -p "$dir"
      echo "test-kernels: booting $release under QEMU/TCG (timeout ${guest_timeout}s; console: $dir/console.log)"
      t0="$(now)"
      note=""
      # ttyS0: the console (kernel and steps' output); ttyS1: the results channel.
      timeout --kill-after=10 "$guest_timeout" \
        qemu-system-x86_64 -accel tcg -cpu max -m "$guest_mem" -smp 2 \
          -display none -monitor none -no-reboot -nic none \
          -serial "file:$dir/console.log" -serial "file:$dir/results.log" \
          -kernel "$vmlinuz" -initrd "$initramfs" \
          -append 'console=ttyS0 panic=-1' \
        >"$dir/qemu.log" 2>&1 || note="$(exit_note qemu $?): $(tail -c 300 "$dir/qemu.log" | tr '\n' ' ')"
      t1="$(now)"
      ;;
    *) die "unknown kernel '$k' in KERNELS (want 6.1, 6.12 or host)" ;;
  esac
  secs="$(python3 -c "print(round($t1 - $t0, 1))")"
  printf 'test-kernels: %s done in %.0fs\n' "$label" "$secs"
  [ -z "$note" ] || echo "test-kernels: $label: $note"
  show_failures "$label" "$dir/results.log" "$dir/console.log"
  report_args+=("$label=$dir/results.log:$secs:$note")
done

wall="$(python3 -c "print(round($(now) - $t_start, 1))")"
echo
python3 "$here/report.py" "$out" "$wall" "${report_args[@]}"
