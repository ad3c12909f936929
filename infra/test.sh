#!/usr/bin/env bash
# The whole test suite: unit tests, the SP-API client against wiremock, and the
# integration tests (tests/it) against moto and the SP-API simulator on 127.0.0.1.
# Installs moto into ./.venv first if needed. Extra arguments go to `cargo test`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
SKIP_SAM=1 bash infra/setup.sh
cargo test --workspace --locked "$@"
