# Shared settings of up.sh, down.sh and scripts/load/run.sh. Sourced, not run.
# Every path and port can be overridden from the environment (tests run a second platform
# on other ports with its own run directory).

PLATFORM_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$PLATFORM_SRC/../.." && pwd)
BUILD_DIR=${PLATFORM_BUILD_DIR:-$REPO_ROOT/build/platform}  # binaries and Go caches
RUN_DIR=${PLATFORM_RUN_DIR:-$BUILD_DIR}                     # where state.env of a running platform lives
LOG_DIR=${PLATFORM_LOG_DIR:-$BUILD_DIR/logs}                # kept after down.sh, for post-mortems
STATE_FILE=$RUN_DIR/state.env
PYTHON=${PYTHON:-/usr/bin/python3}

INGRESS_PORT=${INGRESS_PORT:-8080}
ACTIVATOR_PORT=${ACTIVATOR_PORT:-8081}
QP_PORT_BASE=${QP_PORT_BASE:-8100}  # queue-proxy of function i listens on QP_PORT_BASE+i
FN_PORT_BASE=${FN_PORT_BASE:-9000}  # function i listens on FN_PORT_BASE+i
QP_CONCURRENCY=${QP_CONCURRENCY:-32}          # Knative containerConcurrency
ACTIVATOR_CAPACITY=${ACTIVATOR_CAPACITY:-256} # in flight per function at the activator
FUNCTIONS=(fn-hello fn-work fn-chain fn-async fn-grpc)

# platform_build compiles every Go program of the module into $BUILD_DIR. The caches live
# under build/ so a fresh machine needs nothing but Debian's golang-go; when nothing changed
# it takes about a second.
platform_build() {
  mkdir -p "$BUILD_DIR"
  (cd "$PLATFORM_SRC" &&
    GOCACHE="$BUILD_DIR/go/cache" GOPATH="$BUILD_DIR/go/path" GOPROXY=off GOFLAGS=-mod=mod \
      go build -o "$BUILD_DIR/" ./cmd/...) || {
    echo "platform: go build failed in $PLATFORM_SRC" >&2
    return 1
  }
}

# pid_alive PID [COMM]: the process exists, is not a zombie, and has that comm.
pid_alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  # Field 3 (after "pid (comm) ") is the state; Z means dead but not yet reaped.
  [[ ${stat##*) } != Z* ]] || return 1
  [[ -z ${2:-} ]] || [[ $(cat "/proc/$1/comm" 2>/dev/null) == "$2" ]]
}
