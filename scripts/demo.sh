#!/usr/bin/env bash
# The main job, end to end on this machine: starts moto (EC2) behind the
# EC2 realism layer (ec2-realism/, as real EC2 behaves) and atlas-sandbox
# (Atlas, clusters UPDATING for a moment after each link) on loopback, creates a VPC with two subnets and a
# client security group in moto, then runs privlink plan -> apply -> plan
# (must report no changes) -> destroy on each example file (by default
# examples/serverless-aws.yaml, the seed's flow, then
# examples/dedicated-aws.yaml, today's flow, then examples/dedicated-azure.yaml
# against azure-sandbox, which atlas-sandbox checks Azure links against), and
# checks that nothing is left behind.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
if [ $# -gt 0 ]; then EXAMPLES=("$@"); else EXAMPLES=(examples/serverless-aws.yaml examples/dedicated-aws.yaml examples/dedicated-azure.yaml); fi
ensure_moto
log "building privlink and atlas-sandbox"
cargo build --workspace --bins --quiet
LOG_DIR=$(mktemp -d)
WORK=$(mktemp -d)
trap 'status=$?; stop_servers; rm -rf "$WORK" "$LOG_DIR"; exit $status' EXIT

start_moto_realistic
log "moto behind the EC2 realism layer at $MOTO_URL"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AWS_ENDPOINT_URL_EC2=$MOTO_URL
export ATLAS_PROJECT_ID=5f7cac1adf5d6c6306f4b280
export AZURE_TENANT_ID=72f988bf-0000-4000-8000-000000000001 AZURE_CLIENT_ID=privlink-demo
export AZURE_CLIENT_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
export AZURE_SUBSCRIPTION_ID=6c1f0a2e-0000-4000-8000-00000000d3e0
start_azure_sandbox --tenant-id "$AZURE_TENANT_ID" --client-id "$AZURE_CLIENT_ID" \
  --client-secret "$AZURE_CLIENT_SECRET" --provision-ms "${PROVISION_MS:-1000}"
log "azure-sandbox at $AZURE_SANDBOX_URL"
export AZURE_SANDBOX_URL
export AZURE_AUTHORITY_HOST=$AZURE_SANDBOX_URL AZURE_RESOURCE_MANAGER_ENDPOINT=$AZURE_SANDBOX_URL
PUBLIC_KEY=demo-public; PRIVATE_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
start_sandbox --public-key "$PUBLIC_KEY" --private-key "$PRIVATE_KEY" \
  --project "$ATLAS_PROJECT_ID" \
  --serverless-instance "$ATLAS_PROJECT_ID/orders-prod@US_EAST_1" \
  --serverless-instance "$ATLAS_PROJECT_ID/billing-prod@US_EAST_1" \
  --cluster "$ATLAS_PROJECT_ID/main@US_EAST_1" \
  --ec2-endpoint "$MOTO_URL" --azure-endpoint "$AZURE_SANDBOX_URL" \
  --reserve-delay "${RESERVE_DELAY:-2s}" --connect-delay "${CONNECT_DELAY:-2s}" --delete-delay "${DELETE_DELAY:-1s}"
log "atlas-sandbox at $SANDBOX_URL"
curl -fsS -X PUT -H 'Content-Type: application/json' -d '{"cluster_update_ms": 1000}' \
  "$SANDBOX_URL/__sandbox/realism" >/dev/null
export MONGODB_ATLAS_BASE_URL=$SANDBOX_URL MONGODB_ATLAS_PUBLIC_KEY=$PUBLIC_KEY MONGODB_ATLAS_PRIVATE_KEY=$PRIVATE_KEY

log "creating a VPC, two subnets and a client security group in moto"
eval "$("$VENV/bin/python" "$ROOT/scripts/moto_fixture.py")"
log "creating a resource group and a virtual network with a subnet in azure-sandbox"
AZURE_FIXTURE=$(python3 "$ROOT/scripts/azure_fixture.py")
eval "$AZURE_FIXTURE"

PRIVLINK="$CARGO_TARGET_DIR/debug/privlink"
run() { printf '\n$ privlink %s\n' "$*"; "$PRIVLINK" "$@"; }

for EXAMPLE in "${EXAMPLES[@]}"; do
  log "example $EXAMPLE"
  STATE="$WORK/$(basename "$EXAMPLE" .yaml).state.json"
  run validate -f "$EXAMPLE"
  run plan -f "$EXAMPLE" --state "$STATE"
  run apply -f "$EXAMPLE" --state "$STATE" --auto-approve
  set +e
  run plan -f "$EXAMPLE" --state "$STATE" --detailed-exitcode
  code=$?
  set -e
  if [ "$code" -ne 0 ]; then log "the plan after apply was not empty (exit $code)"; exit 1; fi
  run output -f "$EXAMPLE" --state "$STATE"
  run destroy -f "$EXAMPLE" --state "$STATE" --auto-approve

  left=$("$VENV/bin/python" "$ROOT/scripts/moto_fixture.py" --count-left)
  atlas_left=$(curl -fsS "$SANDBOX_URL/__sandbox/state" | python3 "$ROOT/scripts/count_atlas.py")
  azure_left=$(python3 "$ROOT/scripts/azure_fixture.py" --count-left)
  printf '\nLeft behind: %s VPC endpoints / privlink security groups in moto, %s private endpoints / endpoint services in the sandbox, %s private endpoints in azure-sandbox.\n' "$left" "$atlas_left" "$azure_left"
  [ "$azure_left" = 0 ] || { log "destroy left Azure private endpoints behind"; exit 1; }
  [ "$left" = 0 ] || { log "destroy left AWS resources behind"; exit 1; }
  [ "$atlas_left" = 0 ] || { log "destroy left Atlas objects behind"; exit 1; }
done
log "demo complete: plan -> apply -> plan (no changes) -> destroy for ${EXAMPLES[*]}"
