#!/usr/bin/env bash
# Runs the reliability tests and writes RELIABILITY.md from what they measured.
#
# The end-to-end tests in tests/it/reliability.rs (and any other test that
# honours PRIVLINK_RELIABILITY_OUT) append one JSON line of figures each to a
# file; the unit tests behind them (config corpus and fuzzing, state file and
# lock, Atlas and EC2 retries) are run too and their pass counts recorded.
# Every figure in RELIABILITY.md comes from this run; a failing test stops
# the script and leaves RELIABILITY.md as it was.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
ensure_moto
export MOTO_SERVER="$VENV/bin/moto_server"

OUT="$CARGO_TARGET_DIR/reliability/figures.jsonl"
UNIT="$CARGO_TARGET_DIR/reliability/unit.txt"
mkdir -p "$(dirname "$OUT")"
rm -f "$OUT" "$UNIT"

log "building (target dir $CARGO_TARGET_DIR)"
cargo build --workspace --bins --tests --features privlink/failpoints --quiet

log "unit tests: config corpus and fuzzing, state file and lock, retries"
for filter in config:: state:: providers::aws providers::atlas; do
  if ! output=$(cargo test --quiet --lib -- "$filter" 2>&1); then
    printf '%s\n' "$output" | tail -40 >&2
    log "unit tests $filter failed"
    exit 1
  fi
  result=$(printf '%s\n' "$output" | grep -E '^test result:' | tail -1)
  printf '%s\t%s\n' "$filter" "$result" >>"$UNIT"
done

log "end-to-end reliability tests (tests/it/reliability.rs, tests/it/crash.rs, tests/it/soak.rs)"
# RELIABILITY_TESTS: name filters of the tests to run (any match runs).
# shellcheck disable=SC2086
# The soak test runs PRIVLINK_SOAK_ROUNDS rounds (10 here, 3 in the test suite).
PRIVLINK_SOAK_ROUNDS="${PRIVLINK_SOAK_ROUNDS:-10}" PRIVLINK_RELIABILITY_OUT="$OUT" \
  cargo test --quiet --features privlink/failpoints --test it -- ${RELIABILITY_TESTS:-reliability:: crash:: soak::} \
  --nocapture --test-threads "${TEST_THREADS:-2}"

log "writing RELIABILITY.md"
python3 - "$OUT" "$UNIT" "$(git rev-parse --short HEAD)" >RELIABILITY.md <<'PY'
import json, sys, datetime
figures_path, unit_path, commit = sys.argv[1:4]
areas = {}
for line in open(figures_path):
    line = line.strip()
    if line:
        rec = json.loads(line)
        areas.setdefault(rec["area"], []).append(rec["figures"])
titles = {
    "crash": "Crash at every step",
    "faults": "Faults: 429 with Retry-After, 500, 503 on 20% of requests, 20 ms latency",
    "concurrency": "Concurrent runs on one state",
    "bad_input": "Bad input",
    "secrets": "Secrets",
    "interrupts": "Ctrl-C during apply",
    "soak": "Soak: rounds of apply, plan and destroy of six endpoints in the realistic world, "
            "20% Atlas faults, ghost creates and dropped answers",
}
order = ["crash", "faults", "soak", "concurrency", "bad_input", "secrets", "interrupts"]
order += sorted(a for a in areas if a not in order)
print("# Reliability figures\n")
print(f"Produced by `scripts/reliability.sh` at commit `{commit}` on "
      f"{datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}. "
      "Every number below was measured by that run; the tests that produced them fail "
      "when the property they check breaks.\n")
print("## Summary\n")
def total(area, key):
    return sum(f.get(key, 0) or 0 for f in areas.get(area, []))
rows = []
if "crash" in areas:
    rows.append(("kill points survived", ", ".join(f"{k}: {v}" for f in areas["crash"] for k, v in f.items())))
else:
    rows.append(("kill points survived", "not measured by this run (no `crash` figures)"))
rows.append(("faults injected and survived", f"{total('faults', 'injected')} "
             f"(429: {total('faults', 'injected_429')}, 500: {total('faults', 'injected_500')}, "
             f"503: {total('faults', 'injected_503')})"))
rows.append(("bad inputs rejected", f"{total('bad_input', 'corpus_files') + total('bad_input', 'generated_files')} files "
             f"({total('bad_input', 'cli_runs_refused')} plan/apply runs), "
             f"{total('bad_input', 'corrupt_state_runs_refused')} runs on corrupt state files; "
             f"API calls: {total('bad_input', 'api_calls')}"))
rows.append(("secrets checked", f"{total('secrets', 'secrets')} secrets grepped in "
             f"{total('secrets', 'runs_grepped')} runs and {total('secrets', 'files_grepped')} files; "
             f"leaks: {total('secrets', 'leaks')}; files with mode 0600: {total('secrets', 'files_mode_0600')}"))
if "soak" in areas:
    rows.append(("soak rounds converged", f"{total('soak', 'rounds')} rounds of 6 endpoints; "
                 f"Atlas faults {total('soak', 'atlas_faults_injected')}, ghost creates "
                 f"{total('soak', 'ghost_creates')}; duplicates {total('soak', 'duplicates')}, "
                 f"orphans {total('soak', 'orphans')}"))
print("| what | figure |\n|---|---|")
for k, v in rows:
    print(f"| {k} | {v} |")
print()
for area in order:
    if area not in areas:
        continue
    print(f"## {titles.get(area, area)}\n")
    for f in areas[area]:
        print("| figure | value |\n|---|---|")
        for k, v in f.items():
            v = {True: "yes", False: "no", None: "-"}.get(v, v) if not isinstance(v, (int, float)) or isinstance(v, bool) else v
            print(f"| {k.replace('_', ' ')} | {v} |")
        print()
print("## Unit tests run alongside\n")
print("| filter | result |\n|---|---|")
for line in open(unit_path):
    flt, res = line.rstrip("\n").split("\t", 1)
    print(f"| `{flt}` | {res.replace('test result: ', '')} |")
PY
log "wrote RELIABILITY.md"
