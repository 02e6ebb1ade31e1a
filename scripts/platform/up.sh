#!/usr/bin/env bash
# Starts the demo platform in the background: haproxy (ingress) -> activator -> one
# queue-proxy per function -> functions. Waits until every process answers, prints a table
# and writes $RUN_DIR/state.env. Running it again while the platform is up does nothing.
# Ports: INGRESS_PORT, ACTIVATOR_PORT, QP_PORT_BASE, FN_PORT_BASE (see common.sh).
# PLATFORM_INGRESS_TRACES=off: the ingress starts no trace for a request without trace headers
# (haproxy/inject.lua), so none is sent anywhere.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

print_table() {
  printf '%-22s %-12s %-6s %s\n' COMPONENT COMM PORT PID
  local i
  for i in "${!NAMES[@]}"; do
    printf '%-22s %-12s %-6s %s\n' "${NAMES[$i]}" "${PCOMMS[$i]}" "${PORTS[$i]}" "${PIDLIST[$i]}"
  done
  echo "ingress: http://127.0.0.1:$INGRESS_PORT/<function>/  (functions: ${FUNCTIONS[*]})"
  echo "state:   $STATE_FILE   logs: $LOG_DIR"
}

if [[ -f $STATE_FILE ]]; then
  source "$STATE_FILE"
  read -ra NAMES <<<"$COMPONENTS"; read -ra PCOMMS <<<"$PID_COMMS"
  read -ra PORTS <<<"$PORT_LIST"; read -ra PIDLIST <<<"$PIDS"
  up=0
  for i in "${!PIDLIST[@]}"; do pid_alive "${PIDLIST[$i]}" "${PCOMMS[$i]}" && up=$((up + 1)); done
  if ((up == ${#PIDLIST[@]})); then
    echo "platform already running"
    print_table
    exit 0
  fi
  echo "platform partly running ($up of ${#PIDLIST[@]} processes); restarting it"
  "$PLATFORM_SRC/down.sh"
fi

command -v haproxy >/dev/null || { echo "up.sh: haproxy not found; run scripts/install-deps.sh" >&2; exit 1; }
[[ -x $PYTHON ]] || { echo "up.sh: $PYTHON not found; set PYTHON" >&2; exit 1; }
platform_build

# The plan: parallel arrays, one entry per process.
NAMES=() PCOMMS=() PORTS=() CMDS=() HEALTH=()
add() { NAMES+=("$1"); PCOMMS+=("$2"); PORTS+=("$3"); HEALTH+=("$4"); shift 4; CMDS+=("$(printf '%q ' "$@")"); }
routes=()
for i in "${!FUNCTIONS[@]}"; do
  fn=${FUNCTIONS[$i]} fport=$((FN_PORT_BASE + i + 1)) qport=$((QP_PORT_BASE + i + 1))
  case $fn in
    fn-hello) add "$fn" "$fn" "$fport" /healthz "$PYTHON" "$PLATFORM_SRC/functions/fn_hello.py" --port "$fport" ;;
    fn-chain) add "$fn" "$fn" "$fport" /healthz "$PYTHON" "$PLATFORM_SRC/functions/fn_chain.py" --port "$fport" \
      --downstream "http://127.0.0.1:$INGRESS_PORT/fn-hello/" ;;
    # gRPC over h2c only: any answer over HTTP/2 means it is up (h2c: in health_url).
    fn-grpc) add "$fn" "$fn" "$fport" h2c:/ "$PYTHON" "$PLATFORM_SRC/functions/fn_grpc.py" --port "$fport" ;;
    *) add "$fn" "$fn" "$fport" /healthz "$BUILD_DIR/$fn" -listen "127.0.0.1:$fport" ;;
  esac
  add "queue-proxy[$fn]" queue-proxy "$qport" /healthz "$BUILD_DIR/queue-proxy" -listen "127.0.0.1:$qport" \
    -upstream "127.0.0.1:$fport" -function "$fn" -concurrency "$QP_CONCURRENCY" -queue $((QP_CONCURRENCY * 32))
  routes+=(-route "$fn=127.0.0.1:$qport")
done
add activator activator "$ACTIVATOR_PORT" /healthz "$BUILD_DIR/activator" -listen "127.0.0.1:$ACTIVATOR_PORT" \
  "${routes[@]}" -capacity "$ACTIVATOR_CAPACITY" -async-log "$LOG_DIR/activator-async.jsonl"
add haproxy haproxy "$INGRESS_PORT" /haproxy-healthz haproxy -f "$PLATFORM_SRC/haproxy/haproxy.cfg"

# Refuse to start over someone else's port, and say whose it is.
for i in "${!PORTS[@]}"; do
  port=${PORTS[$i]}
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    owner=$(ss -Hltnp "sport = :$port" 2>/dev/null | grep -o 'users:(("[^"]*",pid=[0-9]*' | head -1 | sed 's/users:(("\(.*\)",pid=\(.*\)/\1 (pid \2)/')
    echo "up.sh: port $port (${NAMES[$i]}) is already in use${owner:+ by $owner}; stop it or choose other ports (INGRESS_PORT, ACTIVATOR_PORT, QP_PORT_BASE, FN_PORT_BASE)" >&2
    exit 1
  fi
done

mkdir -p "$RUN_DIR" "$LOG_DIR"
: >"$LOG_DIR/activator-async.jsonl"
export PLATFORM_SRC INGRESS_PORT ACTIVATOR_PORT  # read by haproxy.cfg
PIDLIST=()
started=$(date +%s%N)
for i in "${!NAMES[@]}"; do
  # setsid: own session, so a Ctrl-C in the starting terminal does not reach the platform.
  # The child is not a group leader, so setsid execs in place and $! is the real pid.
  eval "exec setsid ${CMDS[$i]}" >"$LOG_DIR/${NAMES[$i]//[\[\]]/_}.log" 2>&1 </dev/null &
  PIDLIST+=($!)
done

write_state() {
  local comms="haproxy activator queue-proxy ${FUNCTIONS[*]}"
  {
    echo "# written by scripts/platform/up.sh; source it"
    echo "INGRESS_PORT=$INGRESS_PORT"
    echo "ACTIVATOR_PORT=$ACTIVATOR_PORT"
    echo "INGRESS_URL=http://127.0.0.1:$INGRESS_PORT"
    for i in "${!FUNCTIONS[@]}"; do
      local v=${FUNCTIONS[$i]//-/_}; v=${v^^}
      echo "${v}_PORT=$((FN_PORT_BASE + i + 1))"
      echo "QP_${v}_PORT=$((QP_PORT_BASE + i + 1))"
    done
    echo "FUNCTION_LIST=\"${FUNCTIONS[*]}\""
    echo "COMMS=\"$comms\""
    echo "PIDS=\"${PIDLIST[*]}\""
    echo "COMPONENTS=\"${NAMES[*]}\""
    echo "PID_COMMS=\"${PCOMMS[*]}\""
    echo "PORT_LIST=\"${PORTS[*]}\""
    echo "LOG_DIR=$LOG_DIR"
    echo "ASYNC_LOG=$LOG_DIR/activator-async.jsonl"
  } >"$STATE_FILE"
}
write_state  # before waiting, so down.sh can clean up whatever happens next

ready=()
deadline=$((SECONDS + ${STARTUP_TIMEOUT:-15}))
while :; do
  pending=0
  for i in "${!NAMES[@]}"; do
    [[ -n ${ready[$i]:-} ]] && continue
    if ! pid_alive "${PIDLIST[$i]}"; then
      echo "up.sh: ${NAMES[$i]} (pid ${PIDLIST[$i]}) exited during startup; its log:" >&2
      tail -n 20 "$LOG_DIR/${NAMES[$i]//[\[\]]/_}.log" >&2
      "$PLATFORM_SRC/down.sh" >&2
      exit 1
    fi
    health=${HEALTH[$i]} how=()
    [[ $health == h2c:* ]] && health=${health#h2c:} how=(--http2-prior-knowledge)
    if curl "${how[@]}" -fsS -o /dev/null -m 1 "http://127.0.0.1:${PORTS[$i]}$health" 2>/dev/null; then
      ready[$i]=1
    else
      pending=$((pending + 1))
    fi
  done
  ((pending == 0)) && break
  if ((SECONDS >= deadline)); then
    for i in "${!NAMES[@]}"; do
      [[ -z ${ready[$i]:-} ]] && echo "up.sh: ${NAMES[$i]} did not answer on port ${PORTS[$i]} within ${STARTUP_TIMEOUT:-15}s" >&2
    done
    "$PLATFORM_SRC/down.sh" >&2
    exit 1
  fi
  sleep 0.05
done

# A process whose comm is not what the tracer will look for is a bug here, not later.
for i in "${!NAMES[@]}"; do
  pid_alive "${PIDLIST[$i]}" "${PCOMMS[$i]}" || {
    echo "up.sh: ${NAMES[$i]} (pid ${PIDLIST[$i]}) has comm '$(cat /proc/${PIDLIST[$i]}/comm)', expected '${PCOMMS[$i]}'" >&2
    "$PLATFORM_SRC/down.sh" >&2
    exit 1
  }
done
echo "platform up in $((($(date +%s%N) - started) / 1000000)) ms"
print_table
