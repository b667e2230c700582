#!/usr/bin/env bash
# Make sure the local PostgreSQL server (127.0.0.1:5432) is up for the tests (npm test's pretest).
# - already accepting connections → nothing to do;
# - a cluster is installed here (/etc/postgresql) → start it and wait up to ~20 s;
# - otherwise print a note and exit 0: the Postgres tests decide themselves to skip (local) or fail (CI).
# Safe to run repeatedly.
set -euo pipefail

HOST=127.0.0.1
PORT=5432
WAIT_SECONDS=20

note() { echo "ensure-postgres: $*" >&2; }

if ! command -v pg_isready >/dev/null 2>&1; then
  note "pg_isready not found; no local PostgreSQL to start (Postgres tests will skip locally, fail in CI)."
  exit 0
fi

ready() { pg_isready -q -h "$HOST" -p "$PORT" >/dev/null 2>&1; }

if ready; then
  note "PostgreSQL on $HOST:$PORT is accepting connections."
  exit 0
fi

if [[ ! -d /etc/postgresql ]] || ! command -v pg_ctlcluster >/dev/null 2>&1; then
  note "PostgreSQL on $HOST:$PORT is not running and no local cluster is installed; Postgres tests will skip locally, fail in CI."
  exit 0
fi

attempted=0
for version in $(ls /etc/postgresql); do
  [[ -d "/etc/postgresql/$version/main" ]] || continue
  note "starting PostgreSQL cluster $version/main ..."
  attempted=1
  # "already running" (exit 2, e.g. still starting up) or a failed start must not abort the script;
  # the readiness wait below decides.
  if ! pg_ctlcluster --skip-systemctl-redirect "$version" main start; then
    note "pg_ctlcluster $version main start did not succeed (it may already be running)."
  fi
done

if [[ $attempted -eq 0 ]]; then
  note "no 'main' cluster under /etc/postgresql; Postgres tests will skip locally, fail in CI."
  exit 0
fi

for _ in $(seq 1 "$WAIT_SECONDS"); do
  if ready; then
    note "PostgreSQL on $HOST:$PORT is accepting connections."
    exit 0
  fi
  sleep 1
done

note "PostgreSQL on $HOST:$PORT did not accept connections within ${WAIT_SECONDS}s; Postgres tests will skip locally, fail in CI."
exit 0
