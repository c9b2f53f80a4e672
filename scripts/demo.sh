#!/usr/bin/env bash
# The main job on a fresh machine: installs what is missing, builds medpfl (release), and runs the
# bundled demo audit (audits/demo.yaml: real medical images from data/medical-sample) into
# demo.sqlite; the audit writes its risk report (Markdown + HTML, owner-only) to reports/demo/. Then a follow-up
# audit of the same site (audits/demo-followup.yaml), the site's history page (reports/demo-history/history.html)
# and the demo report as a PDF (reports/demo-pdf/report.pdf). Last, the DICOM demo (audits/dicom-demo.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release
BIN="$(swift build -c release --show-bin-path)/medpfl"
umask 077
"$BIN" audit audits/demo.yaml "$@"
# The log the audit wrote (demo.yaml's output.database, or --db among the arguments).
DB=demo.sqlite
prev=""
for a in "$@"; do [ "$prev" = "--db" ] && DB="$a"; prev="$a"; done
last_audit() { "$BIN" history --db "$DB" | awk 'NR > 1 { id = $1 } END { print id }'; }
DEMO=$(last_audit)
# A follow-up audit of the same site (a new model version, about 30 s), the site's history page, the PDF.
"$BIN" audit audits/demo-followup.yaml --db "$DB" --quiet
"$BIN" report --history --site "Demo Hospital (bundled sample images)" --db "$DB" --out reports/demo-history
if command -v chromium >/dev/null || command -v chromium-browser >/dev/null || [ -n "${MEDPFL_CHROMIUM:-}" ]; then
  "$BIN" report "$DEMO" --db "$DB" --format pdf --out reports/demo-pdf
fi
# The DICOM demo (audits/dicom-demo.yaml, about 15 s): eight real DICOM files labelled by a CSV, decoded with GDCM,
# into its own log dicom-demo.sqlite and reports/dicom-demo/; and what the model sees of one radiograph.
"$BIN" audit audits/dicom-demo.yaml --quiet
"$BIN" preview data/dicom-sample/scans/cr-01-j2k.dcm --input 3x224x224 --out reports/dicom-preview-cr.png
