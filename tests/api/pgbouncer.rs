//! Behind PgBouncer 1.18 in transaction pooling mode (no prepared statements across transactions)
//! with `DB_STATEMENTS=unnamed`: two instances share one pooled database. `.ci/run` also runs the
//! whole API suite this way (`TEST_PGBOUNCER=1`); these run in every `cargo test` where PgBouncer
//! is installed.

use crate::support::*;
use serde_json::json;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;
use todo_api::config::{Config, DbStatements};

fn pooled(url: &str) -> impl Fn(&mut Config) + '_ {
    move |c: &mut Config| {
        c.database_url = Some(url.to_string().into());
        c.db_statements = DbStatements::Unnamed;
    }
}

#[test]
fn two_instances_serve_the_whole_api_through_pgbouncer_transaction_pooling() {
    let direct = fresh_database();
    let Some(url) = via_pgbouncer(&direct) else {
        return;
    };
    let a = TestApp::on(direct, pooled(&url));
    let b = a.beside(pooled(&url));
    assert_eq!(a.get("/health/ready", None).status, 200);
    let user = a.user();
    let signin = b.signin(&user.email, PASSWORD);
    assert_eq!(signin.status, 200, "{}", signin.body);
    let token_b = signin.json()["access_token"].as_str().unwrap().to_string();
    let created = create_many(&a, &user, 30, "pooled");
    let listed = list(&b, &user, "");
    assert_eq!(listed.len(), 30);
    let id = created[0];
    let path = task_path(&user, id);
    let put = b.send(
        "PUT",
        &path,
        Some(&token_b),
        Some(json!({ "title": "renamed", "description": "through PgBouncer", "completed": false })),
    );
    assert_eq!(put.status, 200, "{}", put.body);
    let toggled = a.send(
        "PATCH",
        &format!("{path}/complete"),
        Some(&user.token),
        None,
    );
    assert_eq!(toggled.status, 200, "{}", toggled.body);
    assert_eq!(toggled.json()["completed"], true);
    let done = list(&b, &user, "?status=completed");
    assert_eq!(ids(&done), [id]);
    assert_eq!(b.send("DELETE", &path, Some(&token_b), None).status, 200);
    assert_eq!(a.get(&path, Some(&user.token)).status, 404);
    // Signing out everywhere on one instance ends both tokens on the other at once.
    let revoke = a.send("DELETE", "/api/auth/sessions", Some(&user.token), None);
    assert_eq!(revoke.status, 204, "{}", revoke.body);
    assert_eq!(b.get("/api/auth/me", Some(&token_b)).status, 401);
    assert_eq!(b.get("/api/auth/me", Some(&user.token)).status, 401);
    let count: i64 = a
        .sql()
        .query_one("SELECT count(*) FROM tasks", &[])
        .unwrap()
        .get(0);
    assert_eq!(count, 29);
}

#[test]
fn instances_starting_together_through_pgbouncer_apply_the_migrations_once() {
    let direct = empty_database();
    let Some(url) = via_pgbouncer(&direct) else {
        return;
    };
    let starts: Vec<_> = (0..3)
        .map(|_| {
            let (direct, url) = (direct.clone(), url.clone());
            std::thread::spawn(move || TestApp::on(direct, pooled(&url)))
        })
        .collect();
    let apps: Vec<TestApp> = starts.into_iter().map(|t| t.join().unwrap()).collect();
    let user = apps[0].user();
    assert_eq!(apps[2].get("/api/auth/me", Some(&user.token)).status, 200);
    assert_every_migration_applied(&mut connect(&direct));
}

#[test]
fn unnamed_statements_survive_server_connections_being_recycled_under_them() {
    let direct = fresh_database();
    let Some(url) = via_pgbouncer(&direct) else {
        return;
    };
    let app = TestApp::on(direct, pooled(&url));
    let user = app.user();
    app.task(&user, "before");
    // Every server connection of this database goes; PgBouncer opens new ones, on which no
    // statement of ours was ever prepared.
    let name = app
        .db_url
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("dbname="))
        .unwrap()
        .to_string();
    app.sql()
        .batch_execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ))
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let mut created = 0;
    for i in 0..20 {
        let resp = app.send(
            "POST",
            &tasks_path(&user),
            Some(&user.token),
            Some(json!({ "title": format!("after {i}") })),
        );
        if resp.status == 201 {
            created += 1;
        }
    }
    assert!(
        created >= 19,
        "only {created} of 20 created after the recycle"
    );
    assert_eq!(list(&app, &user, "").len(), 1 + created);
}

/// Inodes of the listening TCP sockets of this network namespace.
fn tcp_listening_inodes() -> Vec<String> {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .flat_map(|text| {
            text.lines()
                .skip(1)
                .map(|line| line.split_whitespace().map(str::to_string).collect())
                .filter(|fields: &Vec<String>| fields.len() > 9 && fields[3] == "0A")
                .map(|fields| fields[9].clone())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Inodes of the sockets process `pid` holds.
fn socket_inodes(pid: u32) -> Vec<String> {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).expect("PgBouncer's descriptors");
    fds.flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy();
            Some(
                target
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_string(),
            )
        })
        .collect()
}

#[test]
fn another_local_user_cannot_connect_through_pgbouncer_which_listens_on_no_tcp_port() {
    let direct = fresh_database();
    let Some(url) = via_pgbouncer(&direct) else {
        return;
    };
    let pgbouncer = pgbouncer().expect("PgBouncer runs");
    let sockets = socket_inodes(pgbouncer.pid);
    assert!(!sockets.is_empty(), "PgBouncer holds no socket");
    let listening = tcp_listening_inodes();
    assert!(
        sockets.iter().all(|inode| !listening.contains(inode)),
        "PgBouncer listens on a TCP port"
    );

    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!(
            "SKIPPED the part as another user: only root can run a client as `nobody` (CI runs as root)"
        );
        return;
    }
    // SAFETY: getpwnam gets a NUL-terminated name; the fields are copied out before any other call.
    let nobody = unsafe {
        let pw = libc::getpwnam(c"nobody".as_ptr());
        assert!(!pw.is_null(), "no user nobody");
        ((*pw).pw_uid, (*pw).pw_gid)
    };
    let psql = todo_api::db::embedded::find_bindir()
        .expect("the PostgreSQL binaries")
        .join("psql");
    let select = |user: Option<(u32, u32)>| {
        let mut cmd = Command::new(&psql);
        cmd.args(["-X", "-At", "-c", "SELECT 1", &url])
            .current_dir("/")
            .env_clear();
        if let Some((uid, gid)) = user {
            cmd.uid(uid).gid(gid);
        }
        cmd.output().expect("run psql")
    };
    let out = select(None);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1\n", "{out:?}");
    let out = select(Some(nobody));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "nobody connected through PgBouncer");
    assert!(err.contains("Permission denied"), "{err}");
}
