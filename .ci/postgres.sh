#!/usr/bin/env bash
# Start a throw-away PostgreSQL cluster on 127.0.0.1 for tests and benchmarks.
# Installs Debian's postgresql package when no server is present.
# Usage: .ci/postgres.sh [PORT] [DATADIR] [extra postgres -c settings...]
# Prints the SQLAlchemy URL of the "postgres" superuser database on its last line.
set -euo pipefail
port=${1:-54329}
data=${2:-/tmp/patron-pg-$port}
shift $(( $# > 2 ? 2 : $# )) || true
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql postgresql-contrib >&2
fi
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
run() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }
if [ -f "$data/postmaster.pid" ]; then
  run "$bin/pg_ctl -D $data stop -m fast" >&2 || true
fi
rm -rf "$data"
mkdir -p "$data"
[ "$(id -u)" = 0 ] && chown postgres "$data"
run "$bin/initdb -D $data -A trust -U postgres -E UTF8 --locale=C.UTF-8" >/dev/null
settings="-p $port -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=300"
for s in "$@"; do settings="$settings -c $s"; done
run "$bin/pg_ctl -D $data -l $data/server.log -w -o '$settings' start" >&2
echo "postgresql://postgres@127.0.0.1:$port/postgres"
