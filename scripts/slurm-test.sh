#!/usr/bin/env bash
# The cluster test (part of scripts/test.sh): a real one-node Slurm 22.05 on this machine (Debian's
# slurm-wlm and munge; cgroups off) runs audits/cluster/slurm-submit.sh on a 12-trial audit split into 3
# shards, waits (bounded) for the array and the merge, and checks that
#   1. the merged audit equals the unsharded run trial for trial (every recorded field but ids and times),
#   2. a shard that fails gets the merge cancelled (--kill-on-invalid-dep), never a partial merged log,
#   3. a request no node can meet is refused before anything is queued (exit 2, naming the node's size).
# Its own slurm.conf, ports (16817/16818) and state directory: a Slurm already on the machine is not touched.
# The daemons run as root (sudo when not root) and are stopped at the end. About 1-2 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
say() { echo "slurm-test: $*" >&2; }
die() { say "FAILED: $*"; exit 1; }

PKGS=(slurm-wlm munge jq)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
[ -x "$ROOT/.build/release/medpfl" ] || swift build -c release --product medpfl >/dev/null
export MEDPFL="$ROOT/.build/release/medpfl"

WORK=$(mktemp -d /tmp/medpfl-slurm.XXXXXX)
chmod 755 "$WORK"
export SLURM_CONF="$WORK/slurm.conf"
STARTED_MUNGE=0
cleanup() {
  set +e
  scancel --quiet --user="$(id -un)" --name=medpfl-audit,medpfl-merge 2>/dev/null
  for d in slurmd slurmctld; do
    [ -f "$WORK/$d.pid" ] && $SUDO kill "$(cat "$WORK/$d.pid")" 2>/dev/null
  done
  sleep 1
  [ "$STARTED_MUNGE" = 1 ] && $SUDO pkill -x munged
  if [ "${KEEP:-0}" = 1 ]; then say "kept $WORK"; else $SUDO rm -rf "$WORK"; fi
}
trap cleanup EXIT

# munge: the key comes with the package; start munged unless one runs already.
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  [ -f /etc/munge/munge.key ] || $SUDO mungekey --create
  $SUDO mkdir -p /run/munge && $SUDO chown munge:munge /run/munge
  $SUDO runuser -u munge -- /usr/sbin/munged
  STARTED_MUNGE=1
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n | unmunge >/dev/null || die "munged did not start"
fi

# One node: this machine, as slurmd -C sees it (CPUs, sockets, memory), so the node never drains.
NODE_LINE=$($SUDO slurmd -C | head -1)
NODE=$(echo "$NODE_LINE" | sed -E 's/^NodeName=([^ ]+).*/\1/')
mkdir -p "$WORK/state" "$WORK/spool"
cat > "$SLURM_CONF" <<CONF
ClusterName=medpfl-ci
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
MinJobAge=600
$NODE_LINE NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=ci Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF
$SUDO env SLURM_CONF="$SLURM_CONF" slurmctld -f "$SLURM_CONF" -c
$SUDO env SLURM_CONF="$SLURM_CONF" slurmd -f "$SLURM_CONF"
for _ in $(seq 60); do
  state=$(sinfo -h -N -o '%T' 2>/dev/null | head -1 || true)
  [ "$state" = idle ] && break
  sleep 1
done
[ "$state" = idle ] || { tail -n 20 "$WORK"/slurm*.log >&2; die "the node is '$state', not idle, after 60 s"; }
say "one-node Slurm up: $(sinfo -h -N -o '%N %c CPUs %m MB %T')"

# Waits (bounded) until none of the given jobs is pending or running.
wait_jobs() {
  local limit=$1; shift
  local ids; ids=$(IFS=,; echo "$*")
  for _ in $(seq "$limit"); do
    [ -z "$(squeue -h -j "$ids" -t PENDING,RUNNING,CONFIGURING,COMPLETING -o %i 2>/dev/null)" ] && return 0
    sleep 1
  done
  squeue -j "$ids" -o '%i %T %r' >&2; die "jobs $ids still queued after $limit s"
}
job_state() { scontrol show job "$1" -o | sed -E 's/.*JobState=([A-Z_]+).*/\1/'; }
AUDIT="$ROOT/audits/cluster/ci/small-audit.yaml"
trials() {   # every trial's recorded fields, in trial order, without the ids and times that differ per run
  "$MEDPFL" show 1 --db "$1" --json | jq -S '[.trials[] | del(.id, .audit_id, .seconds, .recorded_at)] | sort_by(.trial_key)'
}

cd "$WORK"
# 1. The unsharded run, then the same audit as 3 shards on Slurm and the merge.
"$MEDPFL" audit "$AUDIT" --db whole.sqlite --quiet >/dev/null
out=$("$ROOT/audits/cluster/slurm-submit.sh" "$AUDIT" 3 merged.sqlite shards)
say "$out"
array=$(echo "$out" | sed -E 's/.*job array ([0-9]+).*/\1/'); merge=$(echo "$out" | sed -E 's/.*merge: job ([0-9]+).*/\1/')
wait_jobs 240 "$array" "$merge"
[ "$(job_state "$merge")" = COMPLETED ] || { cat medpfl-*.log >&2 || true; die "merge job $merge ended $(job_state "$merge")"; }
[ -f merged.sqlite ] || die "no merged log"
n=$(trials whole.sqlite | jq length)
[ "$n" -eq 12 ] || die "the unsharded audit has $n trials, expected 12"
diff <(trials whole.sqlite) <(trials merged.sqlite) >&2 || die "the merged audit differs from the unsharded run"
[ "$("$MEDPFL" show 1 --db merged.sqlite --json | jq -r .audit.status)" = finished ] || die "the merged audit is not finished"
say "ok: 3 shards on Slurm merged into the unsharded audit's $n trials, field for field"

# 2. A shard task that fails: the merge must be cancelled, not left pending, and write nothing.
cat > fail-shard-2.sh <<'SH'
#!/bin/bash
[ "${SLURM_ARRAY_TASK_ID:-}" = 2 ] && [ "${1:-}" = audit ] && { echo "shard 2: simulated node failure" >&2; exit 1; }
exec "$REAL_MEDPFL" "$@"
SH
chmod +x fail-shard-2.sh
out=$(REAL_MEDPFL="$MEDPFL" MEDPFL="$WORK/fail-shard-2.sh" "$ROOT/audits/cluster/slurm-submit.sh" "$AUDIT" 3 partial.sqlite shards-b)
array=$(echo "$out" | sed -E 's/.*job array ([0-9]+).*/\1/'); merge=$(echo "$out" | sed -E 's/.*merge: job ([0-9]+).*/\1/')
wait_jobs 240 "$array" "$merge"
[ "$(job_state "$merge")" = CANCELLED ] || die "after a failed shard the merge job ended $(job_state "$merge"), not CANCELLED"
[ ! -e partial.sqlite ] || die "a merged log was written from a partial set of shards"
say "ok: a failed shard cancelled the merge ($(scontrol show job "$merge" -o | grep -oE 'Reason=[^ ]+'))"

# 3. A request no node meets is refused before anything is queued.
before=$(squeue -h | wc -l)
set +e
msg=$("$ROOT/audits/cluster/slurm-submit.sh" "$AUDIT" 3 never.sqlite shards-c -- --cpus-per-task=64 2>&1)
rc=$?
set -e
[ "$rc" -eq 2 ] || die "an impossible request exited $rc, not 2: $msg"
echo "$msg" | grep -q "would stay PENDING forever" || die "unexpected message: $msg"
[ "$(squeue -h | wc -l)" -eq "$before" ] || die "an impossible request queued a job"
say "ok: refused: $msg"
say "passed"
