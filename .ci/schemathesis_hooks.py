"""Schemathesis hooks for .ci/schemathesis.sh (loaded through SCHEMATHESIS_HOOKS).

- Dynamic auth: the first protected request signs up one user through the API itself and every
  protected request then carries that user's bearer token.
- Task routes only serve the token's own user, so a generated `user_id` path parameter is replaced
  by the signed-in user's id (a random UUID would only ever get a 403 and exercise nothing), and a
  generated `cursor` by one the server issued for the same sort and filters (a cursor is opaque,
  signed and bound to its query: a made-up one is a 400 by design). Values that a negative test
  case deliberately made invalid are left alone.
- The changes feed's `since` is likewise replaced by a sync cursor the server issued. The event
  stream's `ticket` is left as generated: a made-up ticket is a 401, so the fuzzer never holds a
  stream open (the 200 is covered by tests/api/events.rs and the browser test).
- Sign-up: a valid address that was already registered is a 400 by contract, so positive sign-up
  cases get a fresh local part; everything else in the generated body stays as generated.
- Sign-in: generated credentials never match an account (always 401), so every other positive
  sign-in case uses the fuzzing user's, to exercise the 200 answer as well.
- Sign-out and deleting a session end the session they name: they get a fresh session of the
  fuzzing user each time (and delete that one), so the shared token stays valid. Sign-out-everywhere
  ends every session of its user, so it runs as a throwaway user.
- Password change and account deletion: positive cases run as a throwaway user whose password is
  put in the body (a made-up one is a 400 by contract).
- Tasks: positive bodies of POST and PUT that carry `list_id` get the fuzzing user's default list,
  and a non-null `assignee_id` becomes the fuzzing user (it must be a member of the task's list: a
  400 by contract).
"""

from __future__ import annotations

import os
import re
import threading
import uuid

import requests
import schemathesis
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import negated_parameters

BASE_URL = os.environ["TODO_API_BASE_URL"].rstrip("/")
PASSWORD = "Fuzz-Pass-1"

_lock = threading.Lock()
_session: dict[str, str] | None = None


def _new_user() -> tuple[str, dict]:
    email = f"schemathesis-{uuid.uuid4().hex[:12]}@example.com"
    resp = requests.post(
        f"{BASE_URL}/api/auth/signup",
        json={"name": "Schemathesis", "email": email, "password": PASSWORD},
        timeout=30,
    )
    resp.raise_for_status()
    return email, resp.json()


def _sign_up() -> dict[str, str]:
    email, data = _new_user()
    token, user_id = data["access_token"], data["user_id"]
    headers = {"Authorization": f"Bearer {token}"}
    # Two tasks and a one-task page give a cursor the server signed for this user.
    for title in ("first", "second"):
        created = requests.post(f"{BASE_URL}/api/{user_id}/tasks", json={"title": title}, headers=headers, timeout=30)
        created.raise_for_status()
    page = requests.get(f"{BASE_URL}/api/{user_id}/tasks", params={"limit": 1}, headers=headers, timeout=30)
    page.raise_for_status()
    match = re.search(r"[?&]cursor=([A-Za-z0-9_-]+)", page.headers.get("Link", ""))
    if match is None:
        raise RuntimeError(f"no next-page Link on a one-task page: {page.headers!r}")
    changes = requests.get(f"{BASE_URL}/api/{user_id}/changes", headers=headers, timeout=30)
    changes.raise_for_status()
    return {
        "token": token,
        "user_id": user_id,
        "cursor": match.group(1),
        "since": changes.json()["cursor"],
        "email": email,
    }


def session() -> dict[str, str]:
    global _session
    with _lock:
        if _session is None:
            _session = _sign_up()
        return _session


def _disposable_token() -> str:
    """A second session of the fuzzing user, for the operations that end the session they use."""
    user = session()
    resp = requests.post(
        f"{BASE_URL}/api/auth/signin",
        json={"email": user["email"], "password": PASSWORD},
        timeout=30,
    )
    resp.raise_for_status()
    return resp.json()["access_token"]


def _api(method: str, path: str, token: str, json=None, ok: tuple[int, ...] = (200, 201, 204)):
    """A request of the hooks' own; any status outside `ok` is an error of the hooks' set-up."""
    resp = requests.request(
        method, f"{BASE_URL}{path}", json=json, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    if resp.status_code not in ok:
        raise RuntimeError(f"{method} {path}: {resp.status_code} {resp.text}")
    return resp


# Lists, members and invitations the hooks made (`session()` takes `_lock`, so not that one).
_setup_lock = threading.RLock()
_cache: dict[str, object] = {}


def _default_list() -> str:
    if "inbox" not in _cache:
        user = session()
        lists = _api("GET", f"/api/{user['user_id']}/lists", user["token"]).json()
        _cache["inbox"] = next(found["id"] for found in lists if found["is_default"])
    return _cache["inbox"]


# Operations that check the account's password, and the body field that carries it.
_PASSWORD_CHECKED = {
    ("/api/auth/password", "PUT"): "current_password",
    ("/api/auth/me", "DELETE"): "password",
}


def _ends_its_session(case) -> bool:
    return (case.operation.path, case.operation.method.upper()) == ("/api/auth/signout", "POST")


def _ends_every_session(case) -> bool:
    return (case.operation.path, case.operation.method.upper()) == ("/api/auth/sessions", "DELETE")


# The operations that declare bearer security: the account routes and every task route.
@schemathesis.auth(retry_on=[]).apply_to(
    path_regex=r"^/api/(auth/(me|signout|password|sessions(/\{session_id\})?)$|\{user_id\}/)"
)
class TodoApiAuth:
    def get(self, case, context):
        return session()

    def set(self, case, data, context):
        negated = set(negated_parameters(case.meta))
        token = _disposable_token() if _ends_its_session(case) else data["token"]
        if _ends_every_session(case):
            # Signing out everywhere would end the shared session too: a throwaway user does it.
            token = _new_user()[1]["access_token"]
        if "session_id" in case.path_parameters and ("session_id", ParameterLocation.PATH) not in negated:
            # A session id the stateful phase took from the session list may be the shared one:
            # end a disposable session of the fuzzing user instead.
            token = _disposable_token()
            sessions = requests.get(
                f"{BASE_URL}/api/auth/sessions", headers={"Authorization": f"Bearer {token}"}, timeout=30
            )
            sessions.raise_for_status()
            case.path_parameters["session_id"] = next(s["id"] for s in sessions.json() if s["current"])
        field = _PASSWORD_CHECKED.get((case.operation.path, case.operation.method.upper()))
        if field and isinstance(case.body, dict) and _is_positive(case):
            # A valid body with a made-up password is a 400 by contract; a throwaway user whose
            # password is known exercises the success (and deleting it costs the shared user nothing).
            _, created = _new_user()
            token = created["access_token"]
            case.body[field] = PASSWORD
        case.headers["Authorization"] = f"Bearer {token}"
        if "user_id" in case.path_parameters and ("user_id", ParameterLocation.PATH) not in negated:
            case.path_parameters["user_id"] = data["user_id"]
        if case.query and "cursor" in case.query and ("cursor", ParameterLocation.QUERY) not in negated:
            cursor = _cursor_for(case.query, data)
            if cursor is None:
                del case.query["cursor"]
            else:
                case.query["cursor"] = cursor
        if case.query and "since" in case.query and ("since", ParameterLocation.QUERY) not in negated:
            case.query["since"] = data["since"]


def _cursor_for(query: dict, data: dict[str, str]) -> str | None:
    """A cursor is bound to its sort and filters: ask for one with the case's own query. `None`
    when those filters leave fewer than two tasks (no next page, so no cursor to send)."""
    params = {k: v for k, v in query.items() if k not in ("cursor", "limit")}
    if not params:
        return data["cursor"]
    page = requests.get(
        f"{BASE_URL}/api/{data['user_id']}/tasks",
        params={**params, "limit": 1},
        headers={"Authorization": f"Bearer {data['token']}"},
        timeout=30,
    )
    if page.status_code != 200:
        return None
    match = re.search(r"[?&]cursor=([A-Za-z0-9_-]+)", page.headers.get("Link", ""))
    return match.group(1) if match else None


_LOCAL_PART = re.compile(r"^(\s*)([^@]*)@")
_signins = 0

# Where a task body names a list and an assignee.
_TASK_WRITES = {("/api/{user_id}/tasks", "POST"), ("/api/{user_id}/tasks/{task_id}", "PUT")}


def _is_positive(case) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


@schemathesis.hook
def before_call(context, case, kwargs):
    global _signins
    if not isinstance(case.body, dict) or not _is_positive(case):
        return
    route = (case.operation.path, case.operation.method.upper())
    if route in _TASK_WRITES:
        # The assignee must be a member of the task's list (a 400 by contract): the fuzzing user is
        # one of every list they can write, and of their default list.
        if "list_id" in case.body:
            with _setup_lock:
                case.body["list_id"] = _default_list()
        if case.body.get("assignee_id") is not None:
            case.body["assignee_id"] = session()["user_id"]
        return
    if case.operation.path == "/api/auth/signin":
        _signins += 1
        if _signins % 2 == 0:
            user = session()
            case.body["email"], case.body["password"] = user["email"], PASSWORD
        return
    if case.operation.path != "/api/auth/signup":
        return
    email = case.body.get("email")
    if not isinstance(email, str):
        return
    match = _LOCAL_PART.match(email)
    if match is None:
        return
    fresh = uuid.uuid4().hex[:12]
    local = match.group(2)
    local = f"{fresh}.{local}" if len(local) + 13 <= 64 else fresh
    case.body["email"] = f"{match.group(1)}{local}@{email[match.end():]}"
