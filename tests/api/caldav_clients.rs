//! CalDAV with the clients people use, not hand-written requests: the python `caldav` library
//! (tests/clients/caldav_flow.py, from PyPI into a venv under target/) and vdirsyncer with todoman
//! (tests/clients/todoman_flow.sh, Debian's packages), each step checked against the REST API.

use crate::support::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const CLIENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients");

/// The venv's python with the pinned `caldav`, made by tests/clients/caldav_venv.sh at the first
/// call of this test process.
fn python_with_caldav() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let out = Command::new("bash")
            .arg(format!("{CLIENTS}/caldav_venv.sh"))
            .output()
            .expect("run tests/clients/caldav_venv.sh");
        assert!(
            out.status.success(),
            "tests/clients/caldav_venv.sh could not install the python caldav library:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
}

/// Fails, never skips, without Debian's clients: `.ci/run` installs them.
fn require_vdirsyncer_and_todoman() {
    for tool in ["vdirsyncer", "todoman"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|out| out.status.success());
        assert!(
            found,
            "{tool} is not installed: apt-get install vdirsyncer todoman (as .ci/run does)"
        );
    }
}

/// A personal access token of `user` with scope `write`.
fn personal_token(app: &TestApp, user: &User) -> String {
    let resp = app.send(
        "POST",
        &format!("/api/{}/tokens", user.id),
        Some(&user.token),
        Some(json!({ "name": "CalDAV client", "scope": "write" })),
    );
    assert_eq!(resp.status, 201, "{}", resp.body);
    let token = resp.json()["token"].as_str().expect("token").to_string();
    assert!(token.starts_with("todo_"), "{token}");
    token
}

/// A client script's run: its JSON lines by step, and everything it printed for a failure message.
struct Run {
    lines: Vec<Value>,
    printed: String,
}

impl Run {
    fn of(what: &str, out: Output) -> Run {
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let printed = format!(
            "{what} ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{printed}");
        let lines = stdout
            .lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}\n{printed}"))
            })
            .collect();
        Run { lines, printed }
    }

    /// Every line of the step `name`, at least one.
    fn all(&self, name: &str) -> Vec<&Value> {
        let found: Vec<&Value> = self.lines.iter().filter(|l| l["step"] == name).collect();
        assert!(!found.is_empty(), "no step {name}:\n{}", self.printed);
        found
    }

    fn step(&self, name: &str) -> &Value {
        let found = self.all(name);
        assert_eq!(
            found.len(),
            1,
            "step {name} printed twice:\n{}",
            self.printed
        );
        found[0]
    }
}

fn text(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
}

/// The tasks `user` sees over REST with this UID (any list, done or not).
fn tasks_with_uid(app: &TestApp, user: &User, uid: &str) -> Vec<Value> {
    tasks_seen(app, user, "?status=all")
        .into_iter()
        .filter(|t| t["uid"] == uid)
        .collect()
}

fn one_task_with_uid(app: &TestApp, user: &User, uid: &str) -> Value {
    let mut found = tasks_with_uid(app, user, uid);
    assert_eq!(found.len(), 1, "one task with UID {uid}: {found:?}");
    found.remove(0)
}

#[test]
fn python_caldav_discovers_makes_a_calendar_and_its_tasks_and_syncs_and_rest_sees_every_step() {
    let python = python_with_caldav();
    let app = TestApp::spawn();
    let owner = named_user(&app, "Olive Owner");
    let viewer = named_user(&app, "Vic Viewer");
    let shared_id = share(&app, &owner, &viewer, "viewer");
    let shared_name = text(&list_of(&app, &owner, &shared_id)["name"]).to_string();
    task_in(&app, &owner, &shared_id, "Water the plants");
    let tag = format!("t{}", unique());
    let mut names_before: Vec<String> = lists_of(&app, &owner)
        .iter()
        .map(|l| text(&l["name"]).to_string())
        .collect();
    names_before.sort_unstable();

    let out = Command::new(python)
        .arg(format!("{CLIENTS}/caldav_flow.py"))
        .args(["--url", &app.url("/")])
        .args([
            "--user",
            &owner.email,
            "--token",
            &personal_token(&app, &owner),
        ])
        .args(["--viewer-user", &viewer.email])
        .args(["--viewer-token", &personal_token(&app, &viewer)])
        .args(["--shared-name", &shared_name, "--tag", &tag])
        .output()
        .expect("run caldav_flow.py");
    let run = Run::of("caldav_flow.py", out);

    // Discovery: the owner's principal and home, one calendar per list REST showed before.
    let discover = run.step("discover");
    let principal = format!("/dav/principals/{}/", owner.id);
    let home = format!("/dav/calendars/{}/", owner.id);
    assert!(
        text(&discover["principal"]).ends_with(&principal),
        "{discover}"
    );
    assert!(text(&discover["home"]).ends_with(&home), "{discover}");
    let mut seen: Vec<String> = discover["calendars"]
        .as_array()
        .expect("calendars")
        .iter()
        .map(|c| text(&c["name"]).to_string())
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, names_before, "{discover}");

    // MKCALENDAR: a new list of the owner's, at the client's name under the home.
    let made = run.step("mkcalendar");
    let href = text(&made["href"]);
    assert!(href.ends_with(&format!("{home}groceries-{tag}/")), "{made}");
    let lists = lists_of(&app, &owner);
    let groceries: Vec<&Value> = lists
        .iter()
        .filter(|l| l["name"] == format!("Groceries {tag}"))
        .collect();
    assert_eq!(groceries.len(), 1, "{lists:?}");
    assert_eq!(groceries[0]["role"], "owner", "{lists:?}");
    let groceries_id = id_str(groceries[0]);

    // Created, edited, completed: one task in that list, with every field the client wrote.
    let created = run.all("create");
    assert_eq!(created.len(), 2, "{}", run.printed);
    let keep_uid = text(&created[0]["uid"]);
    let drop_uid = text(&created[1]["uid"]);
    assert!(
        text(&created[0]["href"]).starts_with(href),
        "{}",
        created[0]
    );
    assert_eq!(run.step("edit")["uid"], keep_uid);
    assert_eq!(run.step("complete")["uid"], keep_uid);
    let task = one_task_with_uid(&app, &owner, keep_uid);
    assert_eq!(task["title"], format!("Buy oat milk {tag}"), "{task}");
    assert_eq!(task["description"], "Made by the python caldav library");
    assert_eq!(task["priority"], "high", "PRIORITY:1 is high: {task}");
    assert_eq!(task["tags"], json!(["errands", "home"]), "{task}");
    assert!(
        text(&task["due_at"]).starts_with("2030-01-1"),
        "DUE;VALUE=DATE:20300115: {task}"
    );
    assert_eq!(task["completed"], true, "{task}");
    let complete = run.step("complete");
    assert_eq!(
        timestamp(&task["completed_at"]),
        timestamp(&complete["completed_at"]),
        "the COMPLETED the client wrote: {task}"
    );
    assert_eq!(task["list_id"], groceries_id.as_str(), "{task}");
    assert_eq!(task["created_by"], owner.id.as_str(), "{task}");
    // One task, one ETag: what the client last read over CalDAV is the REST one.
    let rest = app.get(&task_path(&owner, id_of(&task)), Some(&owner.token));
    assert_eq!(rest.header("etag"), complete["etag"].as_str(), "{complete}");

    // Deleted over CalDAV: gone over REST.
    assert_eq!(run.step("delete")["uid"], drop_uid);
    assert_eq!(tasks_with_uid(&app, &owner, drop_uid), Vec::<Value>::new());
    let in_groceries = tasks_seen(&app, &owner, &format!("?list={groceries_id}"));
    assert_eq!(ids(&in_groceries), vec![id_of(&task)], "{in_groceries:?}");

    // sync-collection from the token after creation: the completed task changed, the other gone.
    let sync = run.step("sync_incremental");
    assert_eq!(sync["changed"], json!([created[0]["href"]]), "{sync}");
    assert_eq!(sync["deleted"], json!([created[1]["href"]]), "{sync}");
    let initial = run.step("sync_initial");
    assert!(
        text(&initial["sync_token"]).starts_with("http://todo-api/sync/"),
        "{initial}"
    );

    // The viewer finds the shared list in its own home, reads it, and every write is refused.
    let viewed = run.step("viewer_discover");
    assert!(
        text(&viewed["href"]).contains(&format!("/dav/calendars/{}/", viewer.id)),
        "{viewed}"
    );
    assert_eq!(viewed["titles"], json!(["Water the plants"]), "{viewed}");
    let refused = run.step("viewer_write_refused");
    assert_eq!(
        refused["refused"].as_array().map(Vec::len),
        Some(3),
        "{refused}"
    );
    let shared_tasks = tasks_seen(&app, &owner, &format!("?list={shared_id}"));
    let titles: Vec<&str> = shared_tasks.iter().map(|t| text(&t["title"])).collect();
    assert_eq!(titles, ["Water the plants"], "{shared_tasks:?}");
    run.step("done");
}

#[test]
fn a_task_made_in_todoman_syncs_up_through_vdirsyncer_takes_a_rest_edit_back_and_completes() {
    require_vdirsyncer_and_todoman();
    let app = TestApp::spawn();
    let user = app.user();
    let inbox = inbox(&app, &user);
    let dir = temp_dir("todoman");
    let token = personal_token(&app, &user);
    let stage = |stage: &str, title: &str| {
        let out = Command::new("bash")
            .arg(format!("{CLIENTS}/todoman_flow.sh"))
            .args([stage, dir.to_str().expect("a UTF-8 path"), title])
            .env("TODOMAN_FLOW_URL", app.url("/"))
            .env("TODOMAN_FLOW_USER", &user.email)
            .env("TODOMAN_FLOW_TOKEN", &token)
            .env("TODOMAN_FLOW_LIST", text(&inbox["name"]))
            .output()
            .expect("run todoman_flow.sh");
        Run::of(&format!("todoman_flow.sh {stage}"), out)
    };

    // Made in todoman, synced up by vdirsyncer: REST has it in the inbox.
    let up = stage("up", "Call the plumber");
    let uid = text(&up.step("up")["uid"]).to_string();
    assert_eq!(
        up.step("up")["collection"],
        id_str(&inbox),
        "vdirsyncer found the inbox under its list id: {}",
        up.printed
    );
    let task = one_task_with_uid(&app, &user, &uid);
    assert_eq!(task["title"], "Call the plumber", "{task}");
    assert_eq!(
        task["priority"], "medium",
        "todoman's --priority medium: {task}"
    );
    assert_eq!(task["completed"], false, "{task}");
    assert_eq!(task["list_id"], inbox["id"], "{task}");

    // Changed over REST, synced down: todoman shows the new title; done there, synced up.
    let edit = app.send(
        "PUT",
        &task_path(&user, id_of(&task)),
        Some(&user.token),
        Some(json!({ "title": "Call the plumber today" })),
    );
    assert_eq!(edit.status, 200, "{}", edit.body);
    let down = stage("down", "Call the plumber today");
    assert_eq!(down.step("down")["uid"], uid.as_str(), "{}", down.printed);

    let task = one_task_with_uid(&app, &user, &uid);
    assert_eq!(task["title"], "Call the plumber today", "{task}");
    assert_eq!(task["completed"], true, "{task}");
    assert!(task["completed_at"].is_string(), "{task}");
    assert_eq!(
        tasks_seen(&app, &user, "?status=all").len(),
        1,
        "no copies of the task"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
