//! Migrations, outages, and TLS to PostgreSQL.

use crate::support::*;
use serde_json::json;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::{Duration, Instant};
use todo_api::db::embedded::Cluster;

#[test]
fn a_fresh_database_gets_the_schema_and_a_second_start_applies_nothing() {
    let url = empty_database();
    let app = TestApp::with(|c| c.database_url = Some(url.clone().into()));
    let mut db = connect(&url);
    assert_every_migration_applied(&mut db);
    for table in ["users", "tasks"] {
        let found: i64 = db
            .query_one(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = $1",
                &[&table],
            )
            .unwrap()
            .get(0);
        assert_eq!(found, 1, "{table}");
    }
    drop(app);
    assert!(todo_api::db::migrate::run(&mut db).unwrap().is_empty());
    let again = TestApp::with(|c| c.database_url = Some(url.clone().into()));
    assert_eq!(again.get("/health", None).status, 200);
}

#[test]
fn two_servers_starting_at_once_on_one_empty_database_both_come_up() {
    let url = empty_database();
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut config = test_config(url);
                config.workers = 2;
                config.db_pool_size = 2;
                todo_api::start(config)
            })
        })
        .collect();
    let servers: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().unwrap().expect("both servers start"))
        .collect();
    for server in &servers {
        let mut raw = Raw::connect(server.local_addr());
        raw.send(&get_request("/health"));
        let raw = raw.response().map(|r| r.body).unwrap_or_default();
        assert!(raw.contains("\"database\":\"ok\""), "{raw}");
    }
    let count: i64 = connect(&url)
        .query_one("SELECT count(*) FROM schema_migrations", &[])
        .unwrap()
        .get(0);
    assert_eq!(count as usize, todo_api::db::migrate::versions().len());
}

#[test]
fn a_stopped_database_gives_503_quickly_and_service_resumes_when_it_returns() {
    let dir = temp_dir("outage");
    let pgdata = dir.join("pg");
    let mut cluster = Cluster::start(&pgdata, 5432, &fast_settings()).expect("start a cluster");
    let url = format!(
        "host={} port=5432 user=postgres dbname=postgres",
        cluster.pgdata.display()
    );
    let app = TestApp::with(|c| {
        c.database_url = Some(url.clone().into());
        c.db_timeout = Duration::from_secs(2);
    });
    let user = app.user();
    assert_eq!(app.get("/api/auth/me", Some(&user.token)).status, 200);

    cluster.stop();
    let started = Instant::now();
    let resp = app.get("/api/auth/me", Some(&user.token));
    assert_eq!(resp.status, 503, "{}", resp.body);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(resp.detail(), "Service temporarily unavailable");
    assert!(resp.header("retry-after").is_some());
    let health = app.get("/health", None);
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["database"], "unavailable");

    let _cluster = Cluster::start(&pgdata, 5432, &fast_settings()).expect("restart the cluster");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let resp = app.get("/api/auth/me", Some(&user.token));
        if resp.status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never recovered: {} {}",
            resp.status,
            resp.body
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(app.get("/health", None).json()["database"], "ok");
}

#[test]
fn sslmode_require_connects_over_tls_to_a_server_with_a_self_signed_certificate() {
    let dir = temp_dir("tls");
    let pgdata = dir.join("pg");
    Cluster::start(&pgdata, 5432, &fast_settings())
        .expect("initialise a cluster")
        .stop();
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .args(["-addext", "subjectAltName=DNS:localhost"])
        .arg("-keyout")
        .arg(pgdata.join("server.key"))
        .arg("-out")
        .arg(pgdata.join("server.crt"))
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let owner = std::fs::metadata(&pgdata).unwrap();
    for file in ["server.key", "server.crt"] {
        let path = pgdata.join(file);
        std::os::unix::fs::chown(&path, Some(owner.uid()), Some(owner.gid())).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    // Plain TCP connections are rejected, so only TLS can succeed.
    std::fs::write(
        pgdata.join("pg_hba.conf"),
        "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 0.0.0.0/0 reject\n",
    )
    .unwrap();
    let port = free_port();
    let mut settings = fast_settings();
    settings.extend([
        ("ssl", "on"),
        ("ssl_cert_file", "server.crt"),
        ("ssl_key_file", "server.key"),
        ("listen_addresses", "127.0.0.1"),
    ]);
    let cluster = Cluster::start(&pgdata, port, &settings).expect("start with ssl=on");

    let plain = format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=disable");
    assert!(
        todo_api::db::Target::from_url(&plain, Duration::from_secs(2))
            .unwrap()
            .connect()
            .is_err()
    );

    let secure = format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=require");
    let app = TestApp::with(|c| c.database_url = Some(secure.into()));
    assert_eq!(app.get("/health", None).json()["database"], "ok");
    let user = app.user();
    assert_eq!(app.get("/api/auth/me", Some(&user.token)).status, 200);

    let mut admin = cluster.config().connect(postgres::NoTls).unwrap();
    let tls: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE ssl AND application_name = 'todo-api'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(tls > 0, "no TLS connection from the server");

    let verified = format!(
        "postgres://postgres@localhost:{port}/postgres?sslmode=verify-full&sslrootcert={}",
        pgdata.join("server.crt").display()
    );
    let target = todo_api::db::Target::from_url(&verified, Duration::from_secs(2)).unwrap();
    assert!(
        target.connect().is_ok(),
        "verify-full against the right root certificate"
    );
    let wrong_root = format!("postgres://postgres@localhost:{port}/postgres?sslmode=verify-full");
    let target = todo_api::db::Target::from_url(&wrong_root, Duration::from_secs(2)).unwrap();
    assert!(
        target.connect().is_err(),
        "a self-signed certificate must fail verification against the system roots"
    );
}

/// A toggle changes no indexed column, so PostgreSQL updates the row in place (HOT) and adds no
/// index entry; the orders that follow every write live in `list_changes`.
#[test]
fn toggling_a_task_updates_its_row_in_place_without_touching_its_indexes() {
    let app = TestApp::spawn();
    let user = app.user();
    let task = create(&app, &user, json!({ "title": "flip me", "tags": ["a"] }));
    let toggle = format!("/api/{}/tasks/{}/complete", user.id, id_of(&task));
    for _ in 0..10 {
        assert_eq!(
            app.send("PATCH", &toggle, Some(&user.token), None).status,
            200
        );
    }
    // The server's connections report their statistics once idle, within about a second. On
    // Citus they are the shards', on the workers.
    let stats = match on_citus() {
        false => "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'tasks'",
        true => {
            "SELECT sum(split_part(result, ' ', 1)::bigint)::bigint,
                    sum(split_part(result, ' ', 2)::bigint)::bigint
             FROM run_command_on_shards('tasks', $$SELECT n_tup_upd || ' ' || n_tup_hot_upd
                                                   FROM pg_stat_user_tables
                                                   WHERE relid = '%s'::regclass$$)"
        }
    };
    let mut db = app.sql();
    let deadline = Instant::now() + Duration::from_secs(30);
    let (updated, hot) = loop {
        let row = db.query_one(stats, &[]).unwrap();
        let (updated, hot): (i64, i64) = (row.get(0), row.get(1));
        if updated >= 10 || Instant::now() > deadline {
            break (updated, hot);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(updated, 10, "the ten toggles were counted");
    assert_eq!(hot, 10, "every toggle was a HOT update");
}
