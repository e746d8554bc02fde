#!/usr/bin/env bash
# A throwaway single-node Ceph radosgw (S3 API) on 127.0.0.1 for integration tests.
#
#   s3-test-server.sh install              install radosgw + ceph-mon + ceph-osd from Debian (no-op if present)
#   s3-test-server.sh start [DIR] [PORT]   mon + memstore osd + rgw under DIR; prints "ready http://127.0.0.1:PORT"
#   s3-test-server.sh stop [DIR]           kills the daemons this script started in DIR, by pidfile
#   s3-test-server.sh status [DIR] [PORT]  prints running/stopped per daemon; exit 0 iff S3 answers
#
# Credentials: access key TESTAK, secret TESTSK, region us-east-1, path-style addressing.
# Data lives in RAM (OSD memstore); a stop loses everything, which is what tests want.
#
# Why the config looks like this:
# - auth is 'none' so no keyrings have to be distributed; radosgw's messenger then still insists on
#   'secure' mode towards the mon and loops on "get_initial_auth_request returned -13" unless the
#   client modes allow 'crc'.
# - the mon ports (3300 msgr2, 6789 msgr1) are fixed in the monmap, so only one instance can run per
#   machine; PORT only moves the S3 endpoint.
set -euo pipefail

CMD=${1:-status}
DIR=$(realpath -m "${2:-/tmp/s2-rgw}")
PORT=${3:-7480}
DAEMONS=(rgw osd mon) # stop order: clients first

log() { echo "s3-test-server: $*" >&2; }

s3_answers() {
  [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$PORT/" 2>/dev/null || true)" = 200 ]
}

pid_alive() {
  local f="$DIR/$1.pidfile"
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

install() {
  if command -v radosgw >/dev/null 2>&1; then
    log "radosgw already installed"
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    log "installing needs root: apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd curl"
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Update the package lists only when they are missing (a fresh image) or the install fails on stale ones.
  if ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; then apt-get update -q; fi
  apt-get install -y -q --no-install-recommends radosgw ceph-mon ceph-osd curl ||
    { apt-get update -q && apt-get install -y -q --no-install-recommends radosgw ceph-mon ceph-osd curl; }
}

stop() {
  for d in "${DAEMONS[@]}"; do
    local f="$DIR/$d.pidfile"
    [ -f "$f" ] || continue
    local p
    p=$(cat "$f")
    if kill -0 "$p" 2>/dev/null; then
      kill "$p"
      for _ in $(seq 1 40); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
      if kill -0 "$p" 2>/dev/null; then kill -9 "$p" || true; fi
    fi
    rm -f "$f"
  done
}

status() {
  for d in "${DAEMONS[@]}"; do
    if pid_alive "$d"; then echo "$d running pid $(cat "$DIR/$d.pidfile")"; else echo "$d stopped"; fi
  done
  if s3_answers; then echo "s3 answering http://127.0.0.1:$PORT"; else echo "s3 not answering on port $PORT"; exit 1; fi
}

# Runs a command with a timeout and, if it fails, shows the daemon logs so the reason is visible.
must() {
  if ! "$@"; then
    log "failed: $*"
    tail -n 20 "$DIR"/log/*.log "$DIR"/log/*.out 2>/dev/null >&2 || true
    stop
    exit 1
  fi
}

start() {
  for b in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool curl; do
    command -v "$b" >/dev/null 2>&1 || { log "$b not found; run: $0 install"; exit 1; }
  done
  # Refuse to fight another instance over the fixed mon ports (ours or someone else's).
  stop 2>/dev/null || true
  if (exec 3<>/dev/tcp/127.0.0.1/3300) 2>/dev/null; then
    log "127.0.0.1:3300 is in use: another ceph mon runs on this machine (only one instance is possible)"
    exit 1
  fi
  if s3_answers; then
    log "something already answers on 127.0.0.1:$PORT"
    exit 1
  fi

  rm -rf "$DIR"
  mkdir -p "$DIR"/{mon,osd0,rgw,run,log}
  local fsid
  fsid=$(cat /proc/sys/kernel/random/uuid)
  cat >"$DIR/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:3300,v1:127.0.0.1:6789]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
keyring = $DIR/keyring
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
osd pool default pg num = 8
osd pool default pgp num = 8
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
run dir = $DIR/run
log file = $DIR/log/\$name.log
admin socket = $DIR/run/\$name.asok
mon data = $DIR/mon
osd data = $DIR/osd0
osd objectstore = memstore
memstore device bytes = 2147483648
[client.rgw.gw]
rgw frontends = beast endpoint=127.0.0.1:$PORT
rgw data = $DIR/rgw
ms mon client mode = crc secure
ms client mode = crc secure
EOF
  local c=(-c "$DIR/ceph.conf")
  ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$DIR/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' \
    --cap mgr 'allow *' >/dev/null
  ceph-authtool "$DIR/keyring" --gen-key -n client.rgw.gw --cap mon 'allow rw' --cap osd 'allow rwx' >/dev/null
  monmaptool --create --fsid "$fsid" --addv a '[v2:127.0.0.1:3300,v1:127.0.0.1:6789]' "$DIR/monmap" >/dev/null

  must ceph-mon "${c[@]}" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/keyring"
  # setsid: the daemons must outlive the shell that started them (e.g. a test's globalSetup).
  setsid ceph-mon "${c[@]}" -i a -f >"$DIR/log/mon.out" 2>&1 </dev/null &
  echo $! >"$DIR/mon.pidfile"
  must timeout 60 ceph "${c[@]}" osd create >/dev/null # -> osd id 0
  must ceph-osd "${c[@]}" -i 0 --mkfs >"$DIR/log/osd-mkfs.out" 2>&1
  must timeout 30 ceph "${c[@]}" osd crush add osd.0 1.0 host=localhost root=default >/dev/null 2>&1
  setsid ceph-osd "${c[@]}" -i 0 -f >"$DIR/log/osd.out" 2>&1 </dev/null &
  echo $! >"$DIR/osd.pidfile"
  setsid radosgw "${c[@]}" -n client.rgw.gw -f >"$DIR/log/rgw.out" 2>&1 </dev/null &
  echo $! >"$DIR/rgw.pidfile"

  local ok=
  for _ in $(seq 1 240); do
    if s3_answers; then ok=1; break; fi
    pid_alive rgw || break
    sleep 0.5
  done
  if [ -z "$ok" ]; then
    log "radosgw did not answer on 127.0.0.1:$PORT"
    tail -n 30 "$DIR/log/rgw.out" "$DIR"/log/client.rgw.gw.log 2>/dev/null >&2 || true
    stop
    exit 1
  fi
  must timeout 60 radosgw-admin "${c[@]}" user create --uid=test --display-name=test \
    --access-key=TESTAK --secret=TESTSK >/dev/null
  echo "ready http://127.0.0.1:$PORT pids: mon=$(cat "$DIR/mon.pidfile") osd=$(cat "$DIR/osd.pidfile") rgw=$(cat "$DIR/rgw.pidfile")"
}

case "$CMD" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *)
    echo "usage: $0 install | start [DIR] [PORT] | stop [DIR] | status [DIR] [PORT]" >&2
    exit 2
    ;;
esac
