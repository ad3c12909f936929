#!/usr/bin/env bash
# Installs the local tools the tests, the template checks and the build need into ./.venv
# (idempotent), pinned to the versions measured in ../shared/tooling.md:
# - always: moto (local DynamoDB, SQS, Secrets Manager) and cfn-lint;
# - unless SKIP_SAM=1: the SAM CLI (sam validate, sam build);
# - WITH_CHECKOV=1: checkov, in its own venv (.venv/checkov: its pins clash with the SAM CLI's);
# - WITH_CARGO_LAMBDA=1: cargo-lambda (and zig, from PyPI) for `sam build` (infra/build.sh);
# - unless SKIP_BROWSER=1: Debian's chromium and chromium-driver, for the onboarding browser
#   tests (apt-get as root, as CI runs; otherwise it says what to install and stops).
# pip runs as `python -m pip` so a venv copied from another checkout still installs here.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
want_moto="5.2.5" want_cfn="1.53.3" want_sam="1.170.0" want_checkov="3.3.30" want_cargo_lambda="1.9.2"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
have() { "$1/bin/python" -m pip show "$2" 2>/dev/null | awk '/^Version:/ {print $2}'; }
need=()
[ "$(have "$venv" moto)" = "$want_moto" ] || need+=("moto[server]==$want_moto")
[ "$(have "$venv" cfn-lint)" = "$want_cfn" ] || need+=("cfn-lint==$want_cfn")
if [ "${SKIP_SAM:-0}" != 1 ] && [ "$(have "$venv" aws-sam-cli)" != "$want_sam" ]; then
  need+=("aws-sam-cli==$want_sam")
fi
if [ "${WITH_CARGO_LAMBDA:-0}" = 1 ] && [ "$(have "$venv" cargo-lambda)" != "$want_cargo_lambda" ]; then
  need+=("cargo-lambda==$want_cargo_lambda")
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]} into .venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${need[@]}"
fi
if [ "${WITH_CHECKOV:-0}" = 1 ]; then
  if [ ! -x "$venv/checkov/bin/python" ]; then
    python3 -m venv "$venv/checkov"
  fi
  if [ "$(have "$venv/checkov" checkov)" != "$want_checkov" ]; then
    echo "setup: installing checkov==$want_checkov into .venv/checkov" >&2
    "$venv/checkov/bin/python" -m pip install --quiet --disable-pip-version-check "checkov==$want_checkov"
  fi
fi
if [ "${SKIP_BROWSER:-0}" != 1 ]; then
  if [ ! -x /usr/lib/chromium/chromium ] || ! command -v chromedriver >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "setup: installing chromium and chromium-driver (Debian packages) for the browser tests" >&2
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
    else
      echo "setup: the browser tests need Debian's chromium and chromium-driver: run as root, or" >&2
      echo "       sudo apt-get install chromium chromium-driver (or set SKIP_BROWSER=1 to skip this step)" >&2
      exit 1
    fi
  fi
fi
