//! Sharing a list: invitations (sent, listed, revoked, accepted, declined), members and their
//! roles, handing a list over, leaving and being removed, with access lost at once everywhere.

use crate::support::*;
use serde_json::{json, Value};

const INVITATION_FIELDS: [&str; 8] = [
    "created_at",
    "email",
    "expires_at",
    "id",
    "invited_by",
    "list_id",
    "list_name",
    "role",
];

fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

fn pending(app: &TestApp, owner: &User, list_id: &str) -> Vec<Value> {
    let resp = app.get(&invitations_path(owner, list_id), Some(&owner.token));
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json().as_array().expect("an array").clone()
}

fn members(app: &TestApp, user: &User, list_id: &str) -> Vec<Value> {
    let resp = app.get(&members_path(user, list_id), Some(&user.token));
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json().as_array().expect("an array").clone()
}

fn set_role(app: &TestApp, by: &User, list_id: &str, member: &User, role: &str) -> Resp {
    app.send(
        "PATCH",
        &member_path(by, list_id, &member.id),
        Some(&by.token),
        Some(json!({ "role": role })),
    )
}

fn remove(app: &TestApp, by: &User, list_id: &str, member_id: &str) -> Resp {
    app.send(
        "DELETE",
        &member_path(by, list_id, member_id),
        Some(&by.token),
        None,
    )
}

fn sent(resp: Resp) -> Value {
    assert_eq!(resp.status, 201, "{}", resp.body);
    resp.json()
}

#[test]
fn an_invitation_answers_201_naming_the_list_the_inviter_and_an_expiry_14_days_on() {
    let app = TestApp::spawn();
    let owner = named_user(&app, "Olivia Owner");
    let friend = app.user();
    let list = new_list(&app, &owner, "Groceries");
    let list_id = id_str(&list);
    let invitation = sent(invite(&app, &owner, &list_id, &friend.email, "editor"));
    assert_eq!(keys(&invitation), INVITATION_FIELDS, "{invitation}");
    uuid::Uuid::parse_str(&id_str(&invitation)).expect("the id is a UUID");
    assert_eq!(invitation["list_id"], list_id.as_str());
    assert_eq!(invitation["list_name"], "Groceries");
    assert_eq!(invitation["email"], friend.email.as_str());
    assert_eq!(invitation["role"], "editor");
    assert_eq!(
        invitation["invited_by"],
        json!({ "id": owner.id, "name": "Olivia Owner" })
    );
    let created = timestamp(&invitation["created_at"]);
    let expires = timestamp(&invitation["expires_at"]);
    assert!((chrono::Utc::now() - created).num_seconds().abs() < 60);
    let lifetime = (expires - created).num_seconds();
    assert!((lifetime - 14 * 86_400).abs() < 60, "{invitation}");
    // A pending invitation makes the list shared.
    assert_eq!(list_of(&app, &owner, &list_id)["shared"], true);
    assert_eq!(
        pending(&app, &owner, &list_id),
        std::slice::from_ref(&invitation)
    );
    assert_eq!(my_invitations(&app, &friend), [invitation]);
}

#[test]
fn an_email_without_an_account_gets_the_same_answer_and_a_later_sign_up_sees_the_invitation() {
    let app = TestApp::spawn();
    let owner = app.user();
    let known = app.user();
    let list_id = id_str(&new_list(&app, &owner, "Chores"));
    let to_known = sent(invite(&app, &owner, &list_id, &known.email, "viewer"));
    let email = format!("newcomer{}@example.com", unique());
    let to_unknown = sent(invite(&app, &owner, &list_id, &email, "viewer"));
    assert_eq!(keys(&to_known), keys(&to_unknown));
    for key in ["list_id", "list_name", "role", "invited_by"] {
        assert_eq!(to_known[key], to_unknown[key], "{key}");
    }
    let signed_up = app.signup("New Comer", &email, PASSWORD);
    assert_eq!(signed_up.status, 201, "{}", signed_up.body);
    let newcomer = User {
        id: signed_up.json()["user_id"].as_str().unwrap().to_string(),
        email: email.clone(),
        token: signed_up.json()["access_token"]
            .as_str()
            .unwrap()
            .to_string(),
    };
    assert_eq!(
        my_invitations(&app, &newcomer),
        std::slice::from_ref(&to_unknown)
    );
    let accepted = answer(&app, &newcomer, &id_str(&to_unknown), "accept");
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert_eq!(accepted.json()["role"], "viewer");
    assert_eq!(accepted.json()["name"], "Chores");
}

#[test]
fn an_invitation_reaches_its_address_whatever_the_letter_case_it_was_sent_with() {
    let app = TestApp::spawn();
    let (owner, friend) = (app.user(), app.user());
    let list_id = id_str(&new_list(&app, &owner, "Cased"));
    let shouted = format!("  {}  ", friend.email.to_uppercase());
    let invitation = sent(invite(&app, &owner, &list_id, &shouted, "editor"));
    assert_eq!(
        invitation["email"],
        friend.email.as_str(),
        "trimmed, lower-cased"
    );
    assert_eq!(my_invitations(&app, &friend).len(), 1);
    let again = invite(&app, &owner, &list_id, &friend.email, "viewer");
    assert_error(&again, 409, "Already invited");
}

#[test]
fn a_users_invitations_are_the_pending_ones_addressed_to_them_newest_first() {
    let app = TestApp::spawn();
    let (first_owner, second_owner, friend, bystander) =
        (app.user(), app.user(), app.user(), app.user());
    let one = id_str(&new_list(&app, &first_owner, "One"));
    let two = id_str(&new_list(&app, &second_owner, "Two"));
    let three = id_str(&new_list(&app, &second_owner, "Three"));
    let older = sent(invite(&app, &first_owner, &one, &friend.email, "viewer"));
    std::thread::sleep(std::time::Duration::from_millis(5));
    let newer = sent(invite(&app, &second_owner, &two, &friend.email, "editor"));
    std::thread::sleep(std::time::Duration::from_millis(5));
    let declined = sent(invite(&app, &second_owner, &three, &friend.email, "editor"));
    sent(invite(
        &app,
        &second_owner,
        &three,
        &bystander.email,
        "editor",
    ));
    assert_eq!(
        answer(&app, &friend, &id_str(&declined), "decline").status,
        204
    );
    let mine = my_invitations(&app, &friend);
    assert_eq!(mine, [newer, older]);
    assert_eq!(my_invitations(&app, &first_owner), Vec::<Value>::new());
}

#[test]
fn accepting_answers_200_with_the_list_and_the_caller_is_a_member_with_the_invited_role() {
    let app = TestApp::spawn();
    let (owner, friend) = (app.user(), app.user());
    let list_id = id_str(&new_list(&app, &owner, "Holiday"));
    task_in(&app, &owner, &list_id, "book flights");
    let invitation = sent(invite(&app, &owner, &list_id, &friend.email, "viewer"));
    let resp = answer(&app, &friend, &id_str(&invitation), "accept");
    assert_eq!(resp.status, 200, "{}", resp.body);
    let list = resp.json();
    assert_list_shape(&list);
    assert_eq!(list["id"], list_id.as_str());
    assert_eq!(list["role"], "viewer");
    assert_eq!(list["owner_id"], owner.id.as_str());
    assert_eq!(list["is_default"], false);
    assert_eq!(list["shared"], true);
    assert_eq!(list["open_tasks"], 1);
    assert_eq!(list_of(&app, &friend, &list_id), list);
    let theirs = lists_of(&app, &friend);
    assert_eq!(theirs.len(), 2);
    assert_eq!(theirs[0]["is_default"], true);
    assert_eq!(theirs[1], list);
    assert!(my_invitations(&app, &friend).is_empty());
    assert!(pending(&app, &owner, &list_id).is_empty());
    assert_eq!(list_of(&app, &owner, &list_id)["role"], "owner");
    assert_eq!(list_of(&app, &owner, &list_id)["shared"], true);
    let again = answer(&app, &friend, &id_str(&invitation), "accept");
    assert_error(&again, 404, "Invitation not found");
}

#[test]
fn declining_answers_204_and_leaves_the_list_unshared() {
    let app = TestApp::spawn();
    let (owner, friend) = (app.user(), app.user());
    let list_id = id_str(&new_list(&app, &owner, "Private again"));
    let invitation = sent(invite(&app, &owner, &list_id, &friend.email, "editor"));
    let resp = answer(&app, &friend, &id_str(&invitation), "decline");
    assert_eq!(resp.status, 204, "{}", resp.body);
    assert!(resp.body.is_empty());
    assert!(my_invitations(&app, &friend).is_empty());
    assert!(pending(&app, &owner, &list_id).is_empty());
    assert_eq!(list_of(&app, &owner, &list_id)["shared"], false);
    assert_eq!(lists_of(&app, &friend).len(), 1);
    let late = answer(&app, &friend, &id_str(&invitation), "accept");
    assert_error(&late, 404, "Invitation not found");
    let resp = app.get(&list_path(&friend, &list_id), Some(&friend.token));
    assert_error(&resp, 404, "List not found");
    // Declined, it can be sent again.
    sent(invite(&app, &owner, &list_id, &friend.email, "editor"));
}

#[test]
fn someone_elses_an_unknown_or_an_expired_invitation_is_404_invitation_not_found() {
    let app = TestApp::spawn();
    let (owner, friend, stranger) = (app.user(), app.user(), app.user());
    let list_id = id_str(&new_list(&app, &owner, "Not yours"));
    let invitation = id_str(&sent(invite(
        &app,
        &owner,
        &list_id,
        &friend.email,
        "editor",
    )));
    for verb in ["accept", "decline"] {
        for id in [invitation.clone(), unknown_uuid(), "not-a-uuid".to_string()] {
            let resp = answer(&app, &stranger, &id, verb);
            assert_error(&resp, 404, "Invitation not found");
        }
        // The owner cannot accept on the invitee's behalf either.
        assert_error(
            &answer(&app, &owner, &invitation, verb),
            404,
            "Invitation not found",
        );
    }
    assert_eq!(lists_of(&app, &stranger).len(), 1);
    assert_eq!(my_invitations(&app, &friend).len(), 1, "still pending");
    // Expired: its expiry moved into the past, in whichever table holds invitations (the only
    // SQL here; the test does not know the implementation's table name).
    let mut db = app.sql();
    let table: String = db
        .query_one(
            "SELECT table_name::text FROM information_schema.columns
             WHERE table_schema = current_schema()
               AND column_name IN ('list_id', 'email', 'expires_at')
             GROUP BY table_name HAVING count(*) = 3",
            &[],
        )
        .expect("one table holds invitations (list_id, email, expires_at)")
        .get(0);
    db.execute(
        &format!("UPDATE {table} SET expires_at = now() - interval '1 day'"),
        &[],
    )
    .unwrap();
    assert!(
        my_invitations(&app, &friend).is_empty(),
        "expired ones are not pending"
    );
    assert!(pending(&app, &owner, &list_id).is_empty());
    let resp = answer(&app, &friend, &invitation, "accept");
    assert_error(&resp, 404, "Invitation not found");
    assert_eq!(lists_of(&app, &friend).len(), 1);
    // An expired invitation does not block a new one.
    sent(invite(&app, &owner, &list_id, &friend.email, "viewer"));
}

#[test]
fn inviting_a_member_is_409_already_a_member_and_inviting_twice_409_already_invited() {
    let app = TestApp::spawn();
    let (owner, member) = (app.user(), app.user());
    let list_id = share(&app, &owner, &member, "editor");
    let resp = invite(&app, &owner, &list_id, &member.email, "viewer");
    assert_error(&resp, 409, "Already a member of this list");
    let resp = invite(&app, &owner, &list_id, &owner.email, "editor");
    assert_error(&resp, 409, "Already a member of this list");
    let email = format!("pending{}@example.com", unique());
    sent(invite(&app, &owner, &list_id, &email, "viewer"));
    let resp = invite(&app, &owner, &list_id, &email, "editor");
    assert_error(&resp, 409, "Already invited");
    assert_eq!(pending(&app, &owner, &list_id).len(), 1);
    // Pending for one list does not block an invitation to another.
    let other = id_str(&new_list(&app, &owner, "Other"));
    sent(invite(&app, &owner, &other, &email, "viewer"));
}

#[test]
fn the_default_list_cannot_be_shared() {
    let app = TestApp::spawn();
    let (owner, friend) = (app.user(), app.user());
    let inbox = inbox_id(&app, &owner);
    let resp = invite(&app, &owner, &inbox, &friend.email, "editor");
    assert_error(&resp, 400, "The default list cannot be shared");
    assert!(my_invitations(&app, &friend).is_empty());
    assert_eq!(list_of(&app, &owner, &inbox)["shared"], false);
}

#[test]
fn an_invitation_needs_a_valid_email_and_the_role_editor_or_viewer() {
    let app = TestApp::spawn();
    let owner = app.user();
    let list_id = id_str(&new_list(&app, &owner, "Strict"));
    for (body, field) in [
        (
            json!({ "email": "not-an-address", "role": "editor" }),
            "email",
        ),
        (
            json!({ "email": "a b@example.com", "role": "editor" }),
            "email",
        ),
        (json!({ "role": "editor" }), "email"),
        (
            json!({ "email": "ok@example.com", "role": "owner" }),
            "role",
        ),
        (
            json!({ "email": "ok@example.com", "role": "admin" }),
            "role",
        ),
        (
            json!({ "email": "ok@example.com", "role": "Editor" }),
            "role",
        ),
    ] {
        let resp = app.send(
            "POST",
            &invitations_path(&owner, &list_id),
            Some(&owner.token),
            Some(body.clone()),
        );
        let named: Vec<String> = validation_errors(&resp).into_iter().map(|e| e.0).collect();
        assert_eq!(named, [field], "{body}: {}", resp.body);
    }
    assert!(pending(&app, &owner, &list_id).is_empty());
}

#[test]
fn only_the_owner_sends_lists_and_revokes_invitations() {
    let app = TestApp::spawn();
    let (owner, editor, viewer, outsider) = (app.user(), app.user(), app.user(), app.user());
    let list_id = share(&app, &owner, &editor, "editor");
    join(&app, &owner, &list_id, &viewer, "viewer");
    let invitation = id_str(&sent(invite(
        &app,
        &owner,
        &list_id,
        &format!("someone{}@example.com", unique()),
        "viewer",
    )));
    let fresh = format!("fresh{}@example.com", unique());
    for (who, status, detail) in [
        (&editor, 403, ROLE_DENIED),
        (&viewer, 403, ROLE_DENIED),
        (&outsider, 404, "List not found"),
    ] {
        assert_error(
            &invite(&app, who, &list_id, &fresh, "viewer"),
            status,
            detail,
        );
        let resp = app.get(&invitations_path(who, &list_id), Some(&who.token));
        assert_error(&resp, status, detail);
        let path = format!("{}/{invitation}", invitations_path(who, &list_id));
        assert_error(
            &app.send("DELETE", &path, Some(&who.token), None),
            status,
            detail,
        );
    }
    assert_eq!(
        pending(&app, &owner, &list_id).len(),
        1,
        "nothing sent or revoked"
    );
}

#[test]
fn the_owner_lists_pending_invitations_and_revokes_one_with_204() {
    let app = TestApp::spawn();
    let (owner, accepted, revoked, kept) = (app.user(), app.user(), app.user(), app.user());
    let list_id = share(&app, &owner, &accepted, "editor");
    let to_revoke = sent(invite(&app, &owner, &list_id, &revoked.email, "viewer"));
    let to_keep = sent(invite(&app, &owner, &list_id, &kept.email, "editor"));
    let mut listed: Vec<String> = pending(&app, &owner, &list_id).iter().map(id_str).collect();
    listed.sort();
    let mut want = vec![id_str(&to_revoke), id_str(&to_keep)];
    want.sort();
    assert_eq!(listed, want, "pending only: the accepted one is not listed");
    let path = format!(
        "{}/{}",
        invitations_path(&owner, &list_id),
        id_str(&to_revoke)
    );
    let resp = app.send("DELETE", &path, Some(&owner.token), None);
    assert_eq!(resp.status, 204, "{}", resp.body);
    assert!(resp.body.is_empty());
    assert_eq!(pending(&app, &owner, &list_id), [to_keep]);
    assert!(my_invitations(&app, &revoked).is_empty());
    let late = answer(&app, &revoked, &id_str(&to_revoke), "accept");
    assert_error(&late, 404, "Invitation not found");
    let again = app.send("DELETE", &path, Some(&owner.token), None);
    assert_error(&again, 404, "Invitation not found");
    for id in [unknown_uuid(), "nope".to_string()] {
        let path = format!("{}/{id}", invitations_path(&owner, &list_id));
        let resp = app.send("DELETE", &path, Some(&owner.token), None);
        assert_error(&resp, 404, "Invitation not found");
    }
    // An invitation to another list of the owner is not found under this one.
    let other = id_str(&new_list(&app, &owner, "Other"));
    let elsewhere = sent(invite(&app, &owner, &other, &revoked.email, "viewer"));
    let path = format!(
        "{}/{}",
        invitations_path(&owner, &list_id),
        id_str(&elsewhere)
    );
    let resp = app.send("DELETE", &path, Some(&owner.token), None);
    assert_error(&resp, 404, "Invitation not found");
    assert_eq!(my_invitations(&app, &revoked), [elsewhere]);
}

#[test]
fn members_are_listed_owner_first_then_by_name_to_every_member() {
    let app = TestApp::spawn();
    let owner = named_user(&app, "Zoe Owner");
    let carol = named_user(&app, "Carol");
    let alice = named_user(&app, "Alice");
    let bob = named_user(&app, "Bob");
    let list_id = id_str(&new_list(&app, &owner, "Team"));
    join(&app, &owner, &list_id, &carol, "viewer");
    join(&app, &owner, &list_id, &alice, "editor");
    join(&app, &owner, &list_id, &bob, "viewer");
    sent(invite(
        &app,
        &owner,
        &list_id,
        "not-yet@example.com",
        "viewer",
    ));
    for who in [&owner, &carol, &alice] {
        let all = members(&app, who, &list_id);
        let order: Vec<(&str, &str)> = all
            .iter()
            .map(|m| (m["name"].as_str().unwrap(), m["role"].as_str().unwrap()))
            .collect();
        assert_eq!(
            order,
            [
                ("Zoe Owner", "owner"),
                ("Alice", "editor"),
                ("Bob", "viewer"),
                ("Carol", "viewer")
            ]
        );
        for m in &all {
            assert_eq!(
                keys(m),
                ["email", "joined_at", "name", "role", "user_id"],
                "{m}"
            );
            timestamp(&m["joined_at"]);
        }
        assert_eq!(all[1]["user_id"], alice.id.as_str());
        assert_eq!(all[1]["email"], alice.email.as_str());
    }
}

#[test]
fn the_owner_changes_a_members_role_and_no_one_else_can() {
    let app = TestApp::spawn();
    let (owner, member, editor) = (app.user(), app.user(), app.user());
    let list_id = share(&app, &owner, &member, "viewer");
    join(&app, &owner, &list_id, &editor, "editor");
    let refused = post_task(&app, &member, json!({ "title": "t", "list_id": list_id }));
    assert_error(&refused, 403, ROLE_DENIED);
    assert_error(
        &set_role(&app, &editor, &list_id, &member, "editor"),
        403,
        ROLE_DENIED,
    );
    assert_error(
        &set_role(&app, &member, &list_id, &member, "editor"),
        403,
        ROLE_DENIED,
    );
    let resp = set_role(&app, &owner, &list_id, &member, "editor");
    assert_eq!(resp.status, 200, "{}", resp.body);
    let entry = resp.json();
    assert_eq!(entry["user_id"], member.id.as_str());
    assert_eq!(entry["role"], "editor");
    assert_eq!(entry["email"], member.email.as_str());
    assert_eq!(list_of(&app, &member, &list_id)["role"], "editor");
    let allowed = post_task(&app, &member, json!({ "title": "t", "list_id": list_id }));
    assert_eq!(allowed.status, 201, "{}", allowed.body);
    let resp = set_role(&app, &owner, &list_id, &member, "viewer");
    assert_eq!(resp.json()["role"], "viewer");
    let bad = set_role(&app, &owner, &list_id, &member, "admin");
    let named: Vec<String> = validation_errors(&bad).into_iter().map(|e| e.0).collect();
    assert_eq!(named, ["role"], "{}", bad.body);
    let outsider = app.user();
    for id in [outsider.id.clone(), unknown_uuid(), "nope".to_string()] {
        let resp = app.send(
            "PATCH",
            &member_path(&owner, &list_id, &id),
            Some(&owner.token),
            Some(json!({ "role": "editor" })),
        );
        assert_error(&resp, 404, "Member not found");
    }
}

#[test]
fn making_another_member_owner_hands_the_list_over_and_the_old_owner_becomes_an_editor() {
    let app = TestApp::spawn();
    let (owner, heir) = (app.user(), app.user());
    let list_id = share(&app, &owner, &heir, "viewer");
    let resp = set_role(&app, &owner, &list_id, &heir, "owner");
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.json()["role"], "owner");
    let roles: Vec<(String, String)> = members(&app, &owner, &list_id)
        .iter()
        .map(|m| {
            (
                m["user_id"].as_str().unwrap().to_string(),
                m["role"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            (heir.id.clone(), "owner".to_string()),
            (owner.id.clone(), "editor".to_string())
        ]
    );
    let seen = list_of(&app, &owner, &list_id);
    assert_eq!(seen["role"], "editor");
    assert_eq!(seen["owner_id"], heir.id.as_str());
    assert_eq!(list_of(&app, &heir, &list_id)["role"], "owner");
    // The old owner has an editor's rights now, and may leave.
    let by_old = app.send(
        "DELETE",
        &list_path(&owner, &list_id),
        Some(&owner.token),
        None,
    );
    assert_error(&by_old, 403, ROLE_DENIED);
    let friend = app.user();
    assert_error(
        &invite(&app, &owner, &list_id, &friend.email, "viewer"),
        403,
        ROLE_DENIED,
    );
    sent(invite(&app, &heir, &list_id, &friend.email, "viewer"));
    assert_eq!(remove(&app, &owner, &list_id, &owner.id).status, 204);
    assert_eq!(member_ids(&app, &heir, &list_id), [heir.id.as_str()]);
    // Having left, the old owner is down to their Inbox.
    assert_eq!(lists_of(&app, &owner).len(), 1);
}

#[test]
fn a_member_leaves_with_204_and_the_owner_cannot_leave() {
    let app = TestApp::spawn();
    let (owner, member) = (app.user(), app.user());
    let list_id = share(&app, &owner, &member, "editor");
    let own = app.task(&member, "my own inbox task");
    let resp = remove(&app, &owner, &list_id, &owner.id);
    assert_error(
        &resp,
        400,
        "The owner cannot leave the list; hand it over first",
    );
    let resp = remove(&app, &member, &list_id, &member.id);
    assert_eq!(resp.status, 204, "{}", resp.body);
    assert!(resp.body.is_empty());
    let gone = app.get(&list_path(&member, &list_id), Some(&member.token));
    assert_error(&gone, 404, "List not found");
    assert_eq!(lists_of(&app, &member).len(), 1, "their Inbox is untouched");
    let kept = app.get(&task_path(&member, id_of(&own)), Some(&member.token));
    assert_eq!(kept.status, 200, "{}", kept.body);
    assert_eq!(member_ids(&app, &owner, &list_id), [owner.id.as_str()]);
    assert_eq!(list_of(&app, &owner, &list_id)["shared"], false);
}

#[test]
fn the_owner_removes_a_member_and_an_editor_cannot_remove_anyone_else() {
    let app = TestApp::spawn();
    let (owner, editor, viewer) = (app.user(), app.user(), app.user());
    let list_id = share(&app, &owner, &editor, "editor");
    join(&app, &owner, &list_id, &viewer, "viewer");
    assert_error(
        &remove(&app, &editor, &list_id, &viewer.id),
        403,
        ROLE_DENIED,
    );
    assert_error(
        &remove(&app, &viewer, &list_id, &owner.id),
        403,
        ROLE_DENIED,
    );
    let resp = remove(&app, &owner, &list_id, &viewer.id);
    assert_eq!(resp.status, 204, "{}", resp.body);
    assert_eq!(
        member_ids(&app, &editor, &list_id),
        [owner.id.clone(), editor.id.clone()]
    );
    for id in [viewer.id.clone(), unknown_uuid(), "nope".to_string()] {
        assert_error(
            &remove(&app, &owner, &list_id, &id),
            404,
            "Member not found",
        );
    }
}

#[test]
fn a_removed_member_loses_the_list_and_its_tasks_at_once_on_every_server() {
    let a = TestApp::spawn();
    let b = a.beside(|_| {});
    let (owner, member) = (a.user(), a.user());
    let list_id = share(&a, &owner, &member, "editor");
    let task = task_in(&a, &owner, &list_id, "shared");
    let own = a.task(&member, "mine");
    let path = task_path(&member, id_of(&task));
    assert_eq!(b.get(&path, Some(&member.token)).status, 200);
    assert_eq!(
        b.get(&list_path(&member, &list_id), Some(&member.token))
            .status,
        200
    );
    assert_eq!(tasks_seen(&b, &member, "").len(), 2);
    let resp = remove(&a, &owner, &list_id, &member.id);
    assert_eq!(resp.status, 204, "{}", resp.body);
    let token = Some(member.token.as_str());
    assert_error(
        &b.get(&list_path(&member, &list_id), token),
        404,
        "List not found",
    );
    assert_error(&b.get(&path, token), 404, "Task not found");
    let put = b.send("PUT", &path, token, Some(json!({ "title": "still?" })));
    assert_error(&put, 404, "Task not found");
    let toggle = b.send("PATCH", &format!("{path}/complete"), token, None);
    assert_error(&toggle, 404, "Task not found");
    assert_error(&b.send("DELETE", &path, token, None), 404, "Task not found");
    let create = post_task(&b, &member, json!({ "title": "in?", "list_id": list_id }));
    assert_error(&create, 404, "List not found");
    let filtered = b.get(&format!("{}?list={list_id}", tasks_path(&member)), token);
    assert_error(&filtered, 404, "List not found");
    assert_eq!(ids(&tasks_seen(&b, &member, "")), [id_of(&own)]);
    let resp = b.get(&members_path(&member, &list_id), token);
    assert_error(&resp, 404, "List not found");
    // The task itself is untouched for the owner.
    let theirs = a.get(&task_path(&owner, id_of(&task)), Some(&owner.token));
    assert_eq!(theirs.json()["title"], "shared");
}

#[test]
fn removing_a_member_clears_them_as_assignee_of_the_lists_tasks() {
    let app = TestApp::spawn();
    let (owner, member) = (app.user(), app.user());
    let list_id = share(&app, &owner, &member, "editor");
    let body = json!({ "title": "theirs to do", "list_id": list_id, "assignee_id": member.id });
    let resp = post_task(&app, &owner, body);
    assert_eq!(resp.status, 201, "{}", resp.body);
    let task = resp.json();
    assert_eq!(task["assignee_id"], member.id.as_str());
    let own = post_task(
        &app,
        &owner,
        json!({ "title": "mine", "list_id": list_id, "assignee_id": owner.id }),
    )
    .json();
    assert_eq!(remove(&app, &owner, &list_id, &member.id).status, 204);
    let after = app
        .get(&task_path(&owner, id_of(&task)), Some(&owner.token))
        .json();
    assert_eq!(after["assignee_id"], Value::Null, "{after}");
    let untouched = app
        .get(&task_path(&owner, id_of(&own)), Some(&owner.token))
        .json();
    assert_eq!(untouched["assignee_id"], owner.id.as_str());
    let none = tasks_seen(&app, &owner, &format!("?list={list_id}&assignee=none"));
    assert_eq!(ids(&none), [id_of(&task)]);
}

#[test]
fn deleting_an_account_deletes_the_lists_it_owns_for_every_member_and_removes_its_memberships() {
    let app = TestApp::spawn();
    let (owner, member, third) = (app.user(), app.user(), app.user());
    let owned = share(&app, &owner, &member, "editor");
    let task = task_in(&app, &member, &owned, "made by the member");
    let joined = share(&app, &third, &owner, "editor");
    let resp = app.send(
        "DELETE",
        "/api/auth/me",
        Some(&owner.token),
        Some(json!({ "password": PASSWORD })),
    );
    assert_eq!(resp.status, 204, "{}", resp.body);
    let token = Some(member.token.as_str());
    assert_error(
        &app.get(&list_path(&member, &owned), token),
        404,
        "List not found",
    );
    assert_error(
        &app.get(&task_path(&member, id_of(&task)), token),
        404,
        "Task not found",
    );
    assert_eq!(lists_of(&app, &member).len(), 1);
    assert_eq!(member_ids(&app, &third, &joined), [third.id.as_str()]);
    assert_eq!(list_of(&app, &third, &joined)["shared"], false);
}

#[test]
fn members_plus_pending_invitations_are_at_most_100_per_list_whoever_invites() {
    let app = TestApp::spawn();
    let (owner, member) = (app.user(), app.user());
    let list_id = share(&app, &owner, &member, "viewer");
    // The owner and a member, and 98 pending invitations: 100.
    for i in 0..98 {
        let email = format!("crowd{i}-{}@example.com", unique());
        sent(invite(&app, &owner, &list_id, &email, "viewer"));
    }
    let resp = invite(&app, &owner, &list_id, "one-more@example.com", "viewer");
    assert_error(&resp, 409, "Too many members");
    // The limit is the list's: handed over, it holds for the new owner (whose day is fresh).
    assert_eq!(
        set_role(&app, &owner, &list_id, &member, "owner").status,
        200
    );
    let resp = invite(&app, &member, &list_id, "one-more@example.com", "viewer");
    assert_error(&resp, 409, "Too many members");
    let first = id_str(&pending(&app, &member, &list_id)[0]);
    let path = format!("{}/{first}", invitations_path(&member, &list_id));
    assert_eq!(
        app.send("DELETE", &path, Some(&member.token), None).status,
        204
    );
    sent(invite(
        &app,
        &member,
        &list_id,
        "one-more@example.com",
        "viewer",
    ));
    let resp = invite(&app, &member, &list_id, "and-another@example.com", "viewer");
    assert_error(&resp, 409, "Too many members");
}

#[test]
fn a_user_sends_at_most_100_invitations_a_day_then_429_with_retry_after() {
    let app = TestApp::spawn();
    let owner = app.user();
    let lists: Vec<String> = (0..2)
        .map(|i| id_str(&new_list(&app, &owner, &format!("Crowded {i}"))))
        .collect();
    let inbox = inbox_id(&app, &owner);
    for i in 0..100 {
        let email = format!("daily{i}-{}@example.com", unique());
        sent(invite(&app, &owner, &lists[i % 2], &email, "viewer"));
        if i % 10 == 0 {
            // Refused requests send nothing, so they do not count against the day.
            let again = invite(&app, &owner, &lists[i % 2], &email, "viewer");
            assert_error(&again, 409, "Already invited");
            let default = invite(&app, &owner, &inbox, &email, "viewer");
            assert_error(&default, 400, "The default list cannot be shared");
        }
    }
    let third = id_str(&new_list(&app, &owner, "Third"));
    let resp = invite(&app, &owner, &third, "late@example.com", "viewer");
    assert_error(&resp, 429, "Too many invitations; try again later");
    let retry: u64 = resp
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!(retry > 0 && retry <= 86_400, "{retry}");
    // Another user is not held back.
    let other = app.user();
    let theirs = id_str(&new_list(&app, &other, "Theirs"));
    sent(invite(&app, &other, &theirs, "late@example.com", "viewer"));
}

#[test]
fn invitations_racing_for_the_last_places_of_a_list_fill_exactly_100() {
    let app = TestApp::with(|c| {
        c.workers = 8;
        c.db_pool_size = 8;
    });
    let (first, owner) = (app.user(), app.user());
    let list_id = share(&app, &first, &owner, "editor");
    for i in 0..60 {
        let email = format!("early{i}-{}@example.com", unique());
        sent(invite(&app, &first, &list_id, &email, "viewer"));
    }
    // Handed over, so no one person sends more than 100 in the day.
    assert_eq!(
        set_role(&app, &first, &list_id, &owner, "owner").status,
        200
    );
    // Two members and 60 pending: 38 places, raced for by four threads with ten requests each.
    let answers: Vec<u16> = std::thread::scope(|s| {
        let racers: Vec<_> = (0..4)
            .map(|t| {
                let (app, owner, list_id) = (&app, &owner, &list_id);
                s.spawn(move || {
                    (0..10)
                        .map(|i| {
                            let email = format!("racer{t}-{i}-{}@example.com", unique());
                            let resp = invite(app, owner, list_id, &email, "viewer");
                            if resp.status == 409 {
                                assert_error(&resp, 409, "Too many members");
                            }
                            resp.status
                        })
                        .collect::<Vec<u16>>()
                })
            })
            .collect();
        racers.into_iter().flat_map(|r| r.join().unwrap()).collect()
    });
    assert_eq!(
        answers.iter().filter(|s| **s == 201).count(),
        38,
        "{answers:?}"
    );
    assert_eq!(
        answers.iter().filter(|s| **s == 409).count(),
        2,
        "{answers:?}"
    );
    assert_eq!(pending(&app, &owner, &list_id).len(), 98);
    assert_eq!(members(&app, &owner, &list_id).len(), 2);
}

#[test]
fn an_invitation_to_a_list_deleted_since_is_gone() {
    let app = TestApp::spawn();
    let (owner, friend) = (app.user(), app.user());
    let list_id = id_str(&new_list(&app, &owner, "Short-lived"));
    let invitation = id_str(&sent(invite(
        &app,
        &owner,
        &list_id,
        &friend.email,
        "editor",
    )));
    let resp = app.send(
        "DELETE",
        &list_path(&owner, &list_id),
        Some(&owner.token),
        None,
    );
    assert_eq!(resp.status, 204, "{}", resp.body);
    assert!(my_invitations(&app, &friend).is_empty());
    for verb in ["accept", "decline"] {
        let resp = answer(&app, &friend, &invitation, verb);
        assert_error(&resp, 404, "Invitation not found");
    }
    assert_eq!(lists_of(&app, &friend).len(), 1);
}
