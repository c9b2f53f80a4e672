#!/bin/bash
# One shard of a sharded audit, as a Slurm job array: task K of N runs every N-th trial of the grid
# (`medpfl audit FILE --shard K/N`) into its own log, shard-K.sqlite. A re-queued or restarted task resumes
# its shard (trials already recorded are skipped, a finished shard is left as it is).
#
#   sbatch --array=1-16 audits/cluster/slurm-audit.sh audits/medpfl-paper.yaml
#   (or audits/cluster/slurm-submit.sh, which also queues the merge and checks the request fits a node)
#
# The resources below are defaults that fit any node (one CPU, 2 GB: a 32-px audit needs well under 1 GB);
# a site overrides them on the sbatch command line (`sbatch --cpus-per-task=8 --mem=16G ...`, or after `--`
# in slurm-submit.sh), which takes precedence over these lines. medpfl uses every CPU the task was given:
# that many trials at once, and the idle ones go to the last trials' ops (`--jobs N --threads 1`).
#SBATCH --job-name=medpfl-audit
#SBATCH --cpus-per-task=1
#SBATCH --mem=2G
#SBATCH --time=24:00:00
#SBATCH --requeue
#SBATCH --signal=B:TERM@120
#SBATCH --output=medpfl-audit-%A_%a.log
set -euo pipefail
umask 077                                   # logs hold patient images: owner-only files

AUDIT=${1:?usage: slurm-audit.sh AUDIT.yaml [SHARD_DIR]}
SHARDS=${2:-shards}
MEDPFL=${MEDPFL:-medpfl}
K=${SLURM_ARRAY_TASK_ID:?run this as a job array (sbatch --array=1-N)}
N=${SLURM_ARRAY_TASK_COUNT:?run this as a job array (sbatch --array=1-N)}

mkdir -p "$SHARDS"
DB="$SHARDS/shard-$K.sqlite"
RESUME=()
[ -f "$DB" ] && RESUME=(--resume)             # a restarted task finishes its own shard
# exec: Slurm's TERM (sent 120 s before the time limit, or on preemption) reaches medpfl, which marks
# the shard interrupted; every recorded trial is kept.
exec "$MEDPFL" audit "$AUDIT" --shard "$K/$N" --db "$DB" --jobs "${SLURM_CPUS_PER_TASK:-1}" --threads 1 --quiet ${RESUME[@]+"${RESUME[@]}"}
