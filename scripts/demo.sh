#!/usr/bin/env bash
# The main job on a fresh machine: installs what is missing, builds medpfl (release), and runs the
# bundled demo on real medical images shipped in data/medical-sample.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release
BIN="$(swift build -c release --show-bin-path)/medpfl"
OUT="${OUT:-demo-output}"
umask 077
"$BIN" attack --attack dlg --model lenet --images-dir data/medical-sample/32 --count 6 --out "$OUT/dlg" "$@"
echo "reconstructions and originals: $OUT/dlg"
