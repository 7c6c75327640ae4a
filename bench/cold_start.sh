#!/usr/bin/env bash
# Cold start, whole processes: process start to first row and exit, through the connector
# (bench_cold_dsql: credentials from the environment, signing, verify-full TLS, SELECT 1) and
# through bare libpq with a token made beforehand (bench_cold_libpq), and through AWS's Node.js
# connector when node and npm are there; also bare libpq from a C++ program (libstdc++'s share).
# The programs run interleaved, one of each per round, so that all meet the same load; it
# prints each one's median wall and CPU time, its ratio to bare libpq, and per-round ratios.
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

cmake --build "$build" -j 2 --target bench_cold_dsql bench_cold_libpq bench_cold_libpq_cxx \
  bench_cold_time dsql_cli >/dev/null
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
    node_dir="$work/npm" # not "node": that name holds the timings
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

# run_one NAME COMMAND...: appends "WALL CPU" (microseconds) of the process to $work/NAME.
# bench_cold_time forks and waits itself, so no shell work falls inside the interval.
run_one() {
  local name="$1"
  shift
  "$build/bench/bench_cold_time" "$work/$name" "$@" >"$work/out" 2>"$work/err" ||
    { cat "$work/err" >&2; return 1; }
  grep -qx 1 "$work/out" || { echo "$name printed no row" >&2; return 1; }
}

dsql_uri="postgres://admin@localhost:$port/postgres?region=$region&sslrootcert=$ca"
names=(libpq libpq_cxx dsql)
[ -n "${COLD_OTHER:-}" ] && names+=(other)
[ -n "$node_dir" ] && names+=(node)
# libpq_cxx is the same program built as C++: it also pays for loading libstdc++.
# The connector finds its own credentials, as an application would: no token given.
run_named() {
  case "$1" in
    libpq) PGPASSWORD="$token" run_one libpq "$build/bench/bench_cold_libpq" localhost "$port" \
      admin "$ca" ;;
    libpq_cxx) PGPASSWORD="$token" run_one libpq_cxx "$build/bench/bench_cold_libpq_cxx" \
      localhost "$port" admin "$ca" ;;
    dsql) run_one dsql "$build/bench/bench_cold_dsql" "$dsql_uri" ;;
    other) run_one other "$COLD_OTHER" "$dsql_uri" ;;
    node) run_one node node "$node_dir/cold_node.mjs" "$port" "$region" "$ca" ;;
  esac
}
# run_round N: every program once, starting with a different one each round so that none always
# follows another. The pause lets the endpoint finish with the previous session (PostgreSQL's
# backend exit, the front's cleanup) first: on two cores that work would otherwise land on
# whichever process runs next.
run_round() {
  local k
  for ((k = 0; k < ${#names[@]}; k++)); do
    run_named "${names[$((($1 + k) % ${#names[@]}))]}"
    sleep 0.05
  done
}
run_round 0 # warm the page cache and the endpoint; not counted
rm -f "$work/libpq" "$work/libpq_cxx" "$work/dsql" "$work/other" "$work/node"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq 1 "$runs"); do run_round "$i"; done
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"

# median FILE COLUMN (1: wall, 2: CPU), in microseconds.
median() {
  awk -v c="$2" '{print $c}' "$1" | sort -n |
    awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'
}
printf '%-10s %5s %10s %8s %8s %7s %9s %7s\n' program runs wall_ms min_ms max_ms ratio cpu_ms ratio
for n in "${names[@]}"; do
  f="$work/$n"
  lo="$(sort -n "$f" | head -1 | cut -d' ' -f1)"
  hi="$(sort -n "$f" | tail -1 | cut -d' ' -f1)"
  awk -v n="$n" -v c="$(wc -l <"$f")" -v lo="$lo" -v hi="$hi" \
    -v m="$(median "$f" 1)" -v b="$(median "$work/libpq" 1)" \
    -v cm="$(median "$f" 2)" -v cb="$(median "$work/libpq" 2)" \
    'BEGIN {printf "%-10s %5d %10.2f %8.2f %8.2f %7.3f %9.2f %7.3f\n",
                   n, c, m/1000, lo/1000, hi/1000, m/b, cm/1000, cm/cb}'
done
# Per-round ratios, wall and CPU: both processes of a pair ran within the same round.
for base_name in libpq libpq_cxx; do
  for n in dsql other; do
    [ -f "$work/$n" ] || continue
    paste -d' ' "$work/$n" "$work/$base_name" | awk '{print $1/$3, $2/$4}' >"$work/ratios"
    printf '%s/%s per round: median wall %.3f, CPU %.3f\n' "$n" "$base_name" \
      "$(median "$work/ratios" 1)" "$(median "$work/ratios" 2)"
  done
done
