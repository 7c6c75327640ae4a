#!/usr/bin/env bash
# Cold start, whole processes: process start to first row and exit, through the connector
# (bench_cold_dsql: credentials from the environment, signing, verify-full TLS, SELECT 1) and
# through bare libpq with a token made beforehand (bench_cold_libpq), and through AWS's Node.js
# connector when node and npm are there. The programs run interleaved, one of each per round,
# so that both meet the same load.
#   bench/cold_start.sh [BUILD_DIR] [RUNS]    (default: build, 30; the build needs
#                                              -DDSQL_BUILD_BENCHMARKS=ON and the tools)
# COLD_NODE=0 skips the Node.js connector; COLD_NODE_DIR=DIR reuses an npm install of
# @aws/aurora-dsql-node-postgres-connector and pg there instead of installing into a temp dir.
# COLD_OTHER=PATH adds another build of bench_cold_dsql to each round (as "other"), to compare a
# change with what it replaces in the same run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
runs="${2:-30}"
source "$root/bench/local_endpoint.sh"

cmake --build "$build" -j 2 --target bench_cold_dsql bench_cold_libpq bench_cold_libpq_cxx dsql_cli >/dev/null
work="$(mktemp -d /tmp/dsql-cold.XXXXXX)"
chmod 711 "$work" # PostgreSQL runs as postgres when dsql local runs as root
trap 'stop_local; rm -rf "$work"' EXIT
start_local "$build/cli/dsql" "$work/local"
ep="$work/local/endpoint.json"
port="$(jq -r .port "$ep")"
region="$(jq -r .region "$ep")"
ca="$(jq -r .ca_file "$ep")"

# The token goes to bench_cold_libpq alone, through its environment, and is never printed.
token="$("$build/cli/dsql" token --host localhost --region "$region")"

node_dir=""
if [ "${COLD_NODE:-1}" != "0" ] && command -v node >/dev/null && command -v npm >/dev/null; then
  if [ -n "${COLD_NODE_DIR:-}" ]; then
    node_dir="$COLD_NODE_DIR"
  else
    node_dir="$work/node"
    mkdir -p "$node_dir"
    (cd "$node_dir" && npm init -y >/dev/null 2>&1 &&
      npm install --no-audit --no-fund @aws/aurora-dsql-node-postgres-connector pg \
        >/dev/null 2>&1) || node_dir=""
  fi
  if [ -n "$node_dir" ]; then
    cp "$root/bench/peers/cold_node.mjs" "$node_dir/"
    echo "node $(node --version), @aws/aurora-dsql-node-postgres-connector $(cd "$node_dir" &&
      jq -r .version node_modules/@aws/aurora-dsql-node-postgres-connector/package.json)"
  fi
fi

# run_one NAME COMMAND...: appends the process's wall time in microseconds to $work/NAME.
# EPOCHREALTIME is read by bash itself, so no timing process is forked inside the interval.
run_one() {
  local name="$1"
  shift
  local t0="$EPOCHREALTIME"
  "$@" >"$work/out" 2>"$work/err" || { cat "$work/err" >&2; return 1; }
  local t1="$EPOCHREALTIME"
  grep -qx 1 "$work/out" || { echo "$name printed no row" >&2; return 1; }
  echo $(((${t1/./} - ${t0/./}))) >>"$work/$name"
}

dsql_uri="postgres://admin@localhost:$port/postgres?region=$region&sslrootcert=$ca"
names=(libpq libpq_cxx dsql)
[ -n "${COLD_OTHER:-}" ] && names+=(other)
[ -n "$node_dir" ] && names+=(node)
# libpq_cxx is the same program built as C++: it also pays for loading libstdc++.
run_libpq() {
  PGPASSWORD="$token" run_one libpq "$build/bench/bench_cold_libpq" localhost "$port" admin "$ca"
  PGPASSWORD="$token" run_one libpq_cxx "$build/bench/bench_cold_libpq_cxx" localhost "$port" \
    admin "$ca"
}
# The connector finds its own credentials, as an application would: no token given.
run_dsql() {
  run_one dsql "$build/bench/bench_cold_dsql" "$dsql_uri"
  if [ -n "${COLD_OTHER:-}" ]; then run_one other "$COLD_OTHER" "$dsql_uri"; fi
}
# run_round N: the order alternates, so that neither side always runs just after the other.
run_round() {
  if [ $(($1 % 2)) -eq 0 ]; then run_libpq && run_dsql; else run_dsql && run_libpq; fi
  if [ -n "$node_dir" ]; then
    run_one node node "$node_dir/cold_node.mjs" "$port" "$region" "$ca"
  fi
}
run_round 0 # warm the page cache and the endpoint; not counted
rm -f "$work/libpq" "$work/libpq_cxx" "$work/dsql" "$work/other" "$work/node"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq 1 "$runs"); do run_round "$i"; done
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"

median() { sort -n "$1" | awk '{a[NR]=$1} END {m = NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; print m}'; }
base="$(median "$work/libpq")"
printf '%-8s %6s %10s %10s %10s %7s\n' program runs median_ms min_ms max_ms ratio
for n in "${names[@]}"; do
  m="$(median "$work/$n")"
  lo="$(sort -n "$work/$n" | head -1)"
  hi="$(sort -n "$work/$n" | tail -1)"
  awk -v n="$n" -v c="$(wc -l <"$work/$n")" -v m="$m" -v lo="$lo" -v hi="$hi" -v b="$base" \
    'BEGIN {printf "%-8s %6d %10.2f %10.2f %10.2f %7.3f\n", n, c, m/1000, lo/1000, hi/1000, m/b}'
done
# Per-round ratios: each pair met the same moment's load.
for base_name in libpq libpq_cxx; do
  for n in dsql other; do
    [ -f "$work/$n" ] || continue
    paste "$work/$n" "$work/$base_name" | awk '{print $1/$2}' | sort -n |
      awk -v n="$n/$base_name" '{a[NR]=$1} END {m = NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2
        printf "%s per round: median %.3f\n", n, m}'
  done
done
