#!/bin/sh
# Renders an HTML report the way a reader sees it, for a look by eye:
#   scripts/render-check.sh REPORT.html OUTDIR
# writes OUTDIR/screen.png (1200 px wide, first 2400 px), OUTDIR/report.pdf (A4, as printed) and,
# when poppler-utils is installed, OUTDIR/page-N.png for every PDF page. Needs Debian's `chromium`
# (or `chromium-browser`) on PATH. OUTDIR is created owner-only: the images show patient data.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 REPORT.html OUTDIR" >&2; exit 2; }
html=$1; out=$2
[ -f "$html" ] || { echo "render-check: $html does not exist" >&2; exit 2; }
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "render-check: chromium not found on PATH (apt-get install chromium)" >&2; exit 2; }
umask 077
mkdir -p "$out"
url="file://$(cd "$(dirname "$html")" && pwd)/$(basename "$html")"
flags="--headless --no-sandbox --disable-gpu --hide-scrollbars"
"$browser" $flags --screenshot="$out/screen.png" --window-size=1200,2400 "$url" 2>/dev/null
"$browser" $flags --no-pdf-header-footer --print-to-pdf="$out/report.pdf" "$url" 2>/dev/null
if command -v pdftoppm >/dev/null; then
  pdftoppm -r 80 -png "$out/report.pdf" "$out/page"
  command -v pdfinfo >/dev/null && pdfinfo "$out/report.pdf" | grep -E '^(Pages|Page size)'
fi
ls -1 "$out"
