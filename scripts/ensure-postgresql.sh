#!/usr/bin/env bash
# PostgreSQL for the PostgreSQL half of the tests: start the local cluster if down, install it if absent.
set -euo pipefail
ready() { pg_isready -q -h /var/run/postgresql 2>/dev/null || pg_isready -q -h 127.0.0.1 2>/dev/null; }
command -v pg_isready >/dev/null 2>&1 && ready && exit 0
if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "PostgreSQL is not installed: installing it with apt-get" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "No PostgreSQL server: install postgresql or set GUICHET_TEST_POSTGRESQL_URL" >&2
    exit 1
  fi
fi
pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start 2>/dev/null || true
for _ in $(seq 1 60); do ready && exit 0; sleep 1; done
echo "PostgreSQL did not become ready" >&2
exit 1
