#!/usr/bin/env bash
# The whole test suite: unit tests, the SP-API client against wiremock, and the
# integration tests (tests/it) against moto and the SP-API simulator on 127.0.0.1.
# Installs moto into ./.venv first if needed. Extra arguments go to `cargo test`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
SKIP_SAM=1 bash infra/setup.sh
# The functions' bootstrap binaries the end-to-end tests run through the local
# Lambda (tests/it/e2e.rs). The tests build them too (the same command, a no-op
# here after this line), so `cargo test -p tests` alone also works.
cargo build --locked -p order-pull -p shipment-confirm -p inventory-push -p labels -p onboarding -p credentials -p notifications -p hello-lambda --bins
cargo test --workspace --locked --no-fail-fast "$@"
