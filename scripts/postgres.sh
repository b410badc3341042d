#!/usr/bin/env bash
# A real PostgreSQL for the tests, on loopback, in a private directory, without systemd:
# Debian's server binaries (installed when missing), a fresh cluster, a free port.
#   scripts/postgres.sh start DIR   -> writes DIR/pg.env (PROMOTERD_TEST_PG: an admin URL)
#   scripts/postgres.sh stop DIR
# PostgreSQL refuses to run as root: as root the cluster belongs to the `postgres` user.
# The test cluster trades durability for speed (fsync off): it holds only test data.
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?directory}

bin_dir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  return 1
}

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
  if ! bin=$(bin_dir); then
    echo "== installing postgresql"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq postgresql >/dev/null
    bin=$(bin_dir)
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  pg="$dir/pg"
  mkdir -p "$pg"
  if [ "$(id -u)" -eq 0 ]; then
    # The server's user must traverse every parent directory.
    p="$dir"; while [ "$p" != "/" ]; do chmod o+x "$p" 2>/dev/null || true; p=$(dirname "$p"); done
    chown postgres "$pg"
  fi
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  as_owner "$bin/initdb" -D "$pg/data" -A trust -U postgres --locale=C.UTF-8 -E UTF8 --no-sync >/dev/null
  as_owner "$bin/pg_ctl" -D "$pg/data" -l "$pg/log" -w -t 60 start -o \
    "-p $port -k $pg -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=128MB" >/dev/null
  echo "export PROMOTERD_TEST_PG=postgres://postgres@127.0.0.1:$port/postgres" > "$dir/pg.env"
  echo "postgres: $("$bin/postgres" --version) on 127.0.0.1:$port"
  ;;
stop)
  if [ -d "$dir/pg/data" ] && bin=$(bin_dir); then
    as_owner "$bin/pg_ctl" -D "$dir/pg/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  ;;
*)
  echo "usage: $0 start|stop DIR" >&2; exit 2
  ;;
esac
