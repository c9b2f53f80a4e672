#!/usr/bin/env bash
# The main job on a fresh machine: installs what is missing, builds medpfl (release), runs the bundled
# demo audit (audits/demo.yaml: real medical images from data/medical-sample) into demo.sqlite, and
# writes its risk report (Markdown + HTML, owner-only) to reports/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release
BIN="$(swift build -c release --show-bin-path)/medpfl"
umask 077
set +e
"$BIN" audit audits/demo.yaml --fail-on never "$@"
code=$?
set -e
[ $code -eq 0 ] || exit $code
ID=$("$BIN" history --db demo.sqlite --json | python3 -c 'import json,sys; print(max(a["id"] for a in json.load(sys.stdin)))' 2>/dev/null || echo 1)
"$BIN" report "$ID" --db demo.sqlite --out reports/demo
echo "audit $ID: $("$BIN" show "$ID" --db demo.sqlite | head -3 | tr '\n' ' ')"
echo "report: reports/demo/report.html and reports/demo/report.md"
