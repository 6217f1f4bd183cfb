#!/usr/bin/env bash
# Benchmarks privlink on this machine and writes BENCHMARKS.md: installs moto
# into .venv/ if needed, builds release binaries, starts moto_server and two
# atlas-sandbox instances on loopback (one with Atlas's documented rate limit,
# one with a tiny bucket for the 429 run) and runs bench/privlink_bench.py.
#
#   scripts/bench.sh                 # full run (about 25 minutes on 2 cores, most of it the set-up apply of 1000 endpoints in moto)
#   scripts/bench.sh --quick         # smaller sizes; writes BENCHMARKS.quick.md
#   scripts/bench.sh --only 1,4      # some items only (see the driver's --help)
#
# Item 5 (detection lag) runs applies whose steps take 2 s, 20 s and 120 s;
# BENCH_LAG_DELAYS=2,20 (seconds) shortens it for a trial, but the figures
# in BENCHMARKS.md come from one full run with 2,20,120.
#
# BENCH_NO_BUILD=1 skips the cargo build (binaries already in
# $CARGO_TARGET_DIR/release); BENCH_PROFILE=debug uses debug binaries (for
# trying the driver, not for figures).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"

OUT=BENCHMARKS.md
for a in "$@"; do
  if [ "$a" = "--quick" ]; then OUT=BENCHMARKS.quick.md; fi
done

ensure_moto
if [ -z "${BENCH_NO_BUILD:-}" ]; then
  log "building release binaries (the first build compiles aws-sdk-ec2 in release and takes a while)"
  cargo build --release --workspace --bins --quiet
fi
export PROFILE_DIR=${BENCH_PROFILE:-release}
LOG_DIR=$(mktemp -d)
LOG_DIR_MAIN=$LOG_DIR
LOG_DIR_SLOW=$(mktemp -d)
trap 'status=$?; stop_servers; rm -rf "$LOG_DIR_MAIN" "$LOG_DIR_SLOW"; exit $status' EXIT

start_moto
log "moto_server at $MOTO_URL"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AWS_ENDPOINT_URL_EC2=$MOTO_URL AWS_EC2_METADATA_DISABLED=true
PUBLIC_KEY=bench-public
PRIVATE_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
export MONGODB_ATLAS_PUBLIC_KEY=$PUBLIC_KEY MONGODB_ATLAS_PRIVATE_KEY=$PRIVATE_KEY
unset MONGODB_ATLAS_CLIENT_ID MONGODB_ATLAS_CLIENT_SECRET
# A service account the main sandbox also accepts, for the plan breakdown's
# rows with a service account (every other run uses the API key).
export BENCH_ATLAS_CLIENT_ID=mdb_sa_id_bench
BENCH_ATLAS_CLIENT_SECRET=mdb_sa_sk_$(python3 -c 'import secrets; print(secrets.token_hex(16))')
export BENCH_ATLAS_CLIENT_SECRET

# Atlas's documented limit for the private endpoint set (the sandbox's
# defaults: 4000 capacity, 2000 per 60 s per project).
start_sandbox --public-key "$PUBLIC_KEY" --private-key "$PRIVATE_KEY" --ec2-endpoint "$MOTO_URL" \
  --client-id "$BENCH_ATLAS_CLIENT_ID" --client-secret "$BENCH_ATLAS_CLIENT_SECRET" \
  --rate-limit-capacity 4000 --rate-limit-refill 2000/60s
export SANDBOX_URL
log "atlas-sandbox at $SANDBOX_URL"
MAIN_SANDBOX=$SANDBOX_URL

export SLOW_CAPACITY=${SLOW_CAPACITY:-20} SLOW_REFILL=${SLOW_REFILL:-120/60s}
LOG_DIR=$LOG_DIR_SLOW
start_sandbox --public-key "$PUBLIC_KEY" --private-key "$PRIVATE_KEY" --ec2-endpoint "$MOTO_URL" \
  --rate-limit-capacity "$SLOW_CAPACITY" --rate-limit-refill "$SLOW_REFILL"
LOG_DIR=$LOG_DIR_MAIN
export SLOW_SANDBOX_URL=$SANDBOX_URL SANDBOX_URL=$MAIN_SANDBOX
log "throttled atlas-sandbox at $SLOW_SANDBOX_URL"

export MOTO_URL PRIVLINK="$CARGO_TARGET_DIR/$PROFILE_DIR/privlink"
"$VENV/bin/python" bench/privlink_bench.py --out "$OUT" "$@"
