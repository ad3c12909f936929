#!/usr/bin/env bash
# Builds every function of template.yaml the way a deploy does (`sam build`, BuildMethod
# rust-cargolambda, release profile) and checks each artifact: `bootstrap` exists and is
# executable, is an ELF of the requested architecture, needs no newer glibc than Lambda's
# Amazon Linux 2023 has (2.34), and stays under the size limit. Prints one line per function
# and the build time.
#
#   bash infra/build.sh                 # x86_64 (the architecture this machine can build)
#   ARCH=arm64 bash infra/build.sh      # needs `rustup target add aarch64-unknown-linux-gnu`
#
# Output: target/sam-build-<arch>/ (kept apart from `sam build`'s .aws-sam/, which is what
# `sam deploy` uploads). Not part of CI: a clean release build of the seven functions takes
# 11 to 28 minutes on 2 cores, depending on what else runs (README, "Measured").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
arch=${ARCH:-x86_64}
max_mb=${BOOTSTRAP_MAX_MB:-50}
goal_mb=15
glibc_max="2.34"
case "$arch" in
  x86_64) elf_machine="x86-64" ;;
  arm64) elf_machine="ARM aarch64" ;;
  *) echo "build: ARCH must be x86_64 or arm64, not '$arch'" >&2; exit 2 ;;
esac
for tool in cargo file objdump; do
  command -v "$tool" >/dev/null || { echo "build: '$tool' is needed and not on PATH" >&2; exit 2; }
done

WITH_CARGO_LAMBDA=1 bash infra/setup.sh
export PATH="$root/.venv/bin:$PATH" SAM_CLI_TELEMETRY=0
# sam build reads no credentials, but wants a region.
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-eu-west-1}

out="target/sam-build-$arch"
rm -rf "$out"
start=$(date +%s)
"$root/.venv/bin/python" -m samcli build --beta-features \
  --template-file template.yaml \
  --build-dir "$out" \
  --parameter-overrides "Architecture=$arch"
took=$(( $(date +%s) - start ))

functions=$("$root/.venv/bin/python" - <<'EOF'
import re
# The functions are the template's AWS::Serverless::Function resources (two-space indent).
text = open("template.yaml").read()
for m in re.finditer(r"^  ([A-Za-z0-9]+):\n    Type: AWS::Serverless::Function$", text, re.M):
    print(m.group(1))
EOF
)
[ -n "$functions" ] || { echo "build: no AWS::Serverless::Function found in template.yaml" >&2; exit 1; }

failed=0
printf '%-28s %10s %8s %-10s %s\n' function bytes MB "glibc" "checks"
for fn in $functions; do
  bin="$out/$fn/bootstrap"
  problems=()
  if [ ! -f "$bin" ]; then
    printf '%-28s %10s %8s %-10s %s\n' "$fn" - - - "FAIL: no $bin"
    failed=1
    continue
  fi
  [ -x "$bin" ] || problems+=("not executable")
  desc=$(file -b "$bin")
  [[ "$desc" == ELF\ 64-bit* ]] || problems+=("not a 64-bit ELF: $desc")
  [[ "$desc" == *"$elf_machine"* ]] || problems+=("not $elf_machine: $desc")
  bytes=$(stat -c %s "$bin")
  mb=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
  awk -v b="$bytes" -v m="$max_mb" 'BEGIN { exit !(b > m * 1048576) }' && problems+=("larger than $max_mb MB")
  glibc=$(objdump -T "$bin" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1)
  glibc=${glibc:-none}
  if [ "$glibc" != none ] && [ "$(printf '%s\n%s\n' "$glibc" "$glibc_max" | sort -V | tail -1)" != "$glibc_max" ]; then
    problems+=("needs glibc $glibc, Lambda's AL2023 has $glibc_max")
  fi
  if [ ${#problems[@]} -eq 0 ]; then
    goal=$(awk -v b="$bytes" -v g="$goal_mb" 'BEGIN { print (b < g * 1048576) ? "under" : "over" }')
    verdict="ok ($goal the $goal_mb MB goal)"
  else
    verdict="FAIL: $(IFS=';'; echo "${problems[*]}")"
    failed=1
  fi
  printf '%-28s %10s %8s %-10s %s\n' "$fn" "$bytes" "$mb" "$glibc" "$verdict"
done
echo "build: sam build ($arch) took ${took} s; artifacts in $out"
exit "$failed"
