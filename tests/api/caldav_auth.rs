//! Who may speak CalDAV: HTTP Basic with the account's e-mail and a personal access token, or a
//! Bearer token; `401` with `WWW-Authenticate: Basic realm="todo-api"` otherwise; a read token reads
//! and every write is `403`; a deleted or expired token is `401` at once.

use crate::support::*;

fn assert_challenged(resp: &Resp, what: &str) {
    assert_eq!(resp.status, 401, "{what}: {}", resp.body);
    let challenge = resp
        .header("www-authenticate")
        .unwrap_or_else(|| panic!("{what}: no WWW-Authenticate: {:?}", resp.headers));
    assert_eq!(challenge, r#"Basic realm="todo-api""#, "{what}");
}

fn propfind_home(app: &TestApp, du: &DavUser, auth: Option<&str>) -> Resp {
    dav_request(
        app,
        "PROPFIND",
        &du.home(),
        auth,
        &[("Depth", "1"), ("Content-Type", XML_TYPE)],
        &propfind_body(&["d:displayname"]),
    )
}

#[test]
fn without_credentials_every_dav_request_is_401_with_a_basic_challenge() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let inbox = inbox_id(&app, &du.user);
    let task = app.task(&du.user, "secret");
    let object = du.object_of_uid(&inbox, task["uid"].as_str().unwrap());
    assert_challenged(&propfind_home(&app, &du, None), "PROPFIND home");
    assert_challenged(
        &dav_request(&app, "PROPFIND", "/dav/", None, &[("Depth", "0")], ""),
        "PROPFIND /dav/",
    );
    let get = dav_request(&app, "GET", &object, None, &[], "");
    assert_challenged(&get, "GET object");
    assert!(!get.body.contains("secret"), "{}", get.body);
    assert_challenged(
        &dav_request(
            &app,
            "PUT",
            &du.object(&inbox, "new.ics"),
            None,
            &[("Content-Type", "text/calendar")],
            &vtodo(&new_uid(), &["SUMMARY:sneaky"]),
        ),
        "PUT object",
    );
    assert_challenged(
        &dav_request(
            &app,
            "REPORT",
            &du.collection(&inbox),
            None,
            &[("Depth", "1")],
            &calendar_query(""),
        ),
        "REPORT",
    );
    assert_eq!(rest_count(&app, &du.user), 1, "nothing was stored");
}

#[test]
fn a_wrong_token_a_password_or_someone_elses_email_is_401() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let other = dav_user(&app);
    let made_up = basic(
        &du.user.email,
        "todo_not-a-real-token-at-all-0123456789abcdef",
    );
    assert_challenged(&propfind_home(&app, &du, Some(&made_up)), "a made-up token");
    let password = basic(&du.user.email, PASSWORD);
    assert_challenged(
        &propfind_home(&app, &du, Some(&password)),
        "the account password",
    );
    let mismatched = basic(&other.user.email, &du.secret);
    assert_challenged(
        &propfind_home(&app, &du, Some(&mismatched)),
        "a token with another account's e-mail",
    );
    let no_colon = format!(
        "Basic {}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &du.secret)
    );
    assert_challenged(&propfind_home(&app, &du, Some(&no_colon)), "no user name");
    assert_challenged(
        &propfind_home(&app, &du, Some("Basic !!!not-base64!!!")),
        "not base64",
    );
}

#[test]
fn basic_with_the_email_and_a_token_works_in_any_letter_case_of_the_email() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let home = Multistatus::of(&propfind_home(&app, &du, Some(&du.basic())));
    assert!(home.find(&du.home()).is_some(), "{}", home.body);
    let shouting = basic(&du.user.email.to_ascii_uppercase(), &du.secret);
    let again = propfind_home(&app, &du, Some(&shouting));
    assert_eq!(
        again.status, 207,
        "e-mails compare ignoring case: {}",
        again.body
    );
}

#[test]
fn a_bearer_personal_token_or_session_token_works_too() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    for (what, token) in [("personal", &du.secret), ("session", &du.user.token)] {
        let bearer = format!("Bearer {token}");
        let home = propfind_home(&app, &du, Some(&bearer));
        assert_eq!(home.status, 207, "{what}: {}", home.body);
        let inbox = inbox_id(&app, &du.user);
        let uid = new_uid();
        let put = dav_request(
            &app,
            "PUT",
            &du.object(&inbox, &format!("{what}.ics")),
            Some(&bearer),
            &[("Content-Type", "text/calendar"), ("If-None-Match", "*")],
            &vtodo(&uid, &[&format!("SUMMARY:by {what} bearer")]),
        );
        assert_eq!(put.status, 201, "{what}: {}", put.body);
        assert_eq!(
            rest_task(&app, &du.user, &uid)["title"],
            format!("by {what} bearer")
        );
    }
}

#[test]
fn a_read_token_propfinds_gets_and_reports_and_every_write_is_403() {
    let app = TestApp::spawn();
    let owner = dav_user(&app);
    let reader = dav_as(&app, &owner.user, "read");
    let inbox = inbox_id(&app, &owner.user);
    let task = app.task(&owner.user, "read me");
    let uid = task["uid"].as_str().unwrap().to_string();
    let object = reader.object_of_uid(&inbox, &uid);
    let collection = reader.collection(&inbox);
    // Reads.
    reader.props(&app, &reader.home(), "1", &["d:displayname"]);
    let got = reader.get(&app, &object);
    assert_eq!(got.status, 200, "{}", got.body);
    let found = reader.query(&app, &collection, "");
    assert_eq!(found.present(), vec![object.clone()]);
    let synced = reader.sync(&app, &collection, "");
    assert_eq!(synced.present(), vec![object.clone()]);
    // Writes.
    let etag = etag_of(&got);
    let refused = [
        (
            "PUT new",
            reader.put(
                &app,
                &reader.object(&inbox, "new.ics"),
                &vtodo(&new_uid(), &["SUMMARY:new"]),
                &[("If-None-Match", "*")],
            ),
        ),
        (
            "PUT over",
            reader.put(
                &app,
                &object,
                &vtodo(&uid, &["SUMMARY:changed"]),
                &[("If-Match", &etag)],
            ),
        ),
        ("DELETE object", reader.delete(&app, &object, &[])),
        (
            "MKCALENDAR",
            reader.mkcalendar(&app, &reader.collection("by-reader"), "By reader"),
        ),
        (
            "PROPPATCH",
            reader.proppatch(&app, &collection, "<d:displayname>Renamed</d:displayname>"),
        ),
        ("DELETE collection", reader.delete(&app, &collection, &[])),
    ];
    for (what, resp) in refused {
        if what == "PROPPATCH" {
            assert_proppatch_refused(&resp, what);
        } else {
            assert_eq!(resp.status, 403, "{what}: {}", resp.body);
        }
    }
    let lists = lists_of(&app, &owner.user);
    assert_eq!(lists.len(), 1, "no list made or deleted: {lists:?}");
    assert_eq!(lists[0]["name"], "Inbox");
    let tasks = list(&app, &owner.user, "");
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0]["title"], "read me");
}

#[test]
fn a_deleted_token_is_401_at_once() {
    let app = TestApp::spawn();
    let user = app.user();
    let (id, secret) = personal_token(&app, &user, "write");
    let du = DavUser {
        user: user.clone(),
        secret,
    };
    assert_eq!(propfind_home(&app, &du, Some(&du.basic())).status, 207);
    let gone = app.send(
        "DELETE",
        &format!("/api/{}/tokens/{id}", user.id),
        Some(&user.token),
        None,
    );
    assert_eq!(gone.status, 204, "{}", gone.body);
    assert_challenged(
        &propfind_home(&app, &du, Some(&du.basic())),
        "a deleted token",
    );
}

#[test]
fn an_expired_token_is_401() {
    let app = TestApp::spawn();
    let user = app.user();
    let (id, secret) = personal_token(&app, &user, "write");
    let du = DavUser {
        user: user.clone(),
        secret,
    };
    assert_eq!(propfind_home(&app, &du, Some(&du.basic())).status, 207);
    app.sql()
        .execute(
            "UPDATE access_tokens SET expires_at = now() - interval '1 second' WHERE id = $1::text::uuid",
            &[&id],
        )
        .unwrap();
    assert_challenged(
        &propfind_home(&app, &du, Some(&du.basic())),
        "an expired token",
    );
}
