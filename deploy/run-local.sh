#!/usr/bin/env bash
# One command: PostgreSQL, N todo-api instances and haproxy in front of them, on this machine.
#
#   deploy/run-local.sh [N] [--pgbouncer]      (N defaults to 3)
#
# The API is then at http://127.0.0.1:8080 (haproxy), instances at 127.0.0.1:8001..800N.
# `kill -TERM <pid of one instance>` shows a drain: haproxy takes it out within a second, it keeps
# serving for DRAIN_MS, then exits. Ctrl-C stops everything. State lives in $STATE_DIR
# (default /tmp/todo-api-local): the cluster, the JWT secret, the logs and haproxy's stats socket.
# PORT_BASE (default 8000) moves the instances' ports. It works under `umask 077`, and leaves
# nothing that another local user can read or connect to (.ci/deploy-check.sh checks).
set -euo pipefail
cd "$(dirname "$0")/.."

n=3
pgbouncer=0
for arg in "$@"; do
    case "$arg" in
        --pgbouncer) pgbouncer=1 ;;
        [1-9]*) n="$arg" ;;
        *) echo "usage: $0 [N] [--pgbouncer]" >&2; exit 2 ;;
    esac
done
state="${STATE_DIR:-/tmp/todo-api-local}"
lb_port="${LB_PORT:-8080}"
port_base="${PORT_BASE:-8000}"
drain_ms="${DRAIN_MS:-3000}"

need=()
[ -x /usr/sbin/haproxy ] || need+=(haproxy)
[ "$pgbouncer" = 0 ] || [ -x /usr/sbin/pgbouncer ] || need+=(pgbouncer)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
    echo "== installing: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
bindir="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"

# PostgreSQL refuses to run as root: run it (and PgBouncer) as the postgres system user then.
as_pg=()
if [ "$(id -u)" = 0 ]; then as_pg=(runuser -u postgres --); fi

# Private: the JWT secret, and sockets that let whoever reaches them in as the superuser
# (PostgreSQL's in pg/, trust authentication; PgBouncer's in pgbouncer/, auth_type = any). Run as
# root, PostgreSQL and PgBouncer run as the postgres user, who must pass through to its own
# directories: then the state directory is root's, group postgres, 0710 (enter, not list).
mkdir -p "$state"
if [ ${#as_pg[@]} -eq 0 ]; then
    chmod 700 "$state"
else
    chgrp postgres "$state"
    chmod 710 "$state"
fi
pgdata="$state/pg"
if [ ! -s "$pgdata/PG_VERSION" ]; then
    mkdir -p "$pgdata"
    [ ${#as_pg[@]} -eq 0 ] || chown postgres: "$pgdata"
    "${as_pg[@]}" "$bindir/initdb" -D "$pgdata" -U postgres --auth=trust >"$state/initdb.log"
fi

pids=()
stopping=0
cleanup() {
    trap - EXIT INT TERM
    stopping=1
    echo "== stopping"
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    "${as_pg[@]}" "$bindir/pg_ctl" -D "$pgdata" stop -m fast >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

"${as_pg[@]}" "$bindir/pg_ctl" -D "$pgdata" -l "$pgdata/postgres.log" -w start \
    -o "-k $pgdata -c listen_addresses= -p 5432 -c max_connections=300" >/dev/null
"${as_pg[@]}" "$bindir/psql" -h "$pgdata" -U postgres -qAtc \
    "SELECT 1 FROM pg_database WHERE datname = 'todo'" | grep -q 1 ||
    "${as_pg[@]}" "$bindir/psql" -h "$pgdata" -U postgres -qc "CREATE DATABASE todo"
direct="host=$pgdata port=5432 user=postgres dbname=todo"
url="$direct"
statements=prepared
if [ "$pgbouncer" = 1 ]; then
    # No TCP port: its socket, and its configuration, in a directory of its own user's, 0700.
    pgb="$state/pgbouncer"
    mkdir -p "$pgb"
    chmod 700 "$pgb"
    user_line=""
    [ ${#as_pg[@]} -eq 0 ] || user_line="user = postgres"
    sed -e "s|@SERVER@|host=$pgdata port=5432 user=postgres|" -e "s|@PORT@|6432|" \
        -e "s|@SOCKET_DIR@|$pgb|" -e "s|@USER_LINE@|$user_line|" deploy/pgbouncer.ini >"$pgb/pgbouncer.ini"
    [ ${#as_pg[@]} -eq 0 ] || chown -R postgres: "$pgb"
    /usr/sbin/pgbouncer "$pgb/pgbouncer.ini" 2>"$state/pgbouncer.log" &
    pids+=($!)
    for _ in $(seq 1 100); do [ -S "$pgb/.s.PGSQL.6432" ] && break; sleep 0.1; done
    url="host=$pgb port=6432 user=postgres dbname=todo"
    statements=unnamed
fi

# 0600 whatever the umask, also one an earlier version of this script left readable.
[ -s "$state/jwt_secret" ] || (umask 077 && openssl rand -hex 32 >"$state/jwt_secret")
chmod 600 "$state/jwt_secret"
cargo build --release --quiet
bin="$PWD/target/release/todo-api"
export JWT_SECRET_KEY="$(cat "$state/jwt_secret")" DB_STATEMENTS="$statements" DRAIN_MS="$drain_ms"
# haproxy (deploy/haproxy.cfg) replaces X-Forwarded-For with the address it sees: believe it.
export TRUSTED_PROXIES=127.0.0.1/32
# Live events LISTEN on a connection of their own, which transaction pooling cannot give.
export LISTEN_DATABASE_URL="$direct"
# Migrations once, before the instances (each would also apply them at start-up, under a lock).
DATABASE_URL="$url" "$bin" migrate

servers=""
for i in $(seq 1 "$n"); do
    port=$((port_base + i))
    DATABASE_URL="$url" HOST=127.0.0.1 PORT="$port" "$bin" 2>"$state/app$i.log" &
    pids+=($!)
    echo "instance app$i: http://127.0.0.1:$port (pid $!, log $state/app$i.log)"
    servers+="    server app$i 127.0.0.1:$port"$'\n'
done
grep -v '^ *server ' deploy/haproxy.cfg >"$state/haproxy.cfg"
printf '%s' "$servers" >>"$state/haproxy.cfg"
HAPROXY_BIND="127.0.0.1:$lb_port" HAPROXY_STATS="$state/haproxy.sock" \
    /usr/sbin/haproxy -db -f "$state/haproxy.cfg" 2>"$state/haproxy.log" &
pids+=($!)

echo "haproxy: http://127.0.0.1:$lb_port (statements: $statements; stats: echo 'show stat' | socat - $state/haproxy.sock)"
echo "Ctrl-C stops everything."
wait -n "${pids[@]}" || true
[ "$stopping" = 1 ] || echo "a process exited; see the logs in $state" >&2
