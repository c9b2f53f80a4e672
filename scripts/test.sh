#!/usr/bin/env bash
# The test command: installs what is missing, then runs every test in a release build (numeric tests
# run ~100x faster than in debug). Golden tests read ../shared/golden beside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift test -c release
