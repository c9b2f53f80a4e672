#!/usr/bin/env bash
# The test command: installs what is missing, then runs every test in a release build (numeric tests
# run ~100x faster than in debug), then the cluster test on a real one-node Slurm (scripts/slurm-test.sh,
# which installs and starts slurm-wlm and munge itself and stops them at the end). Golden tests read
# ../shared/golden beside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# All tests are XCTest; the summary line below is XCTest's final count.
swift test -c release --disable-swift-testing 2>&1 | tee "$log"
summary=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with [0-9]+ failures?" "$log" | tail -1 || true)
if [ -n "$summary" ]; then
  n=$(echo "$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
  f=$(echo "$summary" | sed -E 's/.*with ([0-9]+) failures?.*/\1/')
  echo "$((n - f)) passed, $f failed"
fi
# The cluster test: a one-node Slurm runs the sharded audit and the merge (about a minute).
bash scripts/slurm-test.sh
