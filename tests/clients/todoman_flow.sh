#!/usr/bin/env bash
# A task made in todoman (Debian's `todoman`) synced to a CalDAV server by vdirsyncer (Debian's
# `vdirsyncer`), changed on the server, synced back, completed in todoman, synced again: the way
# a person with these two programs uses a CalDAV server. In two stages, so that whoever runs it
# (the Rust test tests/api/caldav_clients.rs) can check the server and change the task on it in
# between:
#
#   todoman_flow.sh up DIR TITLE      writes the configuration in DIR (a fresh directory, kept for
#                                     `down`), discovers the server's calendars, `todoman new
#                                     TITLE` in the list TODOMAN_FLOW_LIST, `vdirsyncer sync`
#   todoman_flow.sh down DIR TITLE    `vdirsyncer sync`, checks that todoman shows the task under
#                                     the changed title TITLE, `todoman done` it, `vdirsyncer sync`
#
# The server and account come from the environment: TODOMAN_FLOW_URL (the server's root URL, from
# which vdirsyncer discovers the principal and the calendar home), TODOMAN_FLOW_USER (the e-mail),
# TODOMAN_FLOW_TOKEN (a `todo_...` token with scope write), TODOMAN_FLOW_LIST (the display name of
# the list the task goes in). Each stage prints JSON lines ({"step": ...}) with the task's UID and
# file name, and exits non-zero on any failure, 2 when vdirsyncer or todoman is missing.
set -euo pipefail

for tool in vdirsyncer todoman; do
    if ! command -v "$tool" >/dev/null; then
        echo "$tool is missing: apt-get install vdirsyncer todoman" >&2
        exit 2
    fi
done

stage=${1:?usage: todoman_flow.sh up|down DIR TITLE}
dir=${2:?usage: todoman_flow.sh up|down DIR TITLE}
title=${3:?usage: todoman_flow.sh up|down DIR TITLE}

json() { python3 -c 'import json, sys; print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' "$@"; }
fail() {
    json step "$stage" error "$*"
    exit 1
}
run() {
    # Every command's output on stderr, so that stdout holds only the JSON lines.
    echo "+ $*" >&2
    "$@" >&2 || fail "$* exited with status $?"
}

export VDIRSYNCER_CONFIG=$dir/vdirsyncer.conf
todoman() { command todoman --config "$dir/todoman.py" --color never "$@"; }
# The task todoman shows titled $1 (its porcelain JSON, which has no UID), done or not; empty
# unless exactly one.
titled() {
    todoman --porcelain list --status ANY | python3 -c '
import json, sys
found = [t for t in json.load(sys.stdin) if t["summary"] == sys.argv[1]]
print(json.dumps(found[0]) if len(found) == 1 else "")' "$1"
}
# The local file whose VTODO has the property line $1 (e.g. `UID:...`), CRLF or not.
file_with() {
    python3 - "$dir/vdir" "$1" <<'PY'
import pathlib, sys
for path in sorted(pathlib.Path(sys.argv[1]).glob("*/*.ics")):
    if sys.argv[2] in path.read_text().replace("\r\n", "\n").split("\n"):
        print(path)
        break
PY
}
field() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

case $stage in
up)
    : "${TODOMAN_FLOW_URL:?}" "${TODOMAN_FLOW_USER:?}" "${TODOMAN_FLOW_TOKEN:?}" "${TODOMAN_FLOW_LIST:?}"
    mkdir -p "$dir/status" "$dir/vdir" "$dir/cache"
    chmod 700 "$dir"
    python3 - "$dir" <<'PY'
import json, os, sys
d = sys.argv[1]
q = json.dumps  # TOML and Python both read a JSON string
with open(os.path.join(d, "vdirsyncer.conf"), "w") as f:
    f.write(f"""[general]
status_path = {q(d + "/status/")}

[pair tasks]
a = "tasks_local"
b = "tasks_remote"
collections = ["from b"]
metadata = ["displayname", "color"]
conflict_resolution = "b wins"

[storage tasks_local]
type = "filesystem"
path = {q(d + "/vdir/")}
fileext = ".ics"

[storage tasks_remote]
type = "caldav"
url = {q(os.environ["TODOMAN_FLOW_URL"])}
username = {q(os.environ["TODOMAN_FLOW_USER"])}
password = {q(os.environ["TODOMAN_FLOW_TOKEN"])}
item_types = ["VTODO"]
""")
with open(os.path.join(d, "todoman.py"), "w") as f:
    f.write(f"""path = {q(d + "/vdir/*")}
cache_path = {q(d + "/cache/cache.sqlite3")}
date_format = "%Y-%m-%d"
time_format = "%H:%M"
default_list = {q(os.environ["TODOMAN_FLOW_LIST"])}
""")
PY
    # `discover` asks before it makes a local directory for a calendar of the server: yes.
    run vdirsyncer discover tasks < <(yes)
    run vdirsyncer metasync
    run vdirsyncer sync
    lists=$(cd "$dir/vdir" && for c in */; do printf '%s=%s ' "${c%/}" "$(cat "$c/displayname" 2>/dev/null)"; done)
    json step discover collections "$lists"
    run todoman new --list "$TODOMAN_FLOW_LIST" --priority medium "$title"
    [ -n "$(titled "$title")" ] || fail "todoman does not show one task titled $title"
    file=$(file_with "SUMMARY:$title")
    [ -n "$file" ] || fail "no file in $dir/vdir has SUMMARY:$title"
    uid=$(sed -n 's/^UID://p' "$file" | tr -d '\r')
    [ "$(file_with "UID:$uid")" = "$file" ] || fail "cannot read the UID of $file"
    echo "$uid" >"$dir/uid"
    json step new uid "$uid" file "$file" summary "$title"
    run vdirsyncer sync
    json step up uid "$uid" collection "$(basename "$(dirname "$file")")" object "$(basename "$file")"
    ;;
down)
    [ -f "$dir/vdirsyncer.conf" ] || fail "no configuration in $dir: run the up stage first"
    uid=$(cat "$dir/uid")
    run vdirsyncer sync
    found=$(titled "$title")
    [ -n "$found" ] || fail "after the sync todoman shows no task titled $title: $(todoman --porcelain list --status ANY)"
    file=$(file_with "UID:$uid")
    [ -n "$file" ] || fail "the sync removed the task $uid"
    [ "$(file_with "SUMMARY:$title")" = "$file" ] || fail "the task $uid is not titled $title: $(cat "$file")"
    id=$(field "$found" id)
    json step synced_down uid "$uid" summary "$title"
    run todoman done "$id"
    [ "$(field "$(titled "$title")" completed)" = "True" ] || fail "todoman done left it open"
    run vdirsyncer sync
    # A second sync has nothing left to move either way.
    again=$(vdirsyncer sync 2>&1) || fail "the second vdirsyncer sync failed: $again"
    echo "$again" >&2
    ! grep -Eq '^(Copying|Deleting)' <<<"$again" || fail "a second sync still moved items: $again"
    file=$(file_with "UID:$uid")
    [ -n "$(file_with "STATUS:COMPLETED")" ] && grep -q '^STATUS:COMPLETED' "$file" || fail "the synced file is not completed: $(cat "$file")"
    json step down uid "$uid" object "$(basename "$file")" completed true
    ;;
*)
    echo "usage: todoman_flow.sh up|down DIR TITLE" >&2
    exit 64
    ;;
esac
