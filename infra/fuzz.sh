#!/usr/bin/env bash
# The fuzz bench (issue 16, "Bad input, fuzzed"): every property test of the
# inbound parsers at size, with a random seed, then the figures per parser.
#
#   bash infra/fuzz.sh            # 20,000 cases per parser property (about 1.4 million in all)
#   bash infra/fuzz.sh 100000     # more
#   FUZZ_SEED=1234 bash infra/fuzz.sh   # replay the seed a failure printed
#
# The same tests run in CI (bash infra/test.sh) with a few hundred cases each
# and a fixed seed. The handler tests (moto, the simulator) run
# FUZZ_HANDLER_CASES cases each (default 25). Figures go to BENCHMARKS.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cases=${1:-20000}
handler_cases=${FUZZ_HANDLER_CASES:-25}
export FUZZ_SEED=${FUZZ_SEED:-random}
figures=$(mktemp)
trap 'rm -f "$figures"' EXIT
export FUZZ_FIGURES=$figures
SKIP_SAM=1 bash infra/setup.sh
start=$(date +%s)
status=0
echo "== the parsers: $cases cases per property (seed: $FUZZ_SEED)"
PROPTEST_CASES=$cases cargo test --locked -p wms -p spapi --test fuzz -- --test-threads 2 || status=1
PROPTEST_CASES=$cases cargo test --locked -p tests --test it fuzz_jobs:: -- --test-threads 2 || status=1
echo "== the handlers (moto, simulator): $handler_cases cases each"
PROPTEST_CASES=$handler_cases cargo test --locked -p tests --test it fuzz_handlers:: -- --test-threads 2 || status=1
end=$(date +%s)
echo
echo "| property | cases | seconds | cases/s | result |"
echo "|---|---:|---:|---:|---|"
sort "$figures" | awk -F'\t' '{ printf "| %s | %d | %.1f | %.0f | %s |\n", $1, $2, $3, ($3 > 0 ? $2 / $3 : 0), $5 }'
awk -F'\t' '{ n += $2; s += $3; if ($5 != "ok") f++ } END { printf "\n%d properties, %d cases, %.0f s of test time (%d failed)\n", NR, n, s, f }' "$figures"
echo "wall time: $((end - start)) s"
exit $status
