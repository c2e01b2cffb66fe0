//! Behind PgBouncer 1.18 in transaction pooling mode (no prepared statements across transactions)
//! with `DB_STATEMENTS=unnamed`: two instances share one pooled database. `.ci/run` also runs the
//! whole API suite this way (`TEST_PGBOUNCER=1`); these run in every `cargo test` where PgBouncer
//! is installed.

use crate::support::*;
use serde_json::json;
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
