#!/usr/bin/env bash
# The main job: install what is missing, build, start `dsql local`, run the libpq example against
# it (IAM token, verify-full against the local CA), and stop the endpoint.
source "$(dirname "$0")/common.sh"

install_packages
BUILD="$ROOT/build"
# Only the two targets are built; the tree keeps whatever else the test script configured.
configure_and_build "$BUILD" -DDSQL_BUILD_TOOLS=ON -DDSQL_BUILD_EXAMPLES=ON -- dsql_cli example_libpq

STATE="$(mktemp -d /tmp/dsql-demo.XXXXXX)"
LOCAL_PID=""
cleanup() {
  if [ -n "$LOCAL_PID" ] && kill -0 "$LOCAL_PID" 2>/dev/null; then
    kill -TERM "$LOCAL_PID"
    wait "$LOCAL_PID" || true
  fi
  rm -rf "$STATE"
}
trap cleanup EXIT

echo "==> Starting dsql local in $STATE"
"$BUILD/cli/dsql" local --dir "$STATE" --port 0 &
LOCAL_PID=$!
for _ in $(seq 1 120); do
  [ -f "$STATE/endpoint.json" ] && break
  kill -0 "$LOCAL_PID" 2>/dev/null || { echo "dsql local exited early" >&2; exit 1; }
  sleep 0.5
done
[ -f "$STATE/endpoint.json" ] || { echo "dsql local did not become ready" >&2; exit 1; }

# The example reads the samples' variables; the local endpoint's port, CA and keys go through
# libpq's and AWS's own environment variables.
E="$STATE/endpoint.json"
export CLUSTER_ENDPOINT="$(jq -r .hostname "$E")"
export CLUSTER_USER=admin
export REGION="$(jq -r .region "$E")"
export PGPORT="$(jq -r .port "$E")"
export PGSSLROOTCERT="$(jq -r .ca_file "$E")"
export AWS_ACCESS_KEY_ID="$(jq -r .access_key_id "$E")"
export AWS_SECRET_ACCESS_KEY="$(jq -r .secret_access_key "$E")"
unset AWS_SESSION_TOKEN AWS_PROFILE

echo "==> Running examples/libpq_example against $CLUSTER_ENDPOINT:$PGPORT"
"$BUILD/examples/example_libpq"
echo "==> Demo finished: the example connected with an IAM token over verified TLS."
