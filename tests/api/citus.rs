//! Citus: the migrations distribute the tables when the database has workers, and leave plain
//! PostgreSQL as it is. `TEST_CITUS=1` runs every test server against a coordinator and two
//! workers (support/citus.rs).

use crate::support::*;

/// Each table's kind in Citus's metadata: `h` distributed by hash, `n` with one shard everywhere
/// (a reference table); and the group of tables whose shards live together.
fn layout(app: &TestApp) -> Vec<(String, String, i32)> {
    app.sql()
        .query(
            "SELECT logicalrelid::regclass::text, partmethod::text, colocationid
             FROM pg_dist_partition ORDER BY 1",
            &[],
        )
        .expect("read pg_dist_partition")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

#[test]
fn on_citus_a_list_and_everything_numbered_in_it_share_a_shard_and_what_all_statements_join_is_everywhere(
) {
    let app = TestApp::spawn();
    if !on_citus() {
        let citus: i64 = app
            .sql()
            .query_one(
                "SELECT count(*) FROM pg_extension WHERE extname = 'citus'",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(citus, 0, "plain PostgreSQL has no citus extension");
        return;
    }
    let layout = layout(&app);
    let kind = |table: &str| {
        layout
            .iter()
            .find(|(t, _, _)| t == table)
            .unwrap_or_else(|| panic!("{table} is not in Citus's metadata: {layout:?}"))
    };
    let lists = kind("lists").2;
    for table in [
        "lists",
        "tasks",
        "list_changes",
        "list_tombstones",
        "invitations",
        "dav_gone",
    ] {
        let (_, method, group) = kind(table);
        assert_eq!((method.as_str(), *group), ("h", lists), "{table}");
    }
    for table in [
        "users",
        "sessions",
        "access_tokens",
        "memberships",
        "list_feed",
    ] {
        let replicated: bool = app
            .sql()
            .query_one(
                "SELECT repmodel = 't' FROM pg_dist_partition
                 WHERE logicalrelid = $1::text::regclass",
                &[&table],
            )
            .unwrap()
            .get(0);
        assert!(replicated, "{table} is a reference table");
    }
}

#[test]
fn a_task_created_toggled_listed_and_deleted_reads_back_the_same_on_plain_postgresql_and_citus() {
    let app = TestApp::spawn();
    let user = app.user();
    let task = app.task(&user, "Water the plants");
    let path = task_path(&user, id_of(&task));
    let toggled = app.send(
        "PATCH",
        &format!("{path}/complete"),
        Some(&user.token),
        None,
    );
    assert_eq!(toggled.status, 200, "{}", toggled.body);
    assert_eq!(toggled.json()["completed"], true);
    let tasks = list(&app, &user, "");
    assert_eq!(ids(&tasks), vec![id_of(&task)]);
    assert_eq!(tasks[0]["completed"], true);
    let deleted = app.send("DELETE", &path, Some(&user.token), None);
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert!(list(&app, &user, "").is_empty());
}
