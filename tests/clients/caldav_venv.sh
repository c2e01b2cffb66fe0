#!/usr/bin/env bash
# The python `caldav` library (PyPI), pinned, in a venv under target/ (made or mended when it is
# missing or holds another version), for tests/clients/caldav_flow.py. Prints the venv's python.
set -euo pipefail
cd "$(dirname "$0")/../.."

CALDAV_VERSION=3.6.0
VENV=$PWD/target/caldav-venv

installed() {
    "$VENV/bin/python" -c 'import caldav; print(caldav.__version__)' 2>/dev/null || true
}
if [ "$(installed)" != "$CALDAV_VERSION" ]; then
    echo "== caldav $CALDAV_VERSION in $VENV" >&2
    python3 -m venv "$VENV" >&2
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "caldav==$CALDAV_VERSION" >&2
    [ "$(installed)" = "$CALDAV_VERSION" ] || { echo "caldav $CALDAV_VERSION did not install in $VENV" >&2; exit 1; }
fi
echo "$VENV/bin/python"
