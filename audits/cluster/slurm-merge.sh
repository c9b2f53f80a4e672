#!/bin/bash
# Merges the shard logs of a sharded audit into one audit log (run after every shard task succeeded).
#   sbatch --dependency=afterok:<array job id> audits/cluster/slurm-merge.sh audit.sqlite shards
#SBATCH --job-name=medpfl-merge
#SBATCH --cpus-per-task=1
#SBATCH --mem=4G
#SBATCH --time=01:00:00
#SBATCH --output=medpfl-merge-%j.log
set -euo pipefail
umask 077
OUT=${1:?usage: slurm-merge.sh OUT.sqlite [SHARD_DIR]}
SHARDS=${2:-shards}
MEDPFL=${MEDPFL:-medpfl}
"$MEDPFL" merge "$OUT" "$SHARDS"/shard-*.sqlite
"$MEDPFL" history --db "$OUT"
