#!/usr/bin/env bash
# The engines the remote-worker tests and the W8 bench run against, on this machine only:
# two OpenSSH servers on 127.0.0.1 and 127.0.0.2 (an unprivileged port, throwaway keys) that act as
# two "hosts" for `Launcher::ssh`; and a single-node Slurm (munged, slurmctld, slurmd) for `srun`.
#
#   scripts/engines.sh start   # idempotent; prints the ssh_config to pass with `ssh -F`
#   scripts/engines.sh slurm   # idempotent; prints the slurm.conf to pass as SLURM_CONF
#   scripts/engines.sh stop
#
# Nothing here touches the user's ~/.ssh: keys, configs, logs and pid files live in $TULIP_ENGINES_DIR
# (default /tmp/tulip-engines-$UID). Exit status 2 means a tool is missing (callers skip with a notice).
set -euo pipefail
DIR=${TULIP_ENGINES_DIR:-/tmp/tulip-engines-$(id -u)}
PORT=${TULIP_SSHD_PORT:-22022}
HOSTS=(127.0.0.1 127.0.0.2)

need() { command -v "$1" >/dev/null 2>&1 || { echo "engines.sh: $1 is not installed" >&2; exit 2; }; }

sshd_bin() {
  for c in /usr/sbin/sshd "$(command -v sshd 2>/dev/null || true)"; do
    [ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return; }
  done
  echo "engines.sh: sshd is not installed (Debian: openssh-server)" >&2; exit 2
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_sshd() {
  local addr=$1 sshd=$2
  local pid="$DIR/sshd-$addr.pid"
  alive "$pid" && return 0
  cat > "$DIR/sshd-$addr.conf" <<CONF
ListenAddress $addr
Port $PORT
HostKey $DIR/host_key
AuthorizedKeysFile $DIR/authorized_keys
PidFile $pid
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
MaxSessions 200
MaxStartups 200
LogLevel ERROR
CONF
  mkdir -p /run/sshd 2>/dev/null || true
  "$sshd" -f "$DIR/sshd-$addr.conf" -E "$DIR/sshd-$addr.log"
  for _ in $(seq 50); do alive "$pid" && return 0; sleep 0.1; done
  echo "engines.sh: sshd on $addr did not start; see $DIR/sshd-$addr.log" >&2; exit 1
}

start() {
  need ssh; need ssh-keygen
  local sshd; sshd=$(sshd_bin)
  mkdir -p "$DIR"; chmod 700 "$DIR"
  [ -f "$DIR/host_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$DIR/host_key"
  [ -f "$DIR/id" ] || ssh-keygen -q -t ed25519 -N '' -f "$DIR/id"
  cp "$DIR/id.pub" "$DIR/authorized_keys"
  {
    local i=0
    for addr in "${HOSTS[@]}"; do
      i=$((i + 1))
      printf 'Host tulip-%s\n  HostName %s\n' "$i" "$addr"
      printf '  Port %s\n  User %s\n  IdentityFile %s/id\n  IdentitiesOnly yes\n' "$PORT" "$(id -un)" "$DIR"
      printf '  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  BatchMode yes\n  LogLevel ERROR\n'
    done
  } > "$DIR/ssh_config"
  for addr in "${HOSTS[@]}"; do start_sshd "$addr" "$sshd"; done
  for i in 1 2; do
    ssh -F "$DIR/ssh_config" "tulip-$i" true || { echo "engines.sh: ssh to tulip-$i fails" >&2; exit 1; }
  done
  echo "$DIR/ssh_config"
}

slurm() {
  need munged; need slurmctld; need slurmd; need srun
  mkdir -p "$DIR/slurm/state" "$DIR/slurm/spool"
  local conf="$DIR/slurm/slurm.conf" node; node=$(hostname -s)
  cat > "$conf" <<CONF
ClusterName=tulip
SlurmctldHost=$node
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
AuthType=auth/munge
SlurmctldPort=${TULIP_SLURM_PORT:-16817}
SlurmdPort=$(( ${TULIP_SLURM_PORT:-16817} + 1 ))
StateSaveLocation=$DIR/slurm/state
SlurmdSpoolDir=$DIR/slurm/spool
SlurmctldPidFile=$DIR/slurm/slurmctld.pid
SlurmdPidFile=$DIR/slurm/slurmd.pid
SlurmctldLogFile=$DIR/slurm/slurmctld.log
SlurmdLogFile=$DIR/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=tulip Nodes=$node Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:64
CONF
  pgrep -x munged >/dev/null || { mkdir -p /run/munge && chown munge: /run/munge 2>/dev/null; \
    (command -v runuser >/dev/null && runuser -u munge -- munged) || munged; }
  export SLURM_CONF=$conf
  # By command line, not pid file: the daemons do not always write theirs.
  pgrep -f "slurmctld -f $conf" >/dev/null || slurmctld -f "$conf"
  pgrep -f "slurmd -f $conf" >/dev/null || slurmd -f "$conf"
  for _ in $(seq 100); do
    srun -n1 --quiet true 2>/dev/null && { echo "$conf"; return 0; }
    sleep 0.2
  done
  echo "engines.sh: Slurm did not come up; see $DIR/slurm/*.log" >&2; exit 1
}

stop() {
  for addr in "${HOSTS[@]}"; do
    local pid="$DIR/sshd-$addr.pid"
    if alive "$pid"; then kill "$(cat "$pid")"; fi
    rm -f "$pid"
  done
  for pid in $(pgrep -f "slurm(ctld|d) -f $DIR/slurm/slurm.conf" || true); do kill "$pid"; done
}

case "${1:-start}" in
  start) start ;;
  slurm) slurm ;;
  stop) stop ;;
  *) echo "usage: $0 start|slurm|stop" >&2; exit 64 ;;
esac
