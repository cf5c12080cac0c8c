#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for the integration test: munged, slurmctld and slurmd, listening on
# 127.0.0.1 only, all state under DIR. Debian's slurm-wlm and munge must be installed (.ci/run installs them).
#   tests/slurm/cluster.sh start DIR   # state and logs in DIR; the config in /etc/slurm (see below)
#   tests/slurm/cluster.sh stop DIR
# The config goes to SLURM's default path, /etc/slurm/slurm.conf: Snakemake's jobstep plugin clears every SLURM_*
# variable (SLURM_CONF too) before its nested srun, which then reads only the default path. An existing config that
# is not this script's is never overwritten.
set -euo pipefail
action=$1
dir=$(realpath -m "$2")

conf=/etc/slurm/slurm.conf
marker="# written by gan-study tests/slurm/cluster.sh"

stop() {
  for name in slurmd slurmctld munged; do
    if [ -f "$dir/$name.pid" ]; then kill "$(cat "$dir/$name.pid")" 2>/dev/null || true; fi
  done
  sleep 1
  if [ -f "$conf" ] && grep -qF "$marker" "$conf"; then rm -f "$conf" /etc/slurm/gres.conf; fi
}

if [ "$action" = stop ]; then stop; exit 0; fi

if [ -f "$conf" ] && ! grep -qF "$marker" "$conf"; then
  echo "$conf exists and is not a test cluster's: refusing to replace it" >&2
  exit 1
fi
mkdir -p "$dir/state" "$dir/spool" "$dir/munge" /etc/slurm
node=$(hostname -s)
mem=$(awk '/MemTotal/ {print int($2 / 1024) - 2048}' /proc/meminfo)
cpus=$(nproc)
cat > "$conf" <<CONF
$marker
ClusterName=ganstudy
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=6817
SlurmdPort=6818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
ReturnToService=2
MinJobAge=600
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
GresTypes=gpu
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem Gres=gpu:1 State=UNKNOWN
PartitionName=cpu Nodes=$node Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$node Default=NO MaxTime=INFINITE State=UP
CONF
# A fake GPU: the scheduler counts it; nothing uses it (the study runs on the CPU here).
echo "NodeName=$node Name=gpu File=/dev/null" > /etc/slurm/gres.conf

munged --force --socket="$dir/munge/munge.socket" --pid-file="$dir/munged.pid" \
  --log-file="$dir/munged.log" --seed-file="$dir/munge/seed" 2>>"$dir/munged.log"
slurmctld -f "$conf"
slurmd -f "$conf" -N "$node"
for _ in $(seq 1 60); do
  if sinfo -h -o %T 2>/dev/null | grep -q idle; then exit 0; fi
  sleep 0.5
done
echo "SLURM did not come up; logs in $dir" >&2
tail -n 5 "$dir"/*.log >&2
exit 1
