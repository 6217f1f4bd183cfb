#!/usr/bin/env bash
# Runs every test: installs moto into .venv if needed, checks formatting and
# the module layout (scripts/check_layout.py), runs the EC2 realism layer's
# self-test (ec2-realism/), builds both binaries and runs
# the whole cargo test suite (which starts its own atlas-sandbox and
# moto_server instances on loopback).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
ensure_moto
log "cargo fmt --check"
cargo fmt --all -- --check
log "layout: no import cycles, the engine imports no cloud, no function of 80 lines or more"
python3 scripts/check_layout.py --self-test
python3 scripts/check_layout.py
log "EC2 realism layer self-test"
"$VENV/bin/python" ec2-realism/test_ec2_realism.py
log "building (target dir $CARGO_TARGET_DIR)"
# The failpoints feature compiles in the crash points the crash tests use;
# build and test with the same features so that one binary serves both.
cargo build --workspace --bins --features privlink/failpoints --quiet
log "running tests"
MOTO_SERVER="$VENV/bin/moto_server" cargo test --workspace --features privlink/failpoints --quiet -- --test-threads "${TEST_THREADS:-4}" 2>&1
