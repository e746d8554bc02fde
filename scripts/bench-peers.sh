#!/usr/bin/env bash
# Installs the peer servers the benchmark compares against, from Debian packages:
# redis-server (Redis Streams) and nats-server (JetStream). The durable-streams peer is an npm
# devDependency and needs nothing here.
#
#   scripts/bench-peers.sh install   apt-get install what is missing (root only); never fails the caller
#   scripts/bench-peers.sh status    prints "name path-or-missing" for each peer binary
#
# The packaged systemd units are not used: the benchmark starts its own instances on 127.0.0.1 with
# free ports and private data directories, and stops them by PID. Installing the package may start
# the distribution's default redis on 6379 when systemd runs; on the container images we use it
# does not, and the benchmark never relies on or touches such an instance.
set -uo pipefail

CMD=${1:-status}
PEERS=(redis-server nats-server)

status() {
  for p in "${PEERS[@]}"; do
    if command -v "$p" >/dev/null 2>&1; then echo "$p $(command -v "$p")"; else echo "$p missing"; fi
  done
}

install() {
  local missing=()
  for p in "${PEERS[@]}"; do command -v "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -eq 0 ]; then status; return 0; fi
  if [ "$(id -u)" != 0 ]; then
    echo "bench-peers: not root; install by hand: apt-get install -y ${missing[*]}" >&2
    status
    return 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Refresh the package lists only when the install fails on missing or stale ones.
  apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 ||
    { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; } ||
    echo "bench-peers: apt-get install failed; the benchmark reports these peers as not available" >&2
  status
}

case "$CMD" in
  install) install ;;
  status) status ;;
  *) echo "usage: $0 install|status" >&2; exit 2 ;;
esac
