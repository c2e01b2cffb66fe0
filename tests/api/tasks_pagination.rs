//! Paging with `limit` and `Link: rel="next"` cursors.

use crate::support::*;
use serde_json::{json, Value};

#[test]
fn walking_link_headers_with_limit_7_returns_every_task_once_in_order() {
    let app = TestApp::spawn();
    let user = app.user();
    let mut expected = create_many(&app, &user, 50, "page");
    expected.reverse();
    let first = app.get(&format!("{}?limit=7", tasks_path(&user)), Some(&user.token));
    let link = first
        .header("link")
        .expect("a first page of 7 out of 50 has a Link")
        .to_string();
    let prefix = format!("</api/{}/tasks?limit=7&cursor=", user.id);
    assert!(
        link.starts_with(&prefix) && link.ends_with(">; rel=\"next\""),
        "{link}"
    );

    let pages = walk(
        &app,
        &user,
        &format!("{}?limit=7", tasks_path(&user)),
        || {},
    );
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [7, 7, 7, 7, 7, 7, 7, 1]);
    let walked: Vec<i64> = pages.iter().flat_map(|p| ids(p)).collect();
    assert_eq!(walked, expected);
    assert_eq!(
        pages.concat(),
        list(&app, &user, ""),
        "pages hold the same task objects as the plain list"
    );
}

#[test]
fn the_last_page_has_no_link_even_when_it_is_full() {
    let app = TestApp::spawn();
    let user = app.user();
    create_many(&app, &user, 14, "full");
    let pages = walk(
        &app,
        &user,
        &format!("{}?limit=7", tasks_path(&user)),
        || {},
    );
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [7, 7]);
    let one_page = app.get(
        &format!("{}?limit=14", tasks_path(&user)),
        Some(&user.token),
    );
    assert_eq!(array(&one_page).len(), 14);
    assert_eq!(one_page.header("link"), None);
    let unpaged = app.get(&tasks_path(&user), Some(&user.token));
    assert_eq!(unpaged.header("link"), None, "no limit, no Link");
    let empty = app.user();
    let nothing = app.get(
        &format!("{}?limit=7", tasks_path(&empty)),
        Some(&empty.token),
    );
    assert!(array(&nothing).is_empty());
    assert_eq!(nothing.header("link"), None);
}

#[test]
fn tasks_created_while_paging_do_not_appear_and_older_ones_appear_exactly_once() {
    let app = TestApp::spawn();
    let user = app.user();
    let mut expected = create_many(&app, &user, 50, "old");
    expected.reverse();
    let mut added = Vec::new();
    let pages = walk(
        &app,
        &user,
        &format!("{}?limit=7", tasks_path(&user)),
        || {
            for _ in 0..2 {
                added.push(id_of(&app.task(&user, "new while paging")));
            }
        },
    );
    let walked: Vec<i64> = pages.iter().flat_map(|p| ids(p)).collect();
    assert_eq!(walked, expected);
    assert_eq!(added.len(), 16);
    assert_eq!(
        list(&app, &user, "").len(),
        66,
        "the new tasks were stored all the same"
    );
}

#[test]
fn a_changed_cursor_or_another_users_cursor_is_400() {
    let app = TestApp::spawn();
    let (a, b) = (app.user(), app.user());
    create_many(&app, &a, 10, "a");
    create_many(&app, &b, 10, "b");
    let first = app.get(&format!("{}?limit=7", tasks_path(&a)), Some(&a.token));
    let cursor = cursor_of(&next_link(&first).expect("a Link"));
    let detail = "cursor is not valid: use the Link header of the previous page";
    let page = |cursor: &str| {
        app.get(
            &format!("{}?limit=7&cursor={cursor}", tasks_path(&a)),
            Some(&a.token),
        )
    };
    assert_eq!(array(&page(&cursor)).len(), 3, "the cursor as given works");

    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (i, c) in cursor.char_indices() {
        let other = if c == 'A' { 'B' } else { 'A' };
        let changed = format!("{}{other}{}", &cursor[..i], &cursor[i + 1..]);
        assert_invalid(&page(&changed), detail, &["cursor"]);
        assert!(alphabet.contains(c), "the cursor is URL-safe: {cursor}");
    }
    for bad in [
        "",
        "abc",
        "!!!!",
        &cursor[1..],
        &format!("{cursor}A"),
        &format!("{cursor}%00"),
    ] {
        assert_invalid(&page(bad), detail, &["cursor"]);
    }

    let b_first = app.get(&format!("{}?limit=7", tasks_path(&b)), Some(&b.token));
    let b_cursor = cursor_of(&next_link(&b_first).expect("a Link for B"));
    assert_eq!(
        array(&app.get(
            &format!("{}?limit=7&cursor={b_cursor}", tasks_path(&b)),
            Some(&b.token)
        ))
        .len(),
        3
    );
    assert_invalid(&page(&b_cursor), detail, &["cursor"]);
    let on_b_path = app.get(
        &format!("{}?limit=7&cursor={b_cursor}", tasks_path(&b)),
        Some(&a.token),
    );
    assert_error(&on_b_path, 403, "Access denied");
}

#[test]
fn a_status_filter_combines_with_pagination() {
    let app = TestApp::spawn();
    let user = app.user();
    for i in 0..30 {
        create(
            &app,
            &user,
            json!({ "title": format!("t {i}"), "completed": i % 3 == 0 }),
        );
    }
    for (status, limit, sizes) in [
        ("completed", 3, vec![3, 3, 3, 1]),
        ("pending", 4, vec![4, 4, 4, 4, 4]),
        ("all", 8, vec![8, 8, 8, 6]),
    ] {
        let first = format!("{}?limit={limit}&status={status}", tasks_path(&user));
        let pages = walk(&app, &user, &first, || {});
        assert_eq!(
            pages.iter().map(Vec::len).collect::<Vec<_>>(),
            sizes,
            "{status}"
        );
        let walked: Vec<Value> = pages.concat();
        assert_eq!(
            walked,
            list(&app, &user, &format!("?status={status}")),
            "{status}"
        );
        let link = app
            .get(&first, Some(&user.token))
            .header("link")
            .map(str::to_string)
            .expect("a Link");
        assert!(
            link.contains(&format!("status={status}")),
            "the Link keeps the filter: {link}"
        );
    }
}
