# Shared by the scripts in this folder: paths, the moto virtualenv, builds,
# and starting/stopping the local servers (moto_server for EC2, atlas-sandbox
# for Atlas, azure-sandbox for Entra ID and Azure Resource Manager). Sourced,
# not run.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/privlink/target}
MOTO_VERSION=5.2.5
VENV=${PRIVLINK_VENV:-$ROOT/.venv}

log() { printf '==> %s\n' "$*" >&2; }

# Installs moto into the project's virtualenv unless it is there already.
ensure_moto() {
  if [ -x "$VENV/bin/moto_server" ] && "$VENV/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    return 0
  fi
  log "installing moto[server]==$MOTO_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

PIDS=()
stop_servers() {
  local p
  for p in "${PIDS[@]:-}"; do
    if [ -n "$p" ]; then
      kill "$p" 2>/dev/null || true
      wait "$p" 2>/dev/null || true
    fi
  done
  PIDS=()
}

# Starts moto_server on a free port; sets MOTO_URL.
start_moto() {
  local port; port=$(free_port)
  "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"${LOG_DIR:-/tmp}/moto.log" 2>&1 &
  PIDS+=($!)
  MOTO_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    curl -fsS "$MOTO_URL/moto-api/" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  log "moto_server did not start; see ${LOG_DIR:-/tmp}/moto.log"; return 1
}

# Starts moto behind the EC2 realism layer (ec2-realism/: eventual
# consistency, ClientToken replays, lingering interfaces, pendingAcceptance)
# on a free port; sets MOTO_URL.
start_moto_realistic() {
  local port; port=$(free_port)
  "$VENV/bin/python" "$ROOT/ec2-realism/ec2_realism.py" -H 127.0.0.1 -p "$port" >"${LOG_DIR:-/tmp}/moto.log" 2>&1 &
  PIDS+=($!)
  MOTO_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 200); do
    curl -fsS "$MOTO_URL/moto-api/" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  log "the EC2 realism layer did not start; see ${LOG_DIR:-/tmp}/moto.log"; return 1
}

# Starts atlas-sandbox with the given extra flags; sets SANDBOX_URL.
start_sandbox() {
  local fifo; fifo=$(mktemp -u); mkfifo "$fifo"
  "$CARGO_TARGET_DIR/${PROFILE_DIR:-debug}/atlas-sandbox" --listen 127.0.0.1:0 "$@" >"$fifo" 2>"${LOG_DIR:-/tmp}/atlas-sandbox.log" &
  PIDS+=($!)
  exec 9<"$fifo"
  read -r SANDBOX_URL <&9
  rm -f "$fifo"
  [ -n "$SANDBOX_URL" ] || { log "atlas-sandbox did not start; see ${LOG_DIR:-/tmp}/atlas-sandbox.log"; return 1; }
}

# Starts azure-sandbox with the given extra flags (e.g. --provision-ms 500);
# sets AZURE_SANDBOX_URL, the base of both its Entra ID token endpoint and its
# Resource Manager (pass it to atlas-sandbox as --azure-endpoint).
start_azure_sandbox() {
  local fifo; fifo=$(mktemp -u); mkfifo "$fifo"
  "$CARGO_TARGET_DIR/${PROFILE_DIR:-debug}/azure-sandbox" --listen 127.0.0.1:0 "$@" >"$fifo" 2>"${LOG_DIR:-/tmp}/azure-sandbox.log" &
  PIDS+=($!)
  exec 8<"$fifo"
  read -r AZURE_SANDBOX_URL <&8
  rm -f "$fifo"
  [ -n "$AZURE_SANDBOX_URL" ] || { log "azure-sandbox did not start; see ${LOG_DIR:-/tmp}/azure-sandbox.log"; return 1; }
}
