#!/usr/bin/env bash
# Browser tests: /docs in headless Chromium, and a web client on another origin going through CORS.
#
#   tests/browser/run.sh
#
# Installs what is missing (Debian's chromium; npm packages from package-lock.json), builds the
# release binary, starts it on a free port with a throwaway embedded PostgreSQL, serves Swagger UI's
# assets locally (the machine has no internet), runs browser.test.mjs with node's test runner and
# stops everything. Exits non-zero when a test fails. The /docs screenshot goes to
# target/browser/docs.png.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
started=$SECONDS
say() { echo "[browser] $*" >&2; }

chromium_bin=/usr/bin/chromium
if [ ! -x "$chromium_bin" ]; then
  say "installing Debian's chromium"
  t=$SECONDS
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
  say "chromium installed in $((SECONDS - t))s"
fi

cd "$here"
if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  t=$SECONDS
  # No install scripts are needed (playwright-core must not fetch a browser; swagger-ui-dist's
  # dependency only reports analytics).
  SCARF_ANALYTICS=false npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  say "npm packages installed in $((SECONDS - t))s"
fi

say "cargo build --release"
t=$SECONDS
(cd "$root" && cargo build --release --bin todo-api --quiet)
say "built in $((SECONDS - t))s"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/todo-api-browser.XXXXXX")"
# As root the server runs PostgreSQL as the `postgres` user, which must be able to reach DATA_DIR
# (mktemp makes the directory 0700).
chmod 755 "$tmp"
server_pid=""
assets_pid=""
cleanup() {
  local rc=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$server_pid" 2>/dev/null; then
      say "server did not stop within 30s; killing it"
      kill -KILL "$server_pid" 2>/dev/null || true
    fi
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ -n "$assets_pid" ]; then
    kill -TERM "$assets_pid" 2>/dev/null || true
    wait "$assets_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
  say "finished in $((SECONDS - started))s"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Swagger UI's assets, served like a CDN from the npm package.
node static-server.mjs "$here/node_modules/swagger-ui-dist" >"$tmp/assets.url" 2>"$tmp/assets.log" &
assets_pid=$!
for _ in $(seq 1 100); do [ -s "$tmp/assets.url" ] && break; sleep 0.05; done
assets_url="$(head -n1 "$tmp/assets.url")"
[ -n "$assets_url" ] || { say "the assets server did not start:"; cat "$tmp/assets.log" >&2; exit 1; }

# A free port for the API (the test's own pages use 3000 and 3001).
api_port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
api_url="http://127.0.0.1:$api_port"

say "starting todo-api on $api_url (embedded PostgreSQL in $tmp/data)"
# Run from the temp dir so a developer's ./.env cannot point the server elsewhere; only
# http://localhost:3000 is allowed, so http://localhost:3001 (on the default list) must be refused.
(
  cd "$tmp"
  exec env -u DATABASE_URL -u JWT_SECRET_KEY \
    HOST=127.0.0.1 PORT="$api_port" DATA_DIR="$tmp/data" \
    CORS_ORIGINS=http://localhost:3000 BCRYPT_COST=4 LOG_LEVEL=warn \
    DOCS_ASSETS_URL="$assets_url" \
    "$root/target/release/todo-api"
) >"$tmp/server.log" 2>&1 &
server_pid=$!

t=$SECONDS
until curl -fsS "$api_url/health" 2>/dev/null | grep -q '"database":"ok"'; do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    say "the server exited during start-up:"
    cat "$tmp/server.log" >&2
    exit 1
  fi
  if [ $((SECONDS - t)) -ge 90 ]; then
    say "the server was not healthy after 90s:"
    cat "$tmp/server.log" >&2
    exit 1
  fi
  sleep 0.2
done
say "server healthy after $((SECONDS - t))s"

set +e
API_URL="$api_url" ASSETS_URL="$assets_url" CHROMIUM="$chromium_bin" \
  SCREENSHOT="$root/target/browser/docs.png" \
  node --test --test-reporter=spec --test-concurrency=1 "$here/browser.test.mjs"
rc=$?
set -e
if [ "$rc" -ne 0 ] && [ -s "$tmp/server.log" ]; then
  say "server log:"
  tail -n 50 "$tmp/server.log" >&2
fi
exit "$rc"
