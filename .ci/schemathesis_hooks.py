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
- Lists: a generated `list_id` path parameter (or the task list's `list` filter) that does not name
  a list the fuzzing user may use as the operation needs (member; owner or editor; owner; owner of
  a list other than the default one) is replaced by one that does, made once and checked before
  each use (a made-up id is a 404 by design). DELETE of a list gets a fresh list each time (the
  default list cannot be deleted: a 400 by contract).
- Members: the member routes get a list the fuzzing user owns with a second member, handed over by
  a throwaway user (who made the list, invited the fuzzing user and made them owner), so none of
  the fuzzing user's 100 invitations a day is spent. PATCH reuses one such list (after a PATCH that
  made the other member owner, they hand it back before the next case); DELETE, which removes the
  member, gets a fresh one each time.
- Accepting and declining: a throwaway inviter invites the fuzzing user's address to a list of its
  own, and the case answers that invitation (answering consumes it, so each case gets its own).
- Tasks: positive bodies of POST and PUT that carry `list_id` get the fuzzing user's default list,
  and a non-null `assignee_id` becomes the fuzzing user (it must be a member of the task's list: a
  400 by contract); `parent_id` becomes null, `timezone` a real zone, a non-null `recurrence` a
  rule of the subset with a due date (each otherwise a 400 by contract).
- Tokens: deleting one gets a real token of the fuzzing user's.
- Invitations: positive cases get a fresh local part in the address, as sign-up does (an address
  already invited to the list is a 409 by contract). Those without a list of the fuzzing user's
  (a generated id) are sent by a throwaway inviter to a list of its own, replaced after 90
  invitations: a user may send 100 a day (then a 429), and the fuzzing user keeps those for the
  lists the stateful phase makes. Revoking likewise: unless the case names a pending invitation to
  a list of the fuzzing user's, the inviter sends one more and the case revokes it.
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


def _throwaway() -> dict[str, str]:
    email, data = _new_user()
    return {"token": data["access_token"], "user_id": data["user_id"], "email": email}


def _new_list(user: dict[str, str], name: str) -> str:
    return _api("POST", f"/api/{user['user_id']}/lists", user["token"], json={"name": name}).json()["id"]


def _invite(owner: dict[str, str], list_id: str, email: str) -> requests.Response:
    return _api(
        "POST",
        f"/api/{owner['user_id']}/lists/{list_id}/invitations",
        owner["token"],
        json={"email": email, "role": "editor"},
        ok=(201, 409, 429),
    )


def _answer(user: dict[str, str], invitation_id: str, verb: str = "accept") -> None:
    _api("POST", f"/api/{user['user_id']}/invitations/{invitation_id}/{verb}", user["token"])


# What an operation on `/api/{user_id}/lists/{list_id}...` needs of the list: the fuzzing user a
# member (`read`), an owner or editor (`write`), the owner (`own`), the owner of a list that is not
# the default one (`share`, `delete`).
_LIST_NEEDS = {
    ("/api/{user_id}/lists/{list_id}", "GET"): "read",
    ("/api/{user_id}/lists/{list_id}", "PATCH"): "write",
    ("/api/{user_id}/lists/{list_id}", "DELETE"): "delete",
    ("/api/{user_id}/lists/{list_id}/invitations", "GET"): "own",
    ("/api/{user_id}/lists/{list_id}/invitations", "POST"): "share",
    ("/api/{user_id}/lists/{list_id}/invitations/{invitation_id}", "DELETE"): "own",
    ("/api/{user_id}/lists/{list_id}/members", "GET"): "read",
}
_MEMBER_ROUTE = "/api/{user_id}/lists/{list_id}/members/{member_id}"
_REVOKE = ("/api/{user_id}/lists/{list_id}/invitations/{invitation_id}", "DELETE")
_ANSWER_ROUTES = (
    "/api/{user_id}/invitations/{invitation_id}/accept",
    "/api/{user_id}/invitations/{invitation_id}/decline",
)

# Lists, members and invitations the hooks made (`session()` takes `_lock`, so not that one).
_setup_lock = threading.RLock()
_cache: dict[str, object] = {}


def _list_of_fuzzing_user(list_id) -> dict | None:
    """The list as the fuzzing user sees it, or `None` when they are not a member (or it is no id)."""
    try:
        uuid.UUID(str(list_id))
    except ValueError:
        return None
    user = session()
    resp = _api("GET", f"/api/{user['user_id']}/lists/{list_id}", user["token"], ok=(200, 404))
    return resp.json() if resp.status_code == 200 else None


def _serves(found: dict | None, need: str) -> bool:
    if found is None:
        return False
    if need == "read":
        return True
    if need == "write":
        return found["role"] in ("owner", "editor")
    return found["role"] == "owner" and (need == "own" or not found["is_default"])


def _default_list() -> str:
    if "inbox" not in _cache:
        user = session()
        lists = _api("GET", f"/api/{user['user_id']}/lists", user["token"]).json()
        _cache["inbox"] = next(found["id"] for found in lists if found["is_default"])
    return _cache["inbox"]


def _shared_list() -> str:
    """A list the fuzzing user owns that is not their default one (checked: a case may delete it)."""
    cached = _cache.get("own")
    if cached is None or not _serves(_list_of_fuzzing_user(cached), "share"):
        _cache["own"] = cached = _new_list(session(), "Schemathesis")
    return cached


def _handed_over() -> tuple[str, dict[str, str]]:
    """A list the fuzzing user owns with one other member, without an invitation of the fuzzing
    user's (100 a day): a throwaway user makes it, invites the fuzzing user and hands it over."""
    user, other = session(), _throwaway()
    list_id = _new_list(other, "Schemathesis shared")
    invitation = _invite(other, list_id, user["email"])
    if invitation.status_code != 201:
        raise RuntimeError(f"a new list's first invitation: {invitation.status_code} {invitation.text}")
    _answer(user, invitation.json()["id"])
    _api(
        "PATCH",
        f"/api/{other['user_id']}/lists/{list_id}/members/{user['user_id']}",
        other["token"],
        json={"role": "owner"},
    )
    return list_id, other


def _member_to_change() -> tuple[str, str]:
    """For PATCH of a member: one list with a second member, reused while it is still so (a PATCH
    that made the other member owner is undone by them handing it back)."""
    user = session()
    cached = _cache.get("patch")
    if cached is not None:
        list_id, other = cached
        resp = _api("GET", f"/api/{user['user_id']}/lists/{list_id}/members", user["token"], ok=(200, 404))
        roles = {m["user_id"]: m["role"] for m in resp.json()} if resp.status_code == 200 else {}
        if roles.get(other["user_id"]) == "owner" and user["user_id"] in roles:
            _api(
                "PATCH",
                f"/api/{other['user_id']}/lists/{list_id}/members/{user['user_id']}",
                other["token"],
                json={"role": "owner"},
            )
        elif roles.get(user["user_id"]) != "owner" or other["user_id"] not in roles:
            cached = None
    if cached is None:
        _cache["patch"] = cached = _handed_over()
    list_id, other = cached
    return list_id, other["user_id"]


def _member_to_remove() -> tuple[str, str]:
    """For DELETE of a member, which consumes the membership: a fresh list each time. The previous
    one (the fuzzing user's, now without other members) is deleted first."""
    user = session()
    previous = _cache.pop("removed", None)
    if previous is not None:
        _api("DELETE", f"/api/{user['user_id']}/lists/{previous}", user["token"], ok=(204, 403, 404))
    list_id, other = _handed_over()
    _cache["removed"] = list_id
    return list_id, other["user_id"]


# A throwaway inviter sends at most this many invitations, to one list of its own, before the next
# one takes over (a user may send 100 a day, and a list has at most 100 members and invitations).
_INVITER_BUDGET = 90


def _inviter() -> dict:
    inviter = _cache.get("inviter")
    if inviter is None or inviter["sent"] >= _INVITER_BUDGET:
        owner = _throwaway()
        inviter = _cache["inviter"] = {"user": owner, "list": _new_list(owner, "Schemathesis invites"), "sent": 0}
    return inviter


def _invitation_to_fuzzing_user() -> str:
    """An invitation to the fuzzing user's address, pending, for accept and decline to answer."""
    user = session()
    for _ in range(3):
        inviter = _inviter()
        owner, list_id = inviter["user"], inviter["list"]
        resp = _invite(owner, list_id, user["email"])
        if resp.status_code == 201:
            inviter["sent"] += 1
            return resp.json()["id"]
        detail = resp.json().get("detail")
        if detail == "Already invited":
            # A case that did not answer it (a negative one): it is still pending, use it.
            pending = _api("GET", f"/api/{owner['user_id']}/lists/{list_id}/invitations", owner["token"]).json()
            return next(i["id"] for i in pending if i["email"] == user["email"])
        if detail == "Already a member of this list":
            # The last case accepted: leave, to be invited again.
            _api("DELETE", f"/api/{user['user_id']}/lists/{list_id}/members/{user['user_id']}", user["token"])
        else:
            inviter["sent"] = _INVITER_BUDGET
    raise RuntimeError(f"no invitation to {user['email']}: {resp.status_code} {resp.text}")


def _is_pending(owner: dict[str, str], list_id, invitation_id) -> bool:
    """Whether `invitation_id` names a pending invitation to a list `owner` owns."""
    try:
        uuid.UUID(str(list_id))
    except ValueError:
        return False
    resp = _api("GET", f"/api/{owner['user_id']}/lists/{list_id}/invitations", owner["token"], ok=(200, 403, 404))
    return resp.status_code == 200 and any(i["id"] == str(invitation_id) for i in resp.json())


def _substitute_list_ids(case, negated: set, positive: bool) -> dict[str, str] | None:
    """Real lists, members and invitations of the fuzzing user in place of generated ids. Returns
    the user to send the case as when it is not the fuzzing user."""
    route = (case.operation.path, case.operation.method.upper())
    params = case.path_parameters or {}

    def keep(name: str) -> bool:
        return name not in params or (name, ParameterLocation.PATH) in negated

    if route[0] == _MEMBER_ROUTE:
        if keep("list_id") and keep("member_id"):
            return None
        if route[1] == "DELETE":
            if not positive:
                return None
            list_id, member_id = _member_to_remove()
        else:
            list_id, member_id = _member_to_change()
        if not keep("list_id"):
            params["list_id"] = list_id
        if not keep("member_id"):
            params["member_id"] = member_id
        return None
    if route[0] in _ANSWER_ROUTES:
        if positive and not keep("invitation_id"):
            params["invitation_id"] = _invitation_to_fuzzing_user()
        return None
    if (
        route == _REVOKE
        and positive
        and not keep("list_id")
        and not keep("invitation_id")
        and ("user_id", ParameterLocation.PATH) not in negated
        and not _is_pending(session(), params["list_id"], params["invitation_id"])
    ):
        # Invitation ids seen in earlier answers are mostly the throwaway inviter's (`share`
        # below): it sends one more, which the case revokes.
        inviter = _inviter()
        inviter["sent"] += 1
        sent = _invite(inviter["user"], inviter["list"], f"schemathesis-{uuid.uuid4().hex[:12]}@example.com")
        if sent.status_code == 201:
            params["list_id"], params["invitation_id"] = inviter["list"], sent.json()["id"]
            return inviter["user"]
    need = _LIST_NEEDS.get(route)
    if need is None or keep("list_id"):
        return None
    if _serves(_list_of_fuzzing_user(params["list_id"]), need):
        return None
    if need == "delete":
        if positive:
            params["list_id"] = _new_list(session(), "Schemathesis (to delete)")
    elif need == "share":
        if positive and ("user_id", ParameterLocation.PATH) not in negated:
            # The fuzzing user keeps its 100 invitations a day for its own lists (the stateful
            # phase's, made by POST /lists); the rest are sent by the throwaway inviter.
            inviter = _inviter()
            inviter["sent"] += 1
            params["list_id"] = inviter["list"]
            return inviter["user"]
        params["list_id"] = _shared_list()
    else:
        params["list_id"] = _default_list() if need == "read" else _shared_list()
    return None


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
        if (
            "token_id" in case.path_parameters
            and ("token_id", ParameterLocation.PATH) not in negated
            and _is_positive(case)
        ):
            # A made-up token id is a 404 by design: delete one of the fuzzing user's tokens.
            case.path_parameters["token_id"] = _a_token_of(data)
        with _setup_lock:
            acting = _substitute_list_ids(case, negated, _is_positive(case))
        if acting is not None:
            case.headers["Authorization"] = f"Bearer {acting['token']}"
            case.path_parameters["user_id"] = acting["user_id"]
        if (
            case.query
            and case.query.get("list") is not None
            and ("list", ParameterLocation.QUERY) not in negated
            and _is_positive(case)
        ):
            with _setup_lock:
                if _list_of_fuzzing_user(case.query["list"]) is None:
                    case.query["list"] = _default_list()
        if case.query and "cursor" in case.query and ("cursor", ParameterLocation.QUERY) not in negated:
            cursor = _cursor_for(case.query, data)
            if cursor is None:
                del case.query["cursor"]
            else:
                case.query["cursor"] = cursor
        if case.query and "since" in case.query and ("since", ParameterLocation.QUERY) not in negated:
            case.query["since"] = data["since"]


def _a_token_of(data: dict[str, str]) -> str:
    """The id of a personal access token of the fuzzing user, made if it has none."""
    headers = {"Authorization": f"Bearer {data['token']}"}
    url = f"{BASE_URL}/api/{data['user_id']}/tokens"
    tokens = requests.get(url, headers=headers, timeout=30)
    tokens.raise_for_status()
    if tokens.json():
        return tokens.json()[0]["id"]
    made = requests.post(url, json={"name": "to delete", "scope": "read"}, headers=headers, timeout=30)
    made.raise_for_status()
    return made.json()["id"]


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
_INVITATIONS = "/api/{user_id}/lists/{list_id}/invitations"


def _is_positive(case) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


def _with_fresh_local_part(email: str) -> str:
    """The address with a local part no other case used, still within the limits (a local part of
    at most 64 characters, at most 255 once trimmed); unchanged when it is no address at all."""
    match = _LOCAL_PART.match(email)
    if match is None:
        return email
    fresh = uuid.uuid4().hex[:12]
    local = match.group(2)
    room = min(64, 255 - (len(email.strip()) - len(local)))
    if room < 1:
        return email
    local = f"{fresh}.{local}" if len(local) + 13 <= room else fresh[:room]
    return f"{match.group(1)}{local}@{email[match.end():]}"


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
        # A made-up parent is a 400 by contract, and so are an unknown zone and a rule outside the
        # subset (the schema cannot say which strings those are); a recurring task needs a due date.
        if case.body.get("parent_id") is not None:
            case.body["parent_id"] = None
        if "timezone" in case.body:
            case.body["timezone"] = "Europe/Berlin"
        if case.body.get("recurrence") is not None:
            case.body["recurrence"] = "FREQ=WEEKLY;BYDAY=MO,TH"
            case.body["due_at"] = "2027-01-04T09:00:00Z"
        elif "due_at" in case.body and case.body["due_at"] is None:
            case.body["recurrence"] = None
        return
    if route == (_INVITATIONS, "POST"):
        # An address already invited to the list, or of a member, is a 409 by contract.
        if isinstance(case.body.get("email"), str):
            case.body["email"] = _with_fresh_local_part(case.body["email"])
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
    if isinstance(email, str):
        case.body["email"] = _with_fresh_local_part(email)
