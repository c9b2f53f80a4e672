#!/usr/bin/env bash
# The main job on a fresh machine: installs what is missing, builds medpfl (release), and runs the
# bundled demo audit (audits/demo.yaml: real medical images from data/medical-sample) into
# demo.sqlite; the audit writes its risk report (Markdown + HTML, owner-only) to reports/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release
BIN="$(swift build -c release --show-bin-path)/medpfl"
umask 077
"$BIN" audit audits/demo.yaml "$@"
