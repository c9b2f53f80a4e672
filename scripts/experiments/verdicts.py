#!/usr/bin/env python3
"""The issue-18 verdict figures of one audit as a Markdown table, from `medpfl show ID --json` (stdin or a file).

Per setting: its guarantee and epsilon (one update; over the declared training), the best SSIM, the worst attack's
re-identification (rank 1, k of n and 95% Wilson interval), the best RDLV, label leakage, trials flagged not
converged, test accuracy with its interval, the paired drop with its interval, divergence, and the band.

    .build/release/medpfl show 1 --db demo.sqlite --json | python3 scripts/experiments/verdicts.py
"""
import json
import sys


def pct(p):
    return "—" if p is None else f"{100 * p:.0f}%"


def ci(prop):
    if not prop or prop.get("total", 0) == 0:
        return "—"
    return f"{prop['count']}/{prop['total']} ({100 * prop['lower']:.0f}–{100 * prop['upper']:.0f}%)"


def main():
    d = json.load(open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin)
    a = d["assessment"]
    print(f"| setting | guarantee | ε (update; training) | best SSIM | re-identified (worst attack) | best RDLV | labels | not converged | test accuracy (95% CI) | drop, points (95% CI) | band |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for s in a["settings"]:
        g = (s.get("guarantee") or {}).get("kind", "—")
        eps = "—"
        if s.get("epsilon") is not None:
            eps = f"{s['epsilon']:.3g}" + (f"; {s['trainingEpsilon']:.3g} ({s['trainingRounds']} rounds)" if s.get("trainingEpsilon") is not None else "")
        applied = [x for x in s["attacks"] if x.get("band")]
        stats = [x["statistics"] for x in applied if x.get("statistics")]
        best = max((x["maxSSIM"] for x in applied), default=None)
        reid = max((st["reidentified"] for st in stats if st.get("reidentified")), key=lambda p: (p["count"], -p["total"]), default=None)
        rdlv = max((st["meanRDLV"] for st in stats if st.get("meanRDLV") is not None), default=None)
        labels = max((x["labelLeakage"] for x in applied), default=None)
        unconv = sum(st["evidence"]["notConverged"] for st in stats if st.get("evidence"))
        judged = sum(st["evidence"]["judgedTrials"] for st in stats if st.get("evidence"))
        acc = s.get("accuracyProportion")
        acc_text = "—" if not acc else f"{100 * acc['estimate']:.1f}% ({100 * acc['lower']:.0f}–{100 * acc['upper']:.0f}%, n={acc['total']})"
        p = s.get("pairedDrop")
        drop = "0 (baseline)" if s["defence"] == "none" else ("—" if not p else f"{100 * p['drop']:+.1f} ({100 * p['lower']:+.1f} to {100 * p['upper']:+.1f})")
        if s.get("divergence"):
            drop += " **diverged**"
        print(f"| `{s['defence']}` | {g} | {eps} | {'—' if best is None else f'{best:.2f}'} | {ci(reid)} | "
              f"{'—' if rdlv is None else f'{rdlv:+.2f}'} | {pct(labels)} | {unconv} of {judged} | {acc_text} | {drop} | {s.get('band') or '—'} |")


if __name__ == "__main__":
    main()
