#!/usr/bin/env bash
# Times our token generator and AWS's JavaScript signer (@aws-sdk/dsql-signer) in the same run,
# with the same inputs: long-term keys and a 900-byte session token.
#   bench/compare_signers.sh [BUILD_DIR]    (default: build, configured with -DDSQL_BUILD_BENCHMARKS=ON)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
work="$(mktemp -d /tmp/dsql-peers.XXXXXX)"
trap 'rm -rf "$work"' EXIT

cmake --build "$build" --target bench_token >/dev/null
cp "$root/bench/peers/js_signer_bench.mjs" "$work/"
(cd "$work" && npm init -y >/dev/null 2>&1 && npm install --no-audit --no-fund @aws-sdk/dsql-signer >/dev/null 2>&1)
echo "node $(node --version), @aws-sdk/dsql-signer $(cd "$work" && node -p 'require("@aws-sdk/dsql-signer/package.json").version')"

"$build/bench/bench_token" --benchmark_filter=BM_TokenGenerator --benchmark_min_time=2 \
  --benchmark_repetitions=3 --benchmark_report_aggregates_only=true | grep median
(cd "$work" && node js_signer_bench.mjs plain && node js_signer_bench.mjs session)
