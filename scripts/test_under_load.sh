#!/usr/bin/env bash
# The whole suite RUNS times in a row (default 3) while one core is kept busy, as on a shared
# 2-core machine: `make test-under-load` (or `bash scripts/test_under_load.sh [RUNS]`).
#
# The load is Debian's `stress-ng --cpu 1` (installed by scripts/install_stress.sh when it can
# be), else a Python busy loop. Each run's duration and result is printed, then a summary with
# the date, the machine and the Python; the load process is stopped however the script ends.
# TEST_CMD is the command run each time (default `make test`, run by bash -c); LOAD=python
# forces the busy loop. Exit code: 0 when every run passed, else the last failing run's.
set -uo pipefail

runs="${1:-${RUNS:-3}}"
test_cmd="${TEST_CMD:-make test}"
if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
  echo "test_under_load: RUNS must be a positive whole number, got '$runs'" >&2
  exit 2
fi
cd "$(dirname "$0")/.."

set -m  # each background job in its own process group: a run can be stopped as a whole
load_pid=""
run_pid=""
stop_load() {
  if [[ -n "$load_pid" ]] && kill -0 "$load_pid" 2>/dev/null; then
    kill "$load_pid" 2>/dev/null
    wait "$load_pid" 2>/dev/null
  fi
  load_pid=""
}
stop_run() {  # on Ctrl-C or TERM: the run in progress, everything it started
  if [[ -n "$run_pid" ]] && kill -0 "$run_pid" 2>/dev/null; then
    kill -TERM -- "-$run_pid" 2>/dev/null
    wait "$run_pid" 2>/dev/null
  fi
}
trap stop_load EXIT
trap 'stop_run; exit 130' INT
trap 'stop_run; exit 143' TERM

if [[ "${LOAD:-}" != "python" ]]; then
  bash scripts/install_stress.sh || true
fi
if [[ "${LOAD:-}" != "python" ]] && command -v stress-ng >/dev/null 2>&1; then
  load="stress-ng --cpu 1"
  stress-ng --cpu 1 --quiet 2>/dev/null &
else
  load="a Python busy loop"
  python3 -c 'while True: pass' &
fi
load_pid=$!
echo "test_under_load: $runs run(s) of '$test_cmd' while $load (pid $load_pid) keeps a core busy"

results=()
status=0
for run in $(seq 1 "$runs"); do
  started=$(date +%s)
  bash -c "$test_cmd" &
  run_pid=$!
  wait "$run_pid"
  rc=$?
  run_pid=""
  seconds=$(( $(date +%s) - started ))
  if [[ $rc -eq 0 ]]; then verdict="passed"; else verdict="FAILED (exit $rc)"; status=$rc; fi
  line="run $run/$runs: $verdict in $((seconds / 60)) min $((seconds % 60)) s"
  results+=("$line")
  echo "test_under_load: $line"
  kill -0 "$load_pid" 2>/dev/null || echo "test_under_load: warning: the load process ended" >&2
done
stop_load

echo "test_under_load: summary, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores," \
     "$(uname -sr), ${PY_VERSION:-$(python3 --version)}, load: $load"
printf '  %s\n' "${results[@]}"
exit "$status"
