#!/usr/bin/env bash
# Installs the local tools the tests and the demo need into ./.venv (idempotent):
# moto (local DynamoDB, SQS, Secrets Manager), cfn-lint and the SAM CLI (template checks).
# Pinned to the versions measured in ../shared/tooling.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
want_moto="5.2.5" want_cfn="1.53.3" want_sam="1.170.0"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
have() { "$venv/bin/pip" show "$1" 2>/dev/null | awk '/^Version:/ {print $2}'; }
need=()
[ "$(have moto)" = "$want_moto" ] || need+=("moto[server]==$want_moto")
[ "$(have cfn-lint)" = "$want_cfn" ] || need+=("cfn-lint==$want_cfn")
if [ "${SKIP_SAM:-0}" != 1 ] && [ "$(have aws-sam-cli)" != "$want_sam" ]; then
  need+=("aws-sam-cli==$want_sam")
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]} into .venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${need[@]}"
fi
