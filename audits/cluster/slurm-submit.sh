#!/bin/bash
# Queues a sharded audit on Slurm: N shard tasks, then the merge once all of them succeeded.
#   audits/cluster/slurm-submit.sh audits/medpfl-paper.yaml 16 paper.sqlite
set -euo pipefail
AUDIT=${1:?usage: slurm-submit.sh AUDIT.yaml N OUT.sqlite [SHARD_DIR]}
N=${2:?number of shards}
OUT=${3:?merged audit log}
SHARDS=${4:-shards}
HERE=$(cd "$(dirname "$0")" && pwd)
"${MEDPFL:-medpfl}" audit --help >/dev/null      # fail early when medpfl is not on PATH (or MEDPFL unset)
ARRAY=$(sbatch --parsable --array=1-"$N" "$HERE/slurm-audit.sh" "$AUDIT" "$SHARDS")
MERGE=$(sbatch --parsable --dependency=afterok:"$ARRAY" "$HERE/slurm-merge.sh" "$OUT" "$SHARDS")
echo "shards: job array $ARRAY (1-$N); merge: job $MERGE -> $OUT"
