#!/usr/bin/env bash
# Installs every Debian package that difftrace's build, tests and demo need.
# Idempotent and quick when everything is present: it only calls apt when a package is missing.
set -euo pipefail

PACKAGES=(
  # build
  make clang llvm libclang-rt-14-dev gcc g++ pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev
  libspdlog-dev libfmt-dev catch2 libcli11-dev nlohmann-json3-dev libyaml-cpp-dev
  libpcap-dev libprotobuf-dev protobuf-compiler libcurl4-openssl-dev libcpp-httplib-dev
  # tests and demo: real servers and clients
  python3 python3-pytest curl nginx-light haproxy wrk golang-go tcpdump iproute2 procps
  # benchmarks: the bpftrace baseline (scripts/bench/bpftrace_equivalent.bt)
  bpftrace
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}); run as root: sudo $0" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# nginx and haproxy packages start system services; tests run their own instances.
for svc in nginx haproxy; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
  fi
  pkill -x "$svc" 2>/dev/null || true
done
