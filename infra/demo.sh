#!/usr/bin/env bash
# The main job locally: moto (local DynamoDB/SQS/Secrets Manager) with the
# template's resources, the SP-API simulator, a demo seller and its orders,
# and the real code. Installs moto into ./.venv first if needed.
# Options go to the demo binary (`--speed`, `--orders`; see `--help`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
SKIP_SAM=1 bash infra/setup.sh
cargo run --quiet --locked -p devstack --bin demo -- "$@"
