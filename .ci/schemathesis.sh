#!/usr/bin/env bash
# Schema-driven fuzzing: run schemathesis with every check against the release binary, which
# serves its own OpenAPI document at /openapi.json. The server runs on a free local port with a
# throwaway embedded PostgreSQL (DATABASE_URL unset, DATA_DIR in a fresh temporary directory).
# Schemathesis signs up and signs in by itself (.ci/schemathesis_hooks.py). Exits non-zero on any
# failure. Options after `--` go to `schemathesis run` as well, e.g. `.ci/schemathesis.sh -- -n 5`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SCHEMATHESIS_VERSION=4.32.5
SEED=${SCHEMATHESIS_SEED:-20260108}
MAX_EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-200}
VENV=$ROOT/target/schemathesis-venv
[ "${1:-}" = "--" ] && shift

echo "== schemathesis $SCHEMATHESIS_VERSION in $VENV"
if [ "$("$VENV/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

echo "== cargo build --release --bin todo-api"
cargo build --release --quiet --bin todo-api
BIN=$ROOT/target/release/todo-api

WORK=$(mktemp -d "${TMPDIR:-/tmp}/todo-st.XXXXXX")
# As root the server runs PostgreSQL as the `postgres` user, who must be able to enter DATA_DIR.
chmod 755 "$WORK"
SERVER_PID=
stop_server() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID"
        wait "$SERVER_PID" || echo "todo-api exited with status $? after SIGTERM" >&2
    fi
    SERVER_PID=
}
cleanup() {
    stop_server
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE_URL=http://127.0.0.1:$PORT

echo "== starting todo-api on $BASE_URL (DATA_DIR=$WORK/data)"
# The working directory is the temporary one, so no `.env` of the checkout is read.
(
    cd "$WORK"
    exec env -u DATABASE_URL -u JWT_SECRET_KEY -u PORT \
        HOST=127.0.0.1 PORT="$PORT" DATA_DIR="$WORK/data" \
        BCRYPT_COST=4 HASH_CONCURRENCY=4 LOG_LEVEL=warn LOG_FORMAT=text \
        SIGNIN_LIMIT_PER_EMAIL=1000000 SIGNIN_LIMIT_PER_ADDRESS=1000000 SIGNUP_LIMIT_PER_ADDRESS=1000000 \
        "$BIN"
) >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

healthy() {
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$BASE_URL/health" 2>/dev/null
}
for _ in $(seq 1 120); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "todo-api exited during start-up:" >&2
        cat "$WORK/server.log" >&2
        exit 1
    fi
    healthy && break
    sleep 0.5
done
healthy || { echo "todo-api did not answer /health within 60 s" >&2; cat "$WORK/server.log" >&2; exit 1; }

# No crash cache: every run starts from the seed alone (and nothing is written into the checkout).
# Warnings fail the run too: e.g. `missing_auth` means the hooks' sign-in stopped working.
cat >"$WORK/schemathesis.toml" <<'TOML'
[cache]
enabled = false

[warnings]
fail-on = true

# A made-up ticket is a 401, so most event-stream cases answer only that, by design (the streams
# the stateful phase opens through the ticket link are read for a few events, then dropped); every
# other warning still fails the run.
[[operations]]
include-path = "/api/{user_id}/events"
include-method = "GET"
max-stream-events = 3
request-timeout = 5
warnings = { display = ["missing_test_data", "base_url_mismatch", "validation_mismatch", "missing_deserializer", "unused_openapi_auth", "unsupported_regex", "method_not_allowed", "constants_extraction", "unmatched_filter", "unresolvable_reference", "rate_limited", "dictionary_mismatch", "timeout_units"], fail-on = true }

# A well-formed If-Match that names an older version is a 412 by contract.
[[operations]]
include-path-regex = "^/api/\\{user_id\\}/tasks/\\{task_id\\}(/complete)?$"
include-method-regex = "^(PUT|PATCH|DELETE)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "412", "5xx"]

# A well-formed Idempotency-Key already used with another body is a 422, one in use a 409.
[[operations]]
include-path = "/api/{user_id}/tasks"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]

# By contract: 409 for an address already invited or of a member, or a full list; 429 past 100 a day.
[[operations]]
include-path = "/api/{user_id}/lists/{list_id}/invitations"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
TOML

# One worker: with several, Hypothesis parses source in threads and CPython 3.11 can fail with
# "SystemError: AST constructor recursion depth mismatch" (a CPython bug); one is fast enough.
echo "== schemathesis run (seed $SEED, at most $MAX_EXAMPLES examples per operation and phase)"
status=0
started=$(date +%s)
cd "$WORK"
SCHEMATHESIS_HOOKS=$ROOT/.ci/schemathesis_hooks.py TODO_API_BASE_URL=$BASE_URL \
    "$VENV/bin/schemathesis" --config-file "$WORK/schemathesis.toml" run "$BASE_URL/openapi.json" \
    --checks all \
    --phases examples,coverage,fuzzing,stateful \
    --mode all \
    --seed "$SEED" \
    --max-examples "$MAX_EXAMPLES" \
    --workers 1 \
    --request-timeout 10 \
    --generation-database none \
    --no-color \
    --report junit --report-dir "$ROOT/target/schemathesis-report" \
    "$@" || status=$?
echo "== schemathesis finished in $(( $(date +%s) - started )) s with status $status"

cd "$ROOT"
stop_server
if [ "$status" -ne 0 ]; then
    echo "== last lines of the server log:" >&2
    tail -n 50 "$WORK/server.log" >&2
fi
if grep -E ' (error|ERROR) ' "$WORK/server.log" >/dev/null; then
    echo "== todo-api logged errors:" >&2
    grep -E ' (error|ERROR) ' "$WORK/server.log" >&2
    status=1
fi
exit "$status"
