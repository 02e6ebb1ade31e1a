#!/usr/bin/env bash
# Runs every test tier and ends with one line: "tests: N passed, N failed".
#   unit: Catch2, no privileges (build/unit-tests)
#   bpf:  Catch2, root, loads the real programs (build/bpf-tests)
#   e2e:  pytest, root, real servers and clients against build/difftrace
#   fuzz: libFuzzer over pcap reading, reassembly and HTTP parsing, for
#         FUZZ_SECONDS (default 60), seeded with tests/fixtures/pcap and
#         tests/fuzz/regressions (inputs that crashed it once)
# Counts are test cases (Catch2) and tests (pytest). Exit status: non-zero
# if any tier failed or ran nothing.
set -u
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}
passed=0
failed=0
status=0
logdir=$(mktemp -d)

# Catch2's summary: "All tests passed (A assertions in N test cases)" or
# "test cases: N | P passed | F failed".
catch2_tier() {
  local name=$1 bin=$2
  echo "== $name: $bin"
  "$bin" 2>&1 | tee "$logdir/$name.log" | tail -n 25
  local rc=${PIPESTATUS[0]}
  local last p f
  last=$(grep -E 'All tests passed|test cases:' "$logdir/$name.log" | tail -n 1)
  if [[ $last =~ All\ tests\ passed.*in\ ([0-9]+)\ test\ case ]]; then
    p=${BASH_REMATCH[1]}; f=0
  elif [[ $last =~ \|\ +([0-9]+)\ passed\ \|\ +([0-9]+)\ failed ]]; then
    p=${BASH_REMATCH[1]}; f=${BASH_REMATCH[2]}
  elif [[ $last =~ test\ cases:\ +([0-9]+)\ \|\ +([0-9]+)\ failed ]]; then
    p=0; f=${BASH_REMATCH[2]}
  else
    p=0; f=1
  fi
  [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
  [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && f=1  # a tier that ran nothing fails
  passed=$((passed + p)); failed=$((failed + f))
  [ "$f" -ne 0 ] && status=1
  echo "== $name: $p passed, $f failed"
}

pytest_tier() {
  echo "== e2e: pytest tests/e2e"
  "$PYTHON" -m pytest -q -p no:cacheprovider tests/e2e 2>&1 | tee "$logdir/e2e.log" | tail -n 40
  local rc=${PIPESTATUS[0]}
  local last p=0 f=0
  last=$(grep -E '[0-9]+ (passed|failed)' "$logdir/e2e.log" | tail -n 1)
  [[ $last =~ ([0-9]+)\ passed ]] && p=${BASH_REMATCH[1]}
  [[ $last =~ ([0-9]+)\ failed ]] && f=${BASH_REMATCH[1]}
  [[ $last =~ ([0-9]+)\ error ]] && f=$((f + BASH_REMATCH[1]))
  [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
  [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && f=1
  passed=$((passed + p)); failed=$((failed + f))
  [ "$f" -ne 0 ] && status=1
  echo "== e2e: $p passed, $f failed"
}

fuzz_tier() {
  local secs=${FUZZ_SECONDS:-60} corpus
  echo "== fuzz: build/fuzz_pcap for ${secs}s"
  corpus=$(mktemp -d)  # libFuzzer adds inputs to its corpus: keep fixtures untouched
  find tests/fixtures/pcap -name '*.pcap' -exec cp {} "$corpus/" \;
  cp tests/fuzz/regressions/* "$corpus/"  # inputs that once crashed it run first, every time
  cp tests/fuzz/seeds/* "$corpus/"  # HTTP/2 I/Os as fuzz_http2 reads them (fuzz_pcap.cpp)
  if build/fuzz_pcap -max_total_time="$secs" -print_final_stats=1 \
      -artifact_prefix="$logdir/" "$corpus" >"$logdir/fuzz.log" 2>&1; then
    grep -E 'stat::number_of_executed_units|Done [0-9]+ runs' "$logdir/fuzz.log" | tail -n 2
    passed=$((passed + 1))
    echo "== fuzz: 1 passed, 0 failed"
  else
    tail -n 40 "$logdir/fuzz.log"
    failed=$((failed + 1)); status=1
    echo "== fuzz: 0 passed, 1 failed (a crashing input is in the log above)"
  fi
  rm -rf "$corpus"
}

catch2_tier unit build/unit-tests
fuzz_tier
if [ "$(id -u)" -ne 0 ]; then
  echo "the bpf and e2e tiers load BPF programs: run make test as root" >&2
  failed=$((failed + 1)); status=1
else
  catch2_tier bpf build/bpf-tests
  pytest_tier
fi
rm -rf "$logdir"
echo "tests: $passed passed, $failed failed"
exit $status
