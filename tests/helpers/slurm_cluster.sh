#!/usr/bin/env bash
# A real one-node Slurm cluster on this machine, for the sweep tests (tests/sweep/). Debian's slurm-wlm + munge.
#
#   tests/helpers/slurm_cluster.sh up STATE_DIR     start it; prints `SLURM_CONF=STATE_DIR/slurm.conf`, exit 0
#   tests/helpers/slurm_cluster.sh down STATE_DIR   cancel every job, stop the daemons, remove STATE_DIR
#
# Nothing under /etc/slurm is written: clients find the cluster through SLURM_CONF. No cgroups (proctrack/linuxproc,
# task/none) and no accounting database, so it runs in a container. Root is needed (munged runs as `munge`, the
# daemons as root). On failure: one line `slurm_cluster: ...` on stderr and exit 1.
# Settings worth knowing (measured): DefMemPerCPU, or the first job takes all memory and jobs run one at a time;
# kill_invalid_depend, or a job whose dependency failed stays PENDING forever; batch_sched_delay=0, or each job
# waits up to 3 s; MinJobAge=3600, so scontrol still knows finished jobs.
set -u
action=${1:-}; state=${2:-}
fail() { echo "slurm_cluster: $*" >&2; exit 1; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
pid() { [ -s "$1" ] && cat "$1"; }
[ -n "$state" ] || fail "usage: $0 up|down STATE_DIR"
export SLURM_CONF="$state/slurm.conf"

if [ "$action" = down ]; then
  if alive "$(pid "$state/slurmctld.pid")"; then
    ids=$(squeue -h -o %i 2>/dev/null); [ -n "$ids" ] && scancel $ids 2>/dev/null
  fi
  for f in slurmd slurmctld; do p=$(pid "$state/$f.pid"); alive "$p" && kill "$p"; done
  for _ in $(seq 50); do alive "$(pid "$state/slurmd.pid")" || alive "$(pid "$state/slurmctld.pid")" || break; sleep 0.2; done
  for f in slurmd slurmctld; do p=$(pid "$state/$f.pid"); alive "$p" && kill -9 "$p"; done
  rm -rf "$state"
  exit 0
fi
[ "$action" = up ] || fail "usage: $0 up|down STATE_DIR"
[ "$(id -u)" = 0 ] || fail "needs root (munged and slurmd); not root here"
for c in slurmctld slurmd sbatch munged; do command -v $c >/dev/null || fail "$c is missing: apt-get install slurm-wlm munge"; done
t0=$(date +%s)

# munge: a key, and munged running as its own user
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  mkdir -p /etc/munge /run/munge /var/log/munge /var/lib/munge
  [ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key >/dev/null 2>&1 \
    || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  chown munge:munge /etc/munge /etc/munge/munge.key /run/munge /var/log/munge /var/lib/munge
  chmod 700 /etc/munge; chmod 400 /etc/munge/munge.key; chmod 755 /run/munge
  runuser -u munge -- /usr/sbin/munged --force >/dev/null 2>&1 || fail "munged did not start"
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n 2>/dev/null | unmunge >/dev/null 2>&1 || fail "munge does not answer (see /var/log/munge/munged.log)"
fi

host=$(hostname -s)
hw=$(slurmd -C 2>/dev/null | head -1)
get() { echo "$hw" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
cpus=$(get CPUs); mem=$(get RealMemory)
[ -n "$cpus" ] && [ -n "$mem" ] || fail "slurmd -C says nothing about this machine"
port=${SLURM_CLUSTER_PORT:-6817}
rm -rf "$state"; mkdir -p "$state/ctld" "$state/spool" "$state/log"
cat > "$SLURM_CONF" <<EOF
ClusterName=comptrust
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=$port
SlurmdPort=$((port + 1))
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$((mem / cpus))
DependencyParameters=kill_invalid_depend
SchedulerParameters=batch_sched_delay=0
ReturnToService=2
MinJobAge=3600
KillWait=5
InactiveLimit=0
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -i -f "$SLURM_CONF" >>"$state/log/slurmctld.stderr" 2>&1 || fail "slurmctld did not start: $(tail -n1 "$state/log/slurmctld.log" 2>/dev/null)"
slurmd -f "$SLURM_CONF" >>"$state/log/slurmd.stderr" 2>&1 || fail "slurmd did not start: $(tail -n1 "$state/log/slurmd.log" 2>/dev/null)"
while [ "$(sinfo -h -n "$host" -o %T 2>/dev/null | head -1)" != idle ]; do
  [ $(( $(date +%s) - t0 )) -lt 60 ] || fail "the node is not idle after 60 s: $(grep -h -m1 -i fatal "$state"/log/*.log 2>/dev/null)"
  sleep 0.3
done
echo "SLURM_CONF=$SLURM_CONF"
