#!/usr/bin/env bash
# dsql load against psql's \copy, in one run on one machine.
#
#   bench/load_bench.sh BUILD_DIR [ROWS] [REPEATS]
#
# Makes a CSV of ROWS rows (default 1,000,000) and 5 columns, starts a `dsql local` of its own,
# and loads the file REPEATS times (default 3) each way into a fresh table with a primary key:
#   - psql -c "\copy ..." straight into the backing PostgreSQL over its Unix socket, in one
#     transaction: no TLS, no front, no DSQL rules, no batches; the physical limit here;
#   - the same, but from files of 3,000 rows, one transaction each: what DSQL's row limit itself
#     costs, with nothing of dsql load or the endpoint in the way;
#   - dsql load through the endpoint (TLS, IAM token, DSQL's rules, batches of 3,000 rows, each a
#     transaction), with 1 and 2 workers.
# Prints the median wall time and rows/s of each, dsql load's share of \copy's rate, and the
# peak memory (max RSS) of dsql load for the file and for a fifth of it.
set -euo pipefail

build="${1:?usage: bench/load_bench.sh BUILD_DIR [ROWS] [REPEATS]}"
rows="${2:-1000000}"
repeats="${3:-3}"
dsql="$(cd "$build" && pwd)/cli/dsql"
[ -x "$dsql" ] || { echo "no $dsql: build the dsql_cli target first" >&2; exit 1; }
for tool in jq psql /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "$tool is needed (see DSQL_PACKAGES in scripts/common.sh)" >&2; exit 1; }
done

source "$(dirname "$0")/local_endpoint.sh"
work="$(mktemp -d /tmp/dsql-load-bench-XXXXXX)"
chmod 711 "$work"
trap 'stop_local; rm -rf "$work"' EXIT

echo "==> Making a CSV of $rows rows"
awk -v rows="$rows" 'BEGIN {
  print "id,name,score,note,ts"
  for (i = 0; i < rows; i++)
    printf "%d,customer %d,%.2f,\"note, \"\"%d\"\"\",2026-01-%02d %02d:%02d:%02d\n", i, i % 9973,
           ((i * 7919) % 100000) / 100, i % 17, 1 + i % 28, i % 24, i % 60, (i * 7) % 60
}' > "$work/data.csv"
head -n $((rows / 5 + 1)) "$work/data.csv" > "$work/fifth.csv"
# The same rows as files of 3,000, for psql to load one transaction each, as DSQL would have it.
mkdir "$work/chunks"
tail -n +2 "$work/data.csv" | split -l 3000 - "$work/chunks/c_"
for f in "$work"/chunks/c_*; do echo "\\copy bench_items FROM '$f' CSV"; done > "$work/chunks.sql"
chmod 755 "$work/chunks"
chmod 644 "$work"/*.csv "$work"/chunks/* "$work/chunks.sql"
echo "    $(du -h "$work/data.csv" | cut -f1)"

echo "==> Starting dsql local"
start_local "$dsql" "$work/local"
socket_dir="$work/local/run"

# psql on the backing PostgreSQL's socket, as the user that owns it.
backend_psql() {
  if [ "$(id -u)" -eq 0 ]; then
    su postgres -s /bin/sh -c "PGOPTIONS='-c client_min_messages=warning' psql -h '$socket_dir' -d postgres -X -q $(printf "%q " "$@")"
  else
    PGOPTIONS="-c client_min_messages=warning" psql -h "$socket_dir" -d postgres -X -q "$@"
  fi
}
fresh_table() {
  backend_psql -c "DROP TABLE IF EXISTS bench_items" \
    -c "CREATE TABLE bench_items (id bigint PRIMARY KEY, name text, score double precision, note text, ts timestamp)" \
    -c "GRANT ALL ON bench_items TO admin"
  backend_psql -c "CHECKPOINT"
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A seconds retries
for run in $(seq 1 "$repeats"); do
  fresh_table
  t0=$(now)
  backend_psql -c "\\copy bench_items FROM '$work/data.csv' CSV HEADER"
  seconds[copy]+="$(elapsed "$t0") "
  fresh_table
  t0=$(now)
  backend_psql -f "$work/chunks.sql"
  seconds[chunks]+="$(elapsed "$t0") "
  for workers in 1 2; do
    fresh_table
    t0=$(now)
    "$dsql" load "$uri" --table bench_items --file "$work/data.csv" --header \
      --workers "$workers" >"$work/load.out" 2>"$work/load.err" || { cat "$work/load.err" >&2; exit 1; }
    seconds[load$workers]+="$(elapsed "$t0") "
    retries[load$workers]+="$(sed -n 's/.* batches (\([0-9,]*\) retr.*/\1/p' "$work/load.out") "
  done
  last() { local v="${seconds[$1]:-} "; v="${v% }"; v="${v% }"; echo "${v##* }"; }
  echo "    run $run: psql \\copy $(last copy) s, in 3,000-row txns $(last chunks) s, dsql load $(last load1) s (1 worker), $(last load2) s (2 workers)"
done

report() {
  local name="$1" key="$2" s
  if [ -z "${seconds[$key]:-}" ]; then
    printf "%-44s no run completed\n" "$name"
    return
  fi
  s="$(echo "${seconds[$key]}" | tr ' ' '\n' | grep . | median)"
  printf "%-44s %7.2f s  %10.0f rows/s" "$name" "$s" "$(awk -v r="$rows" -v s="$s" 'BEGIN { print r / s }')"
  if [ "$key" != copy ]; then
    printf "  %3.0f%% of \\copy" "$(awk -v c="$copy_s" -v s="$s" 'BEGIN { print 100 * c / s }')"
  fi
  printf "\n"
}
copy_s="$(echo "${seconds[copy]}" | tr ' ' '\n' | grep . | median)"
echo "==> Median of $repeats runs, $rows rows"
report 'psql \copy, backing socket, one transaction' copy
report 'psql \copy, backing socket, 3,000-row txns' chunks
report 'dsql load --workers 1' load1
report 'dsql load --workers 2' load2
for w in 1 2; do
  echo "dsql load --workers $w: OCC retries per run: ${retries[load$w]:-none}"
done

echo "==> Peak memory of dsql load (max RSS)"
for f in fifth data; do
  fresh_table
  /usr/bin/time -f "%M" -o "$work/rss" "$dsql" load "$uri" --table bench_items --file "$work/$f.csv" \
    --header --workers 1 >/dev/null 2>"$work/load.err" || { cat "$work/load.err" >&2; exit 1; }
  printf "%-10s %6s lines  %8s KiB\n" "$f.csv" "$(wc -l <"$work/$f.csv")" "$(cat "$work/rss")"
done
