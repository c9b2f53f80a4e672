#!/usr/bin/env python3
"""Independent check of a medpfl audit digest, from the documented encoding alone (audits/SCHEMA.md,
"Audit digests"), with Python's standard library: no medpfl needed.

    python3 scripts/verify_digest.py medpfl.sqlite 3      # prints the recomputed digest, exit 0 if it matches

The log is opened read-only. Exit 0: the digest stored for the audit matches its rows; 4: it does not (the
first differing row is named); 2: bad input. Signatures are not checked here (use `medpfl verify --verify-key`).
"""
import hashlib
import sqlite3
import struct
import sys

V1 = [
    ("audits", "id", ["site", "model", "model_version", "model_sha256", "config_json", "config_sha256", "tool_version",
                      "seed", "command_line", "definition_path", "shard", "trials_planned", "grid_size", "started_at",
                      "finished_at", "status", "status_note", "pid", "host", "process"], "id = ?"),
    ("trials", "id", ["audit_id", "trial_key", "grid_index", "sample_index", "image_paths", "image_sha256", "attack",
                      "attack_kind", "attack_config", "defence", "defence_effect", "snr", "fraction_changed", "epsilon",
                      "seed", "true_labels", "recovered_labels", "applicable", "note", "images", "successes",
                      "labels_recovered", "mse", "psnr", "ssim", "max_ssim", "success", "iterations", "final_loss",
                      "seconds", "recorded_at"], "audit_id = ?"),
    ("reconstructions", "id", ["trial_id", "image_index", "reconstruction_index", "true_label", "recovered_label", "mse",
                               "psnr", "ssim", "success", "reconstruction_png", "original_png"],
     "trial_id IN (SELECT id FROM trials WHERE audit_id = ?)"),
    ("utility_runs", "id", ["audit_id", "defence", "accuracy", "baseline_accuracy", "accuracy_drop", "rounds", "clients",
                            "seed", "seconds", "details", "recorded_at"], "audit_id = ?"),
    ("recommendations", "id", ["audit_id", "position", "kind", "setting", "band", "text"], "audit_id = ?"),
    ("assessments", "audit_id", ["tool_version", "assessment_json"], "audit_id = ?"),
]

# Version 2 (schema v5): the same tables, with the columns of the verdict evidence appended.
V2 = [(t, k, c + {"trials": ["leakage_evidence", "late_loss_drop"],
                  "reconstructions": ["reid_rank_ssim", "reid_rank_features", "reid_pool", "prior_ssim"]}.get(t, []), w)
      for t, k, c, w in V1]
# Version 3 (schema v6): and the utility runs' evidence (per seed: accuracy, test images right, divergence).
V3 = [(t, k, c + {"utility_runs": ["utility_evidence"]}.get(t, []), w) for t, k, c, w in V2]
TABLES = {1: V1, 2: V2, 3: V3}


def name(s):
    b = s.encode()
    return struct.pack(">I", len(b)) + b


def value(v):
    if v is None:
        return b"\x00"
    if isinstance(v, int):
        return b"\x01" + struct.pack(">q", v)
    if isinstance(v, float):
        return b"\x02" + struct.pack(">d", v)
    if isinstance(v, str):
        b = v.encode()
        return b"\x03" + struct.pack(">Q", len(b)) + b
    return b"\x04" + struct.pack(">Q", len(v)) + bytes(v)


def row_hashes(db, audit, version):
    out = []
    for index, (table, key, columns, where) in enumerate(TABLES[version]):
        cols = [key] + columns
        sql = f"SELECT {', '.join(chr(34) + c + chr(34) for c in cols)} FROM {table} WHERE {where} ORDER BY {key}"
        for row in db.execute(sql, (audit,)):
            enc = name(table) + struct.pack(">q", row[0]) + struct.pack(">q", len(cols))
            for c, v in zip(cols, row):
                enc += name(c) + value(v)
            out.append((index, row[0], hashlib.sha256(enc).digest()))
    return out


def digest(rows, shards_json, version):
    h = hashlib.sha256(f"medpfl audit digest v{version}\n".encode())
    for index, key, rh in rows:
        h.update(bytes([index]) + struct.pack(">q", key) + rh)
    h.update(b"\xff" + name(shards_json))
    return h.hexdigest()


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    path, audit = sys.argv[1], int(sys.argv[2])
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    stored = db.execute("SELECT digest_version, digest, row_hashes, shard_digests FROM audit_digests WHERE audit_id = ?",
                        (audit,)).fetchone()
    if stored is None:
        print(f"audit {audit} has no digest", file=sys.stderr)
        return 2
    version, want, packed, shards = stored
    if version not in TABLES:
        print(f"digest version {version} is not known to this script", file=sys.stderr)
        return 2
    rows = row_hashes(db, audit, version)
    # The merged audit's shard digests are hashed as medpfl stored them ("[]" when there are none).
    got = digest(rows, shards if shards is not None else "[]", version)
    print(got)
    if got == want:
        return 0
    recorded = [(packed[i], struct.unpack(">q", packed[i + 1:i + 9])[0], packed[i + 9:i + 41]) for i in range(0, len(packed), 41)]
    now = {(t, k): h for t, k, h in rows}
    for t, k, h in recorded:
        if now.get((t, k)) != h:
            print(f"{TABLES[version][t][0]} row {k} differs from what was recorded", file=sys.stderr)
            break
    else:
        print("a row was added, or the stored digest itself was changed", file=sys.stderr)
    return 4


if __name__ == "__main__":
    sys.exit(main())
