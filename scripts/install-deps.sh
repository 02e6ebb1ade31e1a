#!/usr/bin/env bash
# Installs every Debian package that difftrace's build, tests and demo need.
# Idempotent and quick when everything is present: it only calls apt when a package is missing.
set -euo pipefail

PACKAGES=(
  # build
  make clang llvm libclang-rt-14-dev gcc g++ pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev
  libspdlog-dev libfmt-dev catch2 libcli11-dev nlohmann-json3-dev libyaml-cpp-dev
  libpcap-dev libprotobuf-dev protobuf-compiler libcurl4-openssl-dev libcpp-httplib-dev
  # HPACK decoding of HTTP/2 header blocks in replay (user/replay/hpack_decoder)
  libnghttp2-dev
  # tests and demo: real servers and clients
  python3 python3-pytest curl nginx-light haproxy wrk golang-go tcpdump iproute2 procps
  # a real gRPC server and client (tests/e2e/test_replay_grpc.py)
  python3-grpcio
  # an HTTP/2 (h2c) server and client (scripts/kernels/run-steps.sh's HTTP/2 smoke test)
  nghttp2-server nghttp2-client
  # grpc-go's sources, for a real Go gRPC server (tests/e2e/tools/go_grpc_server)
  golang-google-grpc-dev
  # x/net's http2 and h2c sources: the demo platform's Go proxies serve and forward gRPC over
  # h2c (scripts/platform/go.mod replaces golang.org/x/net by them; offline)
  golang-golang-x-net-dev
  # DNAT in a test network namespace (tests/e2e/test_peer_traced.py)
  nftables
  # the OTLP/HTTP test receiver (tests/e2e/otlp_receiver): Node and its npm packages
  nodejs
  # benchmarks: the bpftrace baseline (scripts/bench/bpftrace_equivalent.bt), and tshark, the
  # baseline of scripts/bench/replay_throughput.sh (which times both with /usr/bin/time)
  bpftrace tshark time
  # analyze's parse floor (bench/json_parse_floor.cpp, make build/json-parse-floor)
  libsimdjson-dev
  # difftrace analyze --format html is checked in a real headless browser (tests/e2e/test_analyze_html.py)
  chromium
  # deploy/: rendering the kustomize base (tests/e2e/test_deploy_manifests.py reads it with
  # PyYAML); the container image (scripts/image/build.sh: mmdebstrap, podman with runc) and its
  # test (tests/e2e/test_container.py)
  python3-yaml mmdebstrap podman runc
  # the agent's /metrics scraped by a real Prometheus (tests/e2e/test_agent.py)
  prometheus
  # the kernel matrix (make test-kernels): Debian's cloud kernels booted under QEMU with a
  # busybox initramfs (scripts/kernels/)
  qemu-system-x86 busybox-static cpio
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Some nodejs builds bring npm along; Debian's does not, npm is its own package there.
command -v npm >/dev/null 2>&1 || missing+=(npm)
# kubectl (for `kubectl kustomize deploy/`): Debian's kubernetes-client, unless a kubectl is
# there already (Google's kubectl package, which would conflict with it).
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)

if [ ${#missing[@]} -ne 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages (${missing[*]}); run as root: sudo $0" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # tshark's wireshark-common asks whether non-root users may capture: no, and do not ask.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  # The nginx and haproxy packages would start system services (the tests and the demo run
  # their own instances on their own ports): the Debian way to say no during an install is a
  # policy-rc.d that answers 101. Nothing that already runs is touched.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The OTLP test receiver's npm packages, at the versions its package-lock.json pins; npm
# writes node_modules/.package-lock.json, so this runs again only when the lock changes.
receiver="$(dirname "$0")/../tests/e2e/otlp_receiver"
if [ ! -f "$receiver/node_modules/.package-lock.json" ] ||
   [ "$receiver/package-lock.json" -nt "$receiver/node_modules/.package-lock.json" ]; then
  echo "install-deps: npm ci in tests/e2e/otlp_receiver"
  (cd "$receiver" && npm ci --no-audit --no-fund --loglevel=error)
fi
