#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for the integration test: munged, slurmctld and slurmd, listening on
# 127.0.0.1 only, all state under DIR. Debian's slurm-wlm and munge must be installed (.ci/run installs them).
#   tests/slurm/cluster.sh start DIR   # writes DIR/slurm.conf; export SLURM_CONF=DIR/slurm.conf to use it
#   tests/slurm/cluster.sh stop DIR
set -euo pipefail
action=$1
dir=$(realpath -m "$2")

stop() {
  for name in slurmd slurmctld munged; do
    if [ -f "$dir/$name.pid" ]; then kill "$(cat "$dir/$name.pid")" 2>/dev/null || true; fi
  done
  sleep 1
}

if [ "$action" = stop ]; then stop; exit 0; fi

mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
node=$(hostname -s)
mem=$(awk '/MemTotal/ {print int($2 / 1024) - 2048}' /proc/meminfo)
cpus=$(nproc)
cat > "$dir/slurm.conf" <<CONF
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
echo "NodeName=$node Name=gpu File=/dev/null" > "$dir/gres.conf"

munged --force --socket="$dir/munge/munge.socket" --pid-file="$dir/munged.pid" \
  --log-file="$dir/munged.log" --seed-file="$dir/munge/seed" 2>>"$dir/munged.log"
export SLURM_CONF=$dir/slurm.conf
slurmctld -f "$dir/slurm.conf"
slurmd -f "$dir/slurm.conf" -N "$node"
for _ in $(seq 1 60); do
  if sinfo -h -o %T 2>/dev/null | grep -q idle; then exit 0; fi
  sleep 0.5
done
echo "SLURM did not come up; logs in $dir" >&2
tail -n 5 "$dir"/*.log >&2
exit 1
