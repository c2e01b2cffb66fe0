#!/usr/bin/env bash
# deploy/run-local.sh --pgbouncer under `umask 077`: it serves, everything it leaves is private, and
# another local user (nobody) can connect neither to PostgreSQL nor through PgBouncer.
#
#   bash .ci/deploy-check.sh      (as root, which can run a client as nobody; CI runs as root)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "deploy check: needs root, to run a client as nobody" >&2; exit 1; }

bindir="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
lb_port="$(free_port)"
port_base=$(($(free_port) - 1)) # the one instance listens on PORT_BASE + 1
state="/tmp/todo-api-deploy-check.$$"
log="$(mktemp)"
started=$SECONDS

(umask 077 && STATE_DIR="$state" LB_PORT="$lb_port" PORT_BASE="$port_base" DRAIN_MS=0 \
    exec deploy/run-local.sh 1 --pgbouncer) >"$log" 2>&1 &
pid=$!
cleanup() {
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -rf "$state" "$log"
}
trap cleanup EXIT

until curl -fsS "http://127.0.0.1:$lb_port/health/ready" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null || [ $((SECONDS - started)) -gt 300 ]; then
        echo "deploy check: run-local.sh did not become ready:" >&2
        cat "$log" "$state"/*.log >&2 || true
        exit 1
    fi
    sleep 0.5
done

failures=0
check() { # description, command...
    local what="$1"
    shift
    if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; failures=$((failures + 1)); fi
}
mode() { stat -c '%a %U:%G' "$1"; }
psql_as() { # user, socket directory, port
    (cd / && runuser -u "$1" -- "$bindir/psql" -X -At -h "$2" -p "$3" -U postgres -d todo -c 'SELECT 1' 2>&1)
}
refused() { # nobody is refused for want of permission (not for a server that is not there)
    local out
    out="$(psql_as nobody "$@" || true)"
    echo "  $out"
    [[ "$out" == *"Permission denied"* ]]
}

check "the state directory is root's and the postgres group's, 0710 ($(mode "$state"))" \
    test "$(mode "$state")" = "710 root:postgres"
check "the JWT secret is 0600 ($(mode "$state/jwt_secret"))" test "$(mode "$state/jwt_secret")" = "600 root:root"
check "PostgreSQL's directory is postgres's, 0700 ($(mode "$state/pg"))" test "$(mode "$state/pg")" = "700 postgres:postgres"
check "PgBouncer's directory is postgres's, 0700 ($(mode "$state/pgbouncer"))" \
    test "$(mode "$state/pgbouncer")" = "700 postgres:postgres"
check "the postgres user connects through PgBouncer" test "$(psql_as postgres "$state/pgbouncer" 6432)" = 1
check "nobody cannot connect through PgBouncer" refused "$state/pgbouncer" 6432
check "nobody cannot connect to PostgreSQL" refused "$state/pg" 5432
check "nothing listens on 127.0.0.1:6432" bash -c '! (exec 3<>/dev/tcp/127.0.0.1/6432) 2>/dev/null'
signup() {
    curl -fsS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
        -d "{\"name\": \"Deploy\", \"email\": \"deploy.$$@example.com\", \"password\": \"Passw0rd!\"}" \
        "http://127.0.0.1:$lb_port/api/auth/signup"
}
check "a sign-up through haproxy and PgBouncer is 201" test "$(signup)" = 201

echo "deploy check: $failures failed, in $((SECONDS - started))s"
[ "$failures" = 0 ]
