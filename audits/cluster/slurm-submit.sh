#!/bin/bash
# Queues a sharded audit on Slurm: N shard tasks, then the merge once all of them succeeded (cancelled,
# never left pending, when one failed).
#   audits/cluster/slurm-submit.sh audits/medpfl-paper.yaml 16 paper.sqlite
#   audits/cluster/slurm-submit.sh audits/medpfl-paper.yaml 16 paper.sqlite shards -- --partition=gpu --cpus-per-task=4 --mem=8G
# Options after `--` go to both sbatch calls (partition, account, qos, time, cpus, memory) and override the
# scripts' #SBATCH defaults (1 CPU, 2 GB). Before queueing anything, the CPUs and memory a task asks for are
# checked against the partition's largest node: a request no node can meet is refused (exit 2), since Slurm
# would keep such a job PENDING forever without a message.
set -euo pipefail
usage="usage: slurm-submit.sh AUDIT.yaml N OUT.sqlite [SHARD_DIR] [-- SBATCH_OPTION...]"
ARGS=(); EXTRA=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then shift; EXTRA=("$@"); break; fi
  ARGS+=("$1"); shift
done
[ ${#ARGS[@]} -ge 3 ] && [ ${#ARGS[@]} -le 4 ] || { echo "$usage" >&2; exit 2; }
AUDIT=${ARGS[0]}; N=${ARGS[1]}; OUT=${ARGS[2]}; SHARDS=${ARGS[3]:-shards}
HERE=$(cd "$(dirname "$0")" && pwd)
fail() { echo "slurm-submit: $*" >&2; exit 2; }
[[ "$N" =~ ^[1-9][0-9]*$ ]] || fail "the number of shards must be a positive integer, got '$N'"
[ -f "$AUDIT" ] || fail "no audit definition at $AUDIT"
"${MEDPFL:-medpfl}" audit --help >/dev/null || fail "medpfl is not on PATH (set MEDPFL to its path)"

# What one shard task asks for: the script's defaults, then the options given (the last one wins, as in sbatch).
cpus=1; mem=2G; partition=""
for o in "${EXTRA[@]+"${EXTRA[@]}"}"; do
  case "$o" in
    --cpus-per-task=*) cpus=${o#*=} ;;
    -c[0-9]*) cpus=${o#-c} ;;
    --mem=*) mem=${o#*=} ;;
    --partition=*) partition=${o#*=} ;;
    -p?*) partition=${o#-p} ;;
    --cpus-per-task|-c|--mem|--partition|-p) fail "write '$o=VALUE' (one word) after --, so the request can be checked" ;;
  esac
done
mem_mb() {   # Slurm's memory sizes: a number in MB, or with a K/M/G/T suffix
  local v=$1 n u
  [[ "$v" =~ ^([0-9]+)([KkMmGgTt]?)[Bb]?$ ]] || fail "cannot read the memory size '$v' (use e.g. 2048, 500M, 8G)"
  n=${BASH_REMATCH[1]}; u=${BASH_REMATCH[2]}
  case "$u" in K|k) echo $(( (n + 1023) / 1024 ));; G|g) echo $(( n * 1024 ));; T|t) echo $(( n * 1024 * 1024 ));; *) echo "$n";; esac
}
[[ "$cpus" =~ ^[1-9][0-9]*$ ]] || fail "cannot read the CPU count '$cpus'"
want_mb=$(mem_mb "$mem")
nodes=$(sinfo -h -N ${partition:+-p "$partition"} -o '%c %m' 2>/dev/null) || fail "sinfo failed: is Slurm reachable from here?"
[ -n "$nodes" ] || fail "partition ${partition:-(default)} has no nodes"
max_cpus=$(echo "$nodes" | awk '{ if ($1 + 0 > m) m = $1 + 0 } END { print m + 0 }')
max_mb=$(echo "$nodes" | awk '{ v = $2; sub(/\+$/, "", v); if (v + 0 > m) m = v + 0 } END { print m + 0 }')
if [ "$cpus" -gt "$max_cpus" ] || [ "$want_mb" -gt "$max_mb" ]; then
  fail "a shard task asks for $cpus CPUs and $want_mb MB, but the largest node of partition ${partition:-(default)} has $max_cpus CPUs and $max_mb MB: it would stay PENDING forever; ask for less after -- (e.g. -- --cpus-per-task=$max_cpus --mem=$(( max_mb / 2 ))M)"
fi

ARRAY=$(sbatch --parsable --array=1-"$N" ${EXTRA[@]+"${EXTRA[@]}"} "$HERE/slurm-audit.sh" "$AUDIT" "$SHARDS")
ARRAY=${ARRAY%%;*}
MERGE=$(sbatch --parsable --dependency=afterok:"$ARRAY" --kill-on-invalid-dep=yes ${EXTRA[@]+"${EXTRA[@]}"} \
        "$HERE/slurm-merge.sh" "$OUT" "$SHARDS")
MERGE=${MERGE%%;*}
echo "shards: job array $ARRAY (1-$N); merge: job $MERGE -> $OUT"
