#!/usr/bin/env bash
# Stops every process up.sh started (SIGTERM, then SIGKILL after 5 s) and removes
# state.env. Logs in $LOG_DIR stay for post-mortems. Only pids recorded in state.env whose
# comm still matches are signalled, so a recycled pid is never hit.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if [[ ! -f $STATE_FILE ]]; then
  echo "platform not running (no $STATE_FILE)"
  exit 0
fi
source "$STATE_FILE"
read -ra pids <<<"$PIDS"
read -ra comms <<<"$PID_COMMS"

live=()
for i in "${!pids[@]}"; do
  if pid_alive "${pids[$i]}" "${comms[$i]}"; then
    kill -TERM "${pids[$i]}" 2>/dev/null || true
    live+=("${pids[$i]}")
  fi
done
for _ in $(seq 50); do
  left=()
  for p in "${live[@]}"; do pid_alive "$p" && left+=("$p"); done
  live=("${left[@]}")
  ((${#live[@]} == 0)) && break
  sleep 0.1
done
if ((${#live[@]})); then
  echo "down.sh: pids ${live[*]} ignored SIGTERM for 5 s; killing" >&2
  kill -KILL "${live[@]}" 2>/dev/null || true
fi
rm -f "$STATE_FILE"
[[ $RUN_DIR == "$BUILD_DIR" ]] || rmdir "$RUN_DIR" 2>/dev/null || true
echo "platform stopped (${#pids[@]} processes)"
