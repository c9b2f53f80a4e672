# Shared by the experiment scripts (source it; do not run it).
# Sets: B (release medpfl binary), D (bundled images), ANCHOR_IMAGES (the six images of
# /work/shared/anchors/defence.json, one per class, as --image/--label pairs); defines write_meta.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
umask 077
B="${MEDPFL:-$(swift build -c release --show-bin-path)/medpfl}"
[ -x "$B" ] || { echo "no release binary at $B: run 'swift build -c release' first" >&2; exit 2; }
D=data/medical-sample/32
# Extra `medpfl attack` / `medpfl train` options appended to every call (for a quick smoke test only,
# e.g. ATTACK_ARGS="--iterations 3" TRAIN_ARGS="--rounds 2"); empty for the published tables.
read -r -a XA <<< "${ATTACK_ARGS:-}"; read -r -a XT <<< "${TRAIN_ARGS:-}"
# Class index = sorted folder order: ct 0, fundus 1, histology 2, mri 3, ultrasound 4, xray 5.
ANCHOR_IMAGES=(--image "$D/ct/ct693_r00c01.png" --label 0 --image "$D/fundus/retina_r00c03.png" --label 1
               --image "$D/histology/ihc_r00c00.png" --label 2 --image "$D/mri/emri_f0.png" --label 3
               --image "$D/ultrasound/echo4c_f000.png" --label 4 --image "$D/xray/rg1chest_r00c00.png" --label 5)

# write_meta DIR PHASE: appends the date, machine, commit and load average to DIR/meta.jsonl, so every
# table says where and when it was measured (PHASE: start or end).
write_meta() {
  local dir="$1" phase="$2"
  mkdir -p "$dir"
  python3 - "$dir/meta.jsonl" "$phase" "$B" <<'PY'
import json, os, platform, subprocess, sys, datetime
path, phase, binary = sys.argv[1:4]
def sh(*a):
    try: return subprocess.run(a, capture_output=True, text=True, check=True).stdout.strip()
    except Exception: return None
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), None)
rec = {"phase": phase, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
       "host": platform.node(), "kernel": platform.release(), "cpu": cpu, "cores": os.cpu_count(),
       "loadavg": open("/proc/loadavg").read().split()[:3],
       "commit": sh("git", "rev-parse", "--short", "HEAD"), "dirty": bool(sh("git", "status", "--porcelain", "--", "Sources", "Package.swift")),
       "medpfl": sh(binary, "--version"), "swift": (sh("swift", "--version") or "").splitlines()[0:1]}
with open(path, "a") as f: f.write(json.dumps(rec) + "\n")
PY
}
