#!/usr/bin/env bash
# Template checks that run the SAM transform, offline: cfn-lint 1.53.3 and `sam validate`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash infra/setup.sh
.venv/bin/cfn-lint template.yaml
AWS_DEFAULT_REGION=eu-west-1 AWS_ACCESS_KEY_ID=lint AWS_SECRET_ACCESS_KEY=lint SAM_CLI_TELEMETRY=0 \
  .venv/bin/sam validate --template-file template.yaml
