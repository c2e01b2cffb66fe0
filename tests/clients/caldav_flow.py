#!/usr/bin/env python3
"""A CalDAV session as the python `caldav` library (PyPI) drives it, step by step.

Discovery from the server's root URL (principal -> calendar home -> calendars), a new calendar
(MKCALENDAR at a name of the client's choosing), VTODOs created, edited, completed and deleted, an
incremental sync-collection (RFC 6578) before and after those changes, and - when a second account
is given - that account finding a list shared with it as a viewer, reading it, and being refused
every write.

Each step prints one JSON line ({"step": ..., ...}: the hrefs, uids and tokens it saw) on stdout;
the first failure prints {"step": ..., "error": ...} and exits 1. Whoever runs this (the Rust test
tests/api/caldav_clients.rs) checks the printed uids and hrefs against the REST API.

Arguments (or the environment variable in brackets):
  --url           the server's root URL, e.g. http://127.0.0.1:8000/        [CALDAV_URL]
  --user          the account's e-mail                                       [CALDAV_USER]
  --token         a personal access token (`todo_...`) with scope write      [CALDAV_TOKEN]
  --viewer-user   a second account's e-mail                                  [CALDAV_VIEWER_USER]
  --viewer-token  its token                                                  [CALDAV_VIEWER_TOKEN]
  --shared-name   the display name of the list shared with it as a viewer   [CALDAV_SHARED_NAME]
  --shared-url    the shared calendar's URL, for servers without sharing (Radicale with a rights
                  file): the viewer then reads it there instead of finding it in its home
                                                                             [CALDAV_SHARED_URL]
  --tag           a word put in every name this run makes (default: random) [CALDAV_TAG]
"""

import argparse
import json
import os
import sys
import traceback
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import caldav
from caldav.lib import error

CURRENT = {"step": "start"}


def emit(step, **fields):
    print(json.dumps({"step": step, **fields}, default=str), flush=True)


class Failed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failed(message)


@contextmanager
def step(name):
    CURRENT["step"] = name
    yield


def text(component, name):
    value = component.get(name)
    return None if value is None else str(value)


def display_name(calendar):
    return calendar.get_display_name()


def vtodo(uid, summary, extra=""):
    """A VTODO as a task app writes one: with an alarm and a property of the app's own."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return (
        "BEGIN:VCALENDAR\r\n"
        "VERSION:2.0\r\n"
        "PRODID:-//todo-api tests//caldav_flow.py//EN\r\n"
        "BEGIN:VTODO\r\n"
        f"UID:{uid}\r\n"
        f"DTSTAMP:{stamp}\r\n"
        f"SUMMARY:{summary}\r\n"
        "DESCRIPTION:Made by the python caldav library\r\n"
        "PRIORITY:5\r\n"
        "DUE;VALUE=DATE:20300115\r\n"
        "CATEGORIES:errands,home\r\n"
        "X-CALDAV-FLOW-KEEP:kept verbatim\r\n"
        f"{extra}"
        "BEGIN:VALARM\r\n"
        "ACTION:DISPLAY\r\n"
        "DESCRIPTION:Reminder\r\n"
        "TRIGGER:-PT15M\r\n"
        "END:VALARM\r\n"
        "END:VTODO\r\n"
        "END:VCALENDAR\r\n"
    )


def fetch(calendar, url):
    """The object at `url`, read again from the server (GET)."""
    obj = caldav.Todo(client=calendar.client, url=url, parent=calendar)
    obj.load()
    return obj


def hrefs(objects):
    return sorted(str(o.url.canonical()) for o in objects)


def run(args):
    tag = args.tag or uuid.uuid4().hex[:8]

    with step("discover"):
        client = caldav.DAVClient(url=args.url, username=args.user, password=args.token)
        principal = client.principal()
        home = principal.calendar_home_set
        calendars = principal.calendars()
        emit(
            "discover",
            principal=str(principal.url),
            home=str(home.url),
            calendars=[{"href": str(c.url), "name": display_name(c)} for c in calendars],
        )
        check(str(principal.url) != str(client.url), "the principal is its own URL, not the root")

    with step("mkcalendar"):
        cal_id = f"groceries-{tag}"
        cal_name = f"Groceries {tag}"
        calendar = principal.make_calendar(
            name=cal_name, cal_id=cal_id, supported_calendar_component_set=["VTODO"]
        )
        check(str(calendar.url).rstrip("/").endswith("/" + cal_id), f"made at {calendar.url}")
        # Found again by discovery, under the client's name, with the display name it was given.
        again = [c for c in caldav.DAVClient(url=args.url, username=args.user,
                                             password=args.token).principal().calendars()
                 if c.url.canonical() == calendar.url.canonical()]
        check(len(again) == 1, f"{calendar.url} is not in the calendar home after MKCALENDAR")
        check(display_name(again[0]) == cal_name, f"displayname {display_name(again[0])!r}")
        components = again[0].get_supported_components()
        check("VTODO" in components, f"supported-calendar-component-set {components}")
        emit("mkcalendar", href=str(calendar.url), cal_id=cal_id, name=cal_name,
             components=components)

    with step("create"):
        keep_uid, drop_uid = f"keep-{tag}-{uuid.uuid4()}", f"drop-{tag}-{uuid.uuid4()}"
        keep = calendar.add_todo(vtodo(keep_uid, f"Buy milk {tag}"), no_overwrite=True)
        drop = calendar.add_todo(vtodo(drop_uid, f"Buy bread {tag}"), no_overwrite=True)
        for obj, uid in ((keep, keep_uid), (drop, drop_uid)):
            got = fetch(calendar, obj.url).icalendar_component
            check(text(got, "UID") == uid, f"UID {text(got, 'UID')} at {obj.url}")
        emit("create", uid=keep_uid, href=str(keep.url), title=f"Buy milk {tag}")
        emit("create", uid=drop_uid, href=str(drop.url), title=f"Buy bread {tag}")

    with step("sync_initial"):
        initial = calendar.objects_by_sync_token(load_objects=False, disable_fallback=True)
        token = initial.sync_token
        check(token and not str(token).startswith("fake-"), f"no real sync-token: {token!r}")
        check(hrefs(initial) == hrefs([keep, drop]), f"initial sync lists {hrefs(initial)}")
        emit("sync_initial", sync_token=str(token), hrefs=hrefs(initial))

    with step("edit"):
        obj = fetch(calendar, keep.url)
        etag_before = obj.etag
        component = obj.icalendar_component
        component["SUMMARY"] = f"Buy oat milk {tag}"
        del component["PRIORITY"]
        component.add("PRIORITY", 1)
        obj.save()
        got = fetch(calendar, keep.url)
        summary = text(got.icalendar_component, "SUMMARY")
        check(summary == f"Buy oat milk {tag}", f"SUMMARY after the edit: {summary!r}")
        check(got.etag != etag_before, f"the ETag {got.etag} did not change with the edit")
        data = got.data
        check("X-CALDAV-FLOW-KEEP:kept verbatim" in data, f"X- property lost:\n{data}")
        check("BEGIN:VALARM" in data, f"VALARM lost:\n{data}")
        emit("edit", uid=keep_uid, href=str(keep.url), title=summary, etag=got.etag)

    with step("complete"):
        # Done a day ago on a phone that was offline until now: the COMPLETED it wrote stands.
        done_at = (datetime.now(timezone.utc) - timedelta(days=1)).replace(microsecond=0)
        obj = fetch(calendar, keep.url)
        obj.complete(completion_timestamp=done_at)
        done = fetch(calendar, keep.url)
        got = done.icalendar_component
        check(text(got, "STATUS") == "COMPLETED", f"STATUS {text(got, 'STATUS')}")
        completed = got.get("COMPLETED")
        check(completed is not None and completed.dt == done_at,
              f"COMPLETED written {done_at:%Y%m%dT%H%M%SZ}, read back {completed and completed.dt}:"
              f"\n{done.data}")
        pending = calendar.todos()
        everything = calendar.todos(include_completed=True)
        check(keep.url.canonical() not in [o.url.canonical() for o in pending],
              f"a completed task among the pending ones: {hrefs(pending)}")
        check(hrefs(everything) == hrefs([keep, drop]),
              f"todos(include_completed=True): {hrefs(everything)}")
        emit("complete", uid=keep_uid, href=str(keep.url), etag=done.etag,
             completed_at=done_at.strftime("%Y-%m-%dT%H:%M:%SZ"), pending=hrefs(pending))

    with step("delete"):
        drop.delete()
        try:
            fetch(calendar, drop.url)
            raise Failed(f"{drop.url} is still there after DELETE")
        except error.NotFoundError:
            pass
        emit("delete", uid=drop_uid, href=str(drop.url))

    with step("sync_incremental"):
        changes = calendar.objects_by_sync_token(token, load_objects=True, disable_fallback=True)
        changed = sorted(str(o.url.canonical()) for o in changes
                         if o.url.canonical() not in changes.deleted_urls)
        deleted = sorted(str(u) for u in changes.deleted_urls)
        check(changed == [str(keep.url.canonical())], f"changed since {token}: {changed}")
        check(deleted == [str(drop.url.canonical())], f"deleted since {token}: {deleted}")
        check(str(changes.sync_token) != str(token), "the sync-token did not move")
        loaded = [o for o in changes if o.url.canonical() == keep.url.canonical()][0]
        check(text(loaded.icalendar_component, "STATUS") == "COMPLETED", "synced copy not done")
        nothing = calendar.objects_by_sync_token(changes.sync_token, disable_fallback=True)
        check(len(nothing) == 0 and not nothing.deleted_urls,
              f"changes after the newest token: {hrefs(nothing)} {nothing.deleted_urls}")
        emit("sync_incremental", since=str(token), sync_token=str(changes.sync_token),
             changed=changed, deleted=deleted)

    if not args.viewer_user:
        return
    with step("viewer_discover"):
        viewer = caldav.DAVClient(url=args.url, username=args.viewer_user,
                                  password=args.viewer_token)
        vprincipal = viewer.principal()
        vcalendars = vprincipal.calendars()
        check(str(vprincipal.url) != str(principal.url), "both accounts have one principal")
        if args.shared_url:
            shared = vprincipal.calendar(cal_url=args.shared_url)
        else:
            found = [c for c in vcalendars if display_name(c) == args.shared_name]
            check(len(found) == 1, f"{args.shared_name!r} among the viewer's calendars: "
                  f"{[(str(c.url), display_name(c)) for c in vcalendars]}")
            shared = found[0]
        seen = shared.todos(include_completed=True)
        titles = sorted(text(o.icalendar_component, "SUMMARY") for o in seen)
        check(seen, f"the shared list {shared.url} shows the viewer no task")
        emit("viewer_discover", principal=str(vprincipal.url), href=str(shared.url),
             name=display_name(shared), titles=titles, hrefs=hrefs(seen))

    with step("viewer_write_refused"):
        refused = []
        try:
            shared.add_todo(vtodo(f"viewer-{tag}-{uuid.uuid4()}", f"Viewer was here {tag}"))
            raise Failed("the viewer created a task in a list it may only read")
        except error.AuthorizationError as e:
            refused.append({"write": "PUT new", "error": type(e).__name__})
        target = seen[0]
        target.load()
        target.icalendar_component["SUMMARY"] = f"Viewer edit {tag}"
        try:
            target.save()
            raise Failed(f"the viewer edited {target.url} in a list it may only read")
        except error.AuthorizationError as e:
            refused.append({"write": "PUT edit", "error": type(e).__name__})
        try:
            target.delete()
            raise Failed(f"the viewer deleted {target.url} in a list it may only read")
        except error.AuthorizationError as e:
            refused.append({"write": "DELETE", "error": type(e).__name__})
        after = shared.todos(include_completed=True)
        after_titles = sorted(text(o.icalendar_component, "SUMMARY") for o in after)
        check(after_titles == titles, f"the shared list changed: {titles} -> {after_titles}")
        emit("viewer_write_refused", href=str(shared.url), refused=refused)


def main():
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=env("CALDAV_URL"))
    parser.add_argument("--user", default=env("CALDAV_USER"))
    parser.add_argument("--token", default=env("CALDAV_TOKEN"))
    parser.add_argument("--viewer-user", default=env("CALDAV_VIEWER_USER"))
    parser.add_argument("--viewer-token", default=env("CALDAV_VIEWER_TOKEN"))
    parser.add_argument("--shared-name", default=env("CALDAV_SHARED_NAME"))
    parser.add_argument("--shared-url", default=env("CALDAV_SHARED_URL"))
    parser.add_argument("--tag", default=env("CALDAV_TAG"))
    args = parser.parse_args()
    missing = [n for n in ("url", "user", "token") if not getattr(args, n)]
    if args.viewer_user and not (args.viewer_token and (args.shared_name or args.shared_url)):
        missing.append("viewer-token and shared-name (or shared-url)")
    if missing:
        parser.error("missing: " + ", ".join(missing))
    try:
        run(args)
    except Exception as e:  # every failure, the library's own included, ends the run
        emit(CURRENT["step"], error=f"{type(e).__name__}: {e}",
             traceback=traceback.format_exc())
        return 1
    emit("done", caldav=caldav.__version__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
