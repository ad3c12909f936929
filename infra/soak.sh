#!/usr/bin/env bash
# The fault soak (issue 16), full size: 20 sellers and 10,000 orders through the
# local Lambda (the functions' release bootstraps, run by lambda-emu) for 24
# scheduled runs of a minute each (6 hours of Amazon's time), with every fault of
# the soak injected; then the checks (lost, duplicated, cancellations, packages,
# labels, dead letters), the 1,000-seller fan-out and the cost. Prints the report
# (the tables of BENCHMARKS.md) and keeps a copy; exits 1 when a check failed.
#
#   bash infra/soak.sh                         # the bench (about 30 minutes here)
#   bash infra/soak.sh --orders 2000 --sellers 5 --fanout-sellers 0   # smaller
#   bash infra/soak.sh --help                  # every option
#
# The report goes to target/soak/report.md and every function's log lines to
# target/soak/logs/. CI runs a 1,000-order version through `bash infra/test.sh`
# (tests/it/soak.rs).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
SKIP_SAM=1 bash infra/setup.sh
out="$root/target/soak"
mkdir -p "$out"
# The functions in release (the same command the soak runs, so it is a no-op
# there); the harness (proxies, meter, fake WMS) as a debug build, as the
# other benches: a release build of its dependencies takes longer than the run.
cargo build --locked --release -p order-pull -p shipment-confirm -p labels --bins
cargo build --locked -p soak --bin soak
status=0
"$root/target/debug/soak" --log-dir "$out/logs" "$@" | tee "$out/report.md" || status=$?
echo "soak: report in $out/report.md, logs in $out/logs/" >&2
exit "$status"
