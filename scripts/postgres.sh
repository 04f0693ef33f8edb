#!/usr/bin/env bash
# Installs PostgreSQL from Debian's packages if needed and starts a throw-away cluster on a loopback
# port, for the test suite. Prints the DATABASE_URL to use on its last line.
#   scripts/postgres.sh            start (idempotent)
#   scripts/postgres.sh stop       stop it
#   scripts/postgres.sh status     exit 0 when it is running
set -euo pipefail

PGPORT=${PGPORT:-55432}
PGDATA=${PGDATA_DIR:-/tmp/portal-pg}
URL="postgres://portal:portal@127.0.0.1:${PGPORT}/portal"

pgbin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && echo "$dir"
}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi
}

if [ "${1:-start}" = status ]; then
  BIN=$(pgbin) && as_postgres "$BIN/pg_ctl -D $PGDATA status >/dev/null 2>&1"
  exit $?
fi

if [ "${1:-start}" = stop ]; then
  BIN=$(pgbin) && as_postgres "$BIN/pg_ctl -D $PGDATA stop -m fast" || true
  exit 0
fi

if [ -z "$(pgbin)" ]; then
  echo "Installing PostgreSQL from Debian's packages..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
BIN=$(pgbin)

if [ ! -f "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$PGDATA"
  as_postgres "$BIN/initdb -D $PGDATA -A trust -U postgres -E UTF8 >/dev/null"
fi
if ! as_postgres "$BIN/pg_ctl -D $PGDATA status >/dev/null 2>&1"; then
  # fsync off: a test cluster that is thrown away needs no durability, and it halves the suite's time.
  as_postgres "$BIN/pg_ctl -D $PGDATA -l $PGDATA/server.log -w -o '-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300' start >&2"
fi
PSQL="$BIN/psql -h 127.0.0.1 -p $PGPORT -U postgres -v ON_ERROR_STOP=1 -qtA"
if [ "$($PSQL -c "select 1 from pg_roles where rolname='portal'")" != 1 ]; then
  # Superuser so the test runner can create and drop its test databases.
  $PSQL -c "create role portal login superuser password 'portal'"
fi
if [ "$($PSQL -c "select 1 from pg_database where datname='portal'")" != 1 ]; then
  $PSQL -c "create database portal owner portal"
fi
echo "$URL"
