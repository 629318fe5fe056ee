#!/bin/sh
# /init of a test guest: mounts the pseudo file systems, loads nvmet, nvme-tcp and
# device-mapper, creates the RAM disks that stand in for NVMe SSDs, brings up the one link
# to the other guest, then serves shell commands from the host over the virtio-serial port
# named "dnv". Nothing here listens on a network.
#
# Kernel command line: dnv.name=A dnv.ip=10.99.0.1/24 dnv.disks=4 dnv.disk_mib=256 dnv.timeout=1800
#
# Frames, one line each, fields separated by one space, data in base64 ("-" when empty):
#   host:  RUN <id> <timeout_s> <script>   PING <id>   OFF <id>
#   guest: HELLO <name> <kernel>           DONE <id> <rc> <timed_out 0|1> <stdout> <stderr>
# Commands run side by side; each is answered when it ends, so answers come in any order.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export DM_DISABLE_UDEV=1
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp; mount -t tmpfs tmpfs /run
echo /sbin/modprobe > /proc/sys/kernel/modprobe

NAME=guest IP= DISKS=4 DISK_MIB=256 LIMIT=1800
for w in $(cat /proc/cmdline); do
  case $w in
    dnv.name=*) NAME=${w#*=} ;; dnv.ip=*) IP=${w#*=} ;; dnv.disks=*) DISKS=${w#*=} ;;
    dnv.disk_mib=*) DISK_MIB=${w#*=} ;; dnv.timeout=*) LIMIT=${w#*=} ;;
  esac
done
hostname "$NAME"
kv=$(uname -r)
while read -r m; do
  out=$(insmod "/lib/modules/$kv/$m" 2>&1) || case $out in
    *"File exists"*|*intel*|*pclmul*) ;;    # already in, or a CPU-specific helper the emulated CPU refuses
    *) echo "guest-agent: insmod $m failed: $out" ;;
  esac
done < /etc/modules
modprobe brd rd_nr="$DISKS" rd_size=$((DISK_MIB * 1024))
mount -t configfs configfs /sys/kernel/config
ip link set lo up
if [ -n "$IP" ]; then
  # The NIC's driver can take a while under TCG on a busy host: wait for it rather than boot without a network.
  i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
  if ip addr add "$IP" dev eth0 && ip link set eth0 up; then
    echo "guest-agent: eth0 up as $IP after $((i / 10)) s"
  else
    echo "guest-agent: no network: eth0 did not come up within 60 s"
  fi
fi
# Never outlive the test run that booted us.
( sleep "$LIMIT"; echo "guest-agent: $NAME powers off after ${LIMIT}s"; poweroff -f ) &

port=
while [ -z "$port" ]; do
  for p in /sys/class/virtio-ports/vport*; do [ "$(cat "$p/name" 2>/dev/null)" = dnv ] && port=/dev/${p##*/}; done
  [ -n "$port" ] && [ -c "$port" ] || { port=; sleep 0.1; }
done
exec 3<> "$port"
printf 'HELLO %s %s\n' "$NAME" "$kv" >&3

work=/run/agent; mkdir -p "$work"; seq=0
# Each command runs in a process of its own, several at once, as a real node's agent passes,
# side watcher and witness watcher do; each answer is written whole, one at a time.
cat > "$work/run" <<'RUNNER'
work=$1 id=$2 limit=$3 s=$1/$5
trap ':' USR1
encode() { if [ -s "$1" ]; then base64 -w 0 "$1"; else printf -; fi; }
# One answer at a time on the port (a long line is written in pieces); busybox has no flock: mkdir is atomic.
answer() {
  until mkdir "$work/answer.lock" 2> /dev/null; do sleep 0.01; done
  printf 'DONE %s %s %s %s %s\n' "$id" "$1" "$2" "$3" "$4" >&3
  rmdir "$work/answer.lock"
}
printf '%s\n' "$4" | base64 -d > "$s.sh" 2> "$s.err" || { answer 2 0 - "$(encode "$s.err")"; rm -f "$s.sh" "$s.err"; exit; }
# Own session, so a timeout kills the whole group; this shell stays apart from the group so it
# can stop waiting even for a child stuck in D state (it finishes into unlinked files).
setsid sh -c '. "$1"' sh "$s.sh" < /dev/null > "$s.out" 2>> "$s.err" 3>&- &
pid=$!
setsid sh -c 'sleep "$1"; : > "$2"; kill -TERM -"$3" "$3"; sleep 2; kill -KILL -"$3" "$3"; sleep 1; kill -USR1 "$4"' \
  sh "$limit" "$s.late" "$pid" $$ < /dev/null > /dev/null 2>&1 3>&- &
watcher=$!
while :; do
  wait "$pid"; rc=$?
  if [ $rc -gt 128 ] && kill -0 "$pid" 2> /dev/null; then [ -e "$s.late" ] && break; continue; fi
  break
done
kill -TERM "$watcher" -"$watcher" 2> /dev/null; wait "$watcher" 2> /dev/null
late=0; [ -e "$s.late" ] && { late=1; rc=124; }
answer "$rc" "$late" "$(encode "$s.out")" "$(encode "$s.err")"
rm -f "$s.sh" "$s.out" "$s.err" "$s.late"
RUNNER
answer() {
  until mkdir "$work/answer.lock" 2> /dev/null; do sleep 0.01; done
  printf 'DONE %s %s %s %s %s\n' "$@" >&3
  rmdir "$work/answer.lock"
}

set -f
while :; do
  # While no host client is connected, read() returns end-of-file: wait and try again.
  IFS= read -r line <&3 || { sleep 0.2; continue; }
  set -- $line
  case "$1 $#" in
    "RUN 4") seq=$((seq + 1)); sh "$work/run" "$work" "$2" "$3" "$4" "$seq" < /dev/null & ;;
    "PING 2") answer "$2" 0 0 - - ;;
    "OFF 2") answer "$2" 0 0 - -; sync; poweroff -f ;;
    *) answer "${2:--}" 2 0 - "$(printf 'bad frame\n' | base64 -w 0)" ;;
  esac
  jobs > /dev/null   # reaps the commands that ended: this shell is init, every orphan's parent too
done
