//! Task bodies refused with 400 and every problem listed: titles, descriptions, types, NULs,
//! and bodies that are not a JSON object.

use crate::support::*;
use serde_json::{json, Value};

#[test]
fn a_title_that_is_missing_empty_blank_or_too_long_is_400_naming_the_problem() {
    let app = TestApp::spawn();
    let user = app.user();
    let post = |body: Value| app.send("POST", &tasks_path(&user), Some(&user.token), Some(body));
    assert_invalid(&post(json!({})), "Title is required", &["title"]);
    assert_invalid(
        &post(json!({ "description": "no title" })),
        "Title is required",
        &["title"],
    );
    assert_invalid(
        &post(json!({ "title": "" })),
        "Title must not be empty",
        &["title"],
    );
    assert_invalid(
        &post(json!({ "title": " \t\n " })),
        "Title must not be empty",
        &["title"],
    );
    let too_long = "a".repeat(201);
    assert_invalid(
        &post(json!({ "title": too_long })),
        "Title must be at most 200 characters long",
        &["title"],
    );
    assert_invalid(
        &post(json!({ "title": "é".repeat(201) })),
        "Title must be at most 200 characters long",
        &["title"],
    );
    assert!(
        list(&app, &user, "").is_empty(),
        "no invalid task was stored"
    );

    let task = app.task(&user, "valid");
    let path = task_path(&user, id_of(&task));
    let put = |body: Value| app.send("PUT", &path, Some(&user.token), Some(body));
    assert_invalid(
        &put(json!({ "title": "   " })),
        "Title must not be empty",
        &["title"],
    );
    assert_invalid(
        &put(json!({ "title": "a".repeat(201) })),
        "Title must be at most 200 characters long",
        &["title"],
    );
    assert_eq!(
        app.get(&path, Some(&user.token)).json(),
        task,
        "a refused update changes nothing"
    );
}

#[test]
fn a_title_of_200_characters_is_accepted_even_when_they_take_several_bytes() {
    let app = TestApp::spawn();
    let user = app.user();
    for title in [
        "a".repeat(200),
        "é".repeat(200),
        "日".repeat(200),
        "🦀".repeat(200),
        format!("  {}  ", "é".repeat(200)),
    ] {
        let task = create(&app, &user, json!({ "title": title }));
        assert_eq!(
            task["title"].as_str().map(|t| t.chars().count()),
            Some(200),
            "{title}"
        );
        assert_eq!(task["title"], title.trim());
    }
    let task = app.task(&user, "short");
    let renamed = app.send(
        "PUT",
        &task_path(&user, id_of(&task)),
        Some(&user.token),
        Some(json!({ "title": "日".repeat(200) })),
    );
    assert_eq!(renamed.status, 200, "{}", renamed.body);
}

#[test]
fn a_description_over_1000_characters_is_400_and_1000_is_accepted() {
    let app = TestApp::spawn();
    let user = app.user();
    let too_long = app.send(
        "POST",
        &tasks_path(&user),
        Some(&user.token),
        Some(json!({ "title": "t", "description": "d".repeat(1001) })),
    );
    assert_invalid(
        &too_long,
        "Description must be at most 1000 characters long",
        &["description"],
    );
    let task = create(
        &app,
        &user,
        json!({ "title": "t", "description": "日".repeat(1000) }),
    );
    assert_eq!(
        task["description"].as_str().map(|d| d.chars().count()),
        Some(1000)
    );
    let path = task_path(&user, id_of(&task));
    let put = app.send(
        "PUT",
        &path,
        Some(&user.token),
        Some(json!({ "description": "x".repeat(1001) })),
    );
    assert_invalid(
        &put,
        "Description must be at most 1000 characters long",
        &["description"],
    );
    assert_eq!(app.get(&path, Some(&user.token)).json(), task);
    let empty = create(&app, &user, json!({ "title": "t", "description": "" }));
    assert_eq!(
        empty["description"], "",
        "an empty description is kept as given"
    );
}

#[test]
fn fields_of_the_wrong_type_are_400_and_every_problem_is_listed() {
    let app = TestApp::spawn();
    let user = app.user();
    let post = |body: Value| app.send("POST", &tasks_path(&user), Some(&user.token), Some(body));
    assert_invalid(
        &post(json!({ "title": 5 })),
        "Title must be a string",
        &["title"],
    );
    assert_invalid(
        &post(json!({ "title": null })),
        "Title must be a string",
        &["title"],
    );
    assert_invalid(
        &post(json!({ "title": ["a"] })),
        "Title must be a string",
        &["title"],
    );
    assert_invalid(
        &post(json!({ "title": "t", "completed": "yes" })),
        "Completed must be true or false",
        &["completed"],
    );
    assert_invalid(
        &post(json!({ "title": "t", "completed": 1 })),
        "Completed must be true or false",
        &["completed"],
    );
    assert_invalid(
        &post(json!({ "title": "t", "description": 3 })),
        "Description must be a string or null",
        &["description"],
    );
    let all = post(json!({ "title": 5, "description": 3, "completed": "yes" }));
    assert_invalid(
        &all,
        "Title must be a string",
        &["title", "description", "completed"],
    );
    let two = post(json!({ "title": "", "description": "d".repeat(1001) }));
    assert_invalid(&two, "Title must not be empty", &["title", "description"]);

    let task = app.task(&user, "t");
    let path = task_path(&user, id_of(&task));
    let put = |body: Value| app.send("PUT", &path, Some(&user.token), Some(body));
    assert_invalid(
        &put(json!({ "title": 5 })),
        "Title must be a string",
        &["title"],
    );
    assert_invalid(
        &put(json!({ "completed": "yes" })),
        "Completed must be true or false",
        &["completed"],
    );
    assert_invalid(
        &put(json!({ "completed": null })),
        "Completed must be true or false",
        &["completed"],
    );
    assert_invalid(
        &put(json!({ "description": 3 })),
        "Description must be a string or null",
        &["description"],
    );
    assert_invalid(
        &put(json!({ "title": "ok", "completed": "yes" })),
        "Completed must be true or false",
        &["completed"],
    );
    assert_eq!(
        app.get(&path, Some(&user.token)).json(),
        task,
        "a refused update changes nothing"
    );
    assert_eq!(list(&app, &user, "").len(), 1, "no invalid task was stored");
}

#[test]
fn a_put_without_any_known_field_is_400() {
    let app = TestApp::spawn();
    let user = app.user();
    let task = app.task(&user, "t");
    let path = task_path(&user, id_of(&task));
    for body in [
        json!({}),
        json!({ "id": 5, "user_id": user.id, "created_at": "2000-01-01T00:00:00Z" }),
    ] {
        let resp = app.send("PUT", &path, Some(&user.token), Some(body));
        assert_error(
            &resp,
            400,
            "Send at least one of title, description, completed, priority, due_at or tags",
        );
    }
    assert_eq!(app.get(&path, Some(&user.token)).json(), task);
}

#[test]
fn a_body_that_is_not_a_json_object_is_400_and_another_content_type_is_415() {
    let app = TestApp::spawn();
    let user = app.user();
    let auth = format!("Bearer {}", user.token);
    let json_headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let path = tasks_path(&user);
    let post = |body: &[u8]| app.request("POST", &path, &json_headers, Some(body));
    assert_error(
        &post(b""),
        400,
        "Request body is required: send a JSON object",
    );
    assert_error(
        &post(b"[\"title\"]"),
        400,
        "Request body must be a JSON object",
    );
    assert_error(
        &post(b"\"title\""),
        400,
        "Request body must be a JSON object",
    );
    let broken = post(b"{\"title\": ");
    assert_eq!(broken.status, 400, "{}", broken.body);
    assert!(
        broken
            .detail()
            .starts_with("Request body is not valid JSON"),
        "{}",
        broken.body
    );
    let text = app.request(
        "POST",
        &path,
        &[
            ("Authorization", auth.as_str()),
            ("Content-Type", "text/plain"),
        ],
        Some(b"{\"title\":\"t\"}"),
    );
    assert_error(&text, 415, "Content-Type must be application/json");
    let untyped = app.request(
        "POST",
        &path,
        &[("Authorization", auth.as_str())],
        Some(b"{\"title\":\"no content type\"}"),
    );
    assert_eq!(
        untyped.status, 201,
        "no Content-Type is read as JSON: {}",
        untyped.body
    );
    assert_eq!(list(&app, &user, "").len(), 1);
}

#[test]
fn nul_characters_in_a_title_or_description_are_400_not_500() {
    let app = TestApp::spawn();
    let user = app.user();
    let post = |body: Value| app.send("POST", &tasks_path(&user), Some(&user.token), Some(body));
    assert_invalid(
        &post(json!({ "title": "a\u{0}b" })),
        "Title must not contain NUL (U+0000) characters",
        &["title"],
    );
    let resp = post(json!({ "title": "t", "description": "\u{0}" }));
    assert_invalid(
        &resp,
        "Description must not contain NUL (U+0000) characters",
        &["description"],
    );
    let task = app.task(&user, "t");
    let put = app.send(
        "PUT",
        &task_path(&user, id_of(&task)),
        Some(&user.token),
        Some(json!({ "title": "\u{0}" })),
    );
    assert_invalid(
        &put,
        "Title must not contain NUL (U+0000) characters",
        &["title"],
    );
}
