#!/usr/bin/env bash
# Installs Debian's PostgreSQL if needed, starts a cluster listening on
# 127.0.0.1 only, creates the test role and database (trust authentication
# from 127.0.0.1 for that role and database only) and prints the connection
# string on the last line of stdout. Idempotent; run as root.
#
#   export SHINNY_TEST_PG_URL="$(bash service/ci-postgres.sh | tail -n 1)"
set -euo pipefail

DB="${SHINNY_TEST_PG_DB:-shinny_test}"
ROLE="${SHINNY_TEST_PG_ROLE:-shinny_test}"
PORT="${SHINNY_TEST_PG_PORT:-5432}"

log() { echo "ci-postgres: $*" >&2; }

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    log "installing postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
fi

VERSION="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
CLUSTER=main
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$VERSION $CLUSTER"; then
    log "creating cluster $VERSION/$CLUSTER"
    pg_createcluster "$VERSION" "$CLUSTER" -p "$PORT" >&2
fi
CONF="/etc/postgresql/$VERSION/$CLUSTER"
PORT="$(pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1==v && $2==c {print $3}')"

# Loopback only.
if ! grep -q "^listen_addresses = '127.0.0.1'" "$CONF/postgresql.conf"; then
    echo "listen_addresses = '127.0.0.1'" >> "$CONF/postgresql.conf"
fi
RULE="host $DB $ROLE 127.0.0.1/32 trust"
if ! grep -qF "$RULE" "$CONF/pg_hba.conf"; then
    # Before the distribution's rules, which ask for a password.
    sed -i "1i $RULE" "$CONF/pg_hba.conf"
fi

if pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1==v && $2==c {print $4}' | grep -q online; then
    pg_ctlcluster "$VERSION" "$CLUSTER" reload >&2
else
    log "starting cluster $VERSION/$CLUSTER on 127.0.0.1:$PORT"
    pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
fi

psql_admin() { runuser -u postgres -- psql -p "$PORT" -v ON_ERROR_STOP=1 -qAtX "$@"; }
for _ in $(seq 1 30); do
    psql_admin -c 'SELECT 1' >/dev/null 2>&1 && break
    sleep 1
done
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != 1 ]; then
    psql_admin -c "CREATE ROLE $ROLE LOGIN" >&2
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]; then
    psql_admin -c "CREATE DATABASE $DB OWNER $ROLE" >&2
fi
echo "host=127.0.0.1 port=$PORT user=$ROLE dbname=$DB"
