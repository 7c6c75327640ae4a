#!/usr/bin/env bash
# dsql migrate of 50 migrations with 10 async indexes, against a `dsql local` of its own.
#
#   bench/migrate_bench.sh BUILD_DIR [INDEX_BUILD_DELAY_MS] [REPEATS]
#
# Each repeat starts a fresh endpoint (its async jobs wait INDEX_BUILD_DELAY_MS, default 1000,
# dsql local's default, before building, as builds take seconds on DSQL) and applies the set:
# 40 migrations of a CREATE TABLE, a 100-row INSERT and an ALTER TABLE ADD COLUMN, and 10 of a
# CREATE INDEX ASYNC on one of those tables: 130 statements in all. Prints dsql migrate's own
# account of where the time went (statements, waiting for jobs, its own work) and a second,
# no-op run.
set -euo pipefail

build="${1:?usage: bench/migrate_bench.sh BUILD_DIR [INDEX_BUILD_DELAY_MS] [REPEATS]}"
delay="${2:-1000}"
repeats="${3:-3}"
dsql="$(cd "$build" && pwd)/cli/dsql"
[ -x "$dsql" ] || { echo "no $dsql: build the dsql_cli target first" >&2; exit 1; }
command -v jq >/dev/null || { echo "jq is needed (see DSQL_PACKAGES in scripts/common.sh)" >&2; exit 1; }

source "$(dirname "$0")/local_endpoint.sh"
work="$(mktemp -d /tmp/dsql-migrate-bench-XXXXXX)"
chmod 711 "$work"
trap 'stop_local; rm -rf "$work"' EXIT

mkdir "$work/migrations"
n=0
for i in $(seq 1 40); do
  n=$((n + 1))
  {
    echo "CREATE TABLE bench_t$i (id bigint PRIMARY KEY, name text, amount numeric(10, 2));"
    printf "INSERT INTO bench_t%d VALUES " "$i"
    for r in $(seq 1 100); do printf "%s(%d, 'name %d', %d.50)" "$([ "$r" -gt 1 ] && echo ', ')" "$r" "$r" "$r"; done
    echo ";"
    echo "ALTER TABLE bench_t$i ADD COLUMN note text;"
  } > "$work/migrations/V${n}__table_$i.sql"
  if [ $((i % 4)) -eq 0 ]; then
    n=$((n + 1))
    echo "CREATE INDEX ASYNC bench_t${i}_name ON bench_t$i (name);" > "$work/migrations/V${n}__index_$i.sql"
  fi
done
echo "==> $(ls "$work/migrations" | wc -l) migrations, $(grep -c ASYNC "$work"/migrations/*.sql | awk -F: '{s += $2} END {print s}') async indexes, index build delay $delay ms"

for run in $(seq 1 "$repeats"); do
  rm -rf "$work/local"
  start_local "$dsql" "$work/local" --index-build-delay "$delay"
  "$dsql" migrate "$uri" --dir "$work/migrations" >"$work/out" 2>&1 || { cat "$work/out" >&2; exit 1; }
  echo "run $run: $(grep '^Applied' "$work/out")"
  "$dsql" migrate "$uri" --dir "$work/migrations" >"$work/out" 2>&1 || { cat "$work/out" >&2; exit 1; }
  echo "   again: $(grep '^Applied' "$work/out")"
  stop_local
done
