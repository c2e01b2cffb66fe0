#!/usr/bin/env bash
# Line coverage of src/ over the whole test suite (what `cargo test` runs, instrumented; the binary
# the tests start writes its profile too), a table per file, the total, and a failure below
# COVERAGE_MIN per cent (default 80).
#
#   bash .ci/coverage.sh
#
# Installs what is missing: Debian's llvm-19 (llvm-profdata and llvm-cov; they read this rustc's
# profiles, and rustup cannot download llvm-tools here) and cargo-llvm-cov (cargo install, about a
# minute, then kept in ~/.cargo/bin).
set -euo pipefail
cd "$(dirname "$0")/.."
min="${COVERAGE_MIN:-80}"

if [ ! -x /usr/bin/llvm-cov-19 ] || [ ! -x /usr/bin/llvm-profdata-19 ]; then
    echo "== installing llvm-19"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends llvm-19
fi
if ! cargo llvm-cov --version >/dev/null 2>&1; then
    echo "== cargo install cargo-llvm-cov"
    cargo install cargo-llvm-cov --version 0.9.1 --locked --quiet
fi
export LLVM_COV=/usr/bin/llvm-cov-19 LLVM_PROFDATA=/usr/bin/llvm-profdata-19
# Only src/: the tests' own code and the bench are not what is measured.
ignore='(^|/)(tests|bench)/'

cargo llvm-cov clean --workspace
cargo llvm-cov --no-report
cargo llvm-cov report --summary-only --ignore-filename-regex "$ignore"
lines=$(cargo llvm-cov report --json --summary-only --ignore-filename-regex "$ignore" |
    python3 -c 'import json, sys; print("%.1f" % json.load(sys.stdin)["data"][0]["totals"]["lines"]["percent"])')
if python3 -c "import sys; sys.exit(0 if $lines >= $min else 1)"; then
    echo "coverage: $lines % of the lines of src/ (at least $min % required)"
else
    echo "coverage: $lines % of the lines of src/, below the $min % required" >&2
    exit 1
fi
