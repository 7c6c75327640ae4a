# Sourced by the bench scripts: start and stop a `dsql local` of their own.
# shellcheck shell=bash

local_pid=""

# start_local DSQL DIR [dsql local options...]: starts it, waits for endpoint.json, and sets
# AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (exported) and `uri`, a URI with its port and CA.
start_local() {
  local dsql="$1" dir="$2"
  shift 2
  "$dsql" local --dir "$dir" --port 0 "$@" >"$dir.log" 2>&1 &
  local_pid=$!
  for _ in $(seq 1 600); do
    [ -f "$dir/endpoint.json" ] && break
    sleep 0.1
  done
  local ep="$dir/endpoint.json"
  [ -f "$ep" ] || { cat "$dir.log" >&2; return 1; }
  export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
  AWS_ACCESS_KEY_ID="$(jq -r .access_key_id "$ep")"
  AWS_SECRET_ACCESS_KEY="$(jq -r .secret_access_key "$ep")"
  unset AWS_SESSION_TOKEN AWS_PROFILE
  uri="postgres://admin@localhost:$(jq -r .port "$ep")/postgres?region=$(jq -r .region "$ep")&sslrootcert=$(jq -r .ca_file "$ep")"
}

stop_local() {
  if [ -n "$local_pid" ]; then
    kill "$local_pid" 2>/dev/null || true
    wait "$local_pid" 2>/dev/null || true
  fi
  local_pid=""
}
