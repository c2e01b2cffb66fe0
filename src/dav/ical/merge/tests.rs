use super::super::tests::vtodo;
use super::super::{parse, Todo};
use super::*;
use crate::domain::Priority;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// What the model would hold after taking `todo` in.
fn fields(todo: &Todo) -> Fields<'_> {
    Fields {
        uid: &todo.uid,
        title: &todo.title,
        description: todo.description.as_deref(),
        completed: todo.completed,
        completed_at: todo.completed_at,
        priority: todo.priority,
        due_at: todo.due_at.map(|d| d.utc()),
        timezone: todo.timezone.map_or("UTC", |z| z.name()),
        tags: todo.tags.as_slice(),
        parent_uid: todo.parent_uid.as_deref(),
        recurrence: todo.recurrence.as_deref(),
        created_at: at("2027-01-01T00:00:00Z"),
        updated_at: at("2027-02-01T12:00:00.123456Z"),
    }
}

/// `text` rendered with `change` applied to what parsing it gives (leaked, so a change may
/// borrow from the test).
fn changed<'a>(text: &str, change: impl FnOnce(&mut Fields<'a>)) -> String {
    let todo: &'a Todo = Box::leak(Box::new(parse(text.as_bytes()).unwrap()));
    let mut f = fields(todo);
    change(&mut f);
    render(Some(text), &f)
}

const RICH: &[&str] = &[
    "UID:rich-1",
    "DTSTAMP:20270101T000000Z",
    "LAST-MODIFIED:20270101T000000Z",
    "DTSTART;X-ODD=\"a:b\":20270101T080000Z",
    "SUMMARY;LANGUAGE=en:A summary long enough that the client that wrote it folded i",
    " t at its own column",
    "DESCRIPTION:line one\\nline two\\, with a comma",
    "STATUS:IN-PROCESS",
    "PERCENT-COMPLETE:40",
    "PRIORITY:2",
    "DUE;TZID=Europe/Berlin:20270105T090000",
    "GEO:52.52;13.405",
    "CATEGORIES:Home,work",
    "categories:errand",
    "RELATED-TO:parent-1",
    "RRULE:freq=weekly;byday=MO",
    "SEQUENCE:3",
    "X-FOO;X-PARAM=1:bar\\,baz",
    "BEGIN:VALARM",
    "ACTION:DISPLAY",
    "TRIGGER;RELATED=END:-PT15M",
    "DESCRIPTION:Reminder",
    "END:VALARM",
];

#[test]
fn rendering_what_parsing_gives_returns_the_stored_text_byte_for_byte() {
    let date = [
        "UID:d",
        "DTSTAMP:20270101T000000Z",
        "SUMMARY:x",
        "DUE;VALUE=DATE:20270105",
        "COMPLETED:20270102T100000Z",
    ];
    let lf = vtodo(&[
        "UID:lf",
        "DTSTAMP:20270101T000000Z",
        "SUMMARY: padded ",
        "PRIORITY:0",
    ])
    .replace("\r\n", "\n");
    let zoned = vtodo(&[
        "UID:z",
        "DTSTAMP:20270101T000000Z",
        "SUMMARY:x",
        "DUE;TZID=W. Europe Standard Time:20270705T090000",
    ])
    .replace(
        "BEGIN:VTODO",
        &format!("{}BEGIN:VTODO", super::super::tests::BERLIN_VTIMEZONE),
    );
    for text in [vtodo(RICH), vtodo(&date), lf, zoned] {
        let todo = parse(text.as_bytes()).unwrap();
        assert_eq!(render(Some(&text), &fields(&todo)), text);
    }
}

#[test]
fn a_rest_change_of_title_replaces_summary_and_last_modified_and_keeps_every_other_line() {
    let text = vtodo(RICH);
    let out = changed(&text, |f| f.title = "Renamed");
    let want = text
        .replace(
            "SUMMARY;LANGUAGE=en:A summary long enough that the client that wrote it folded i\r\n t at its own column",
            "SUMMARY:Renamed",
        )
        .replace("LAST-MODIFIED:20270101T000000Z", "LAST-MODIFIED:20270201T120000Z");
    assert_eq!(out, want);
    for kept in [
        "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER;RELATED=END:-PT15M\r\n",
        "X-FOO;X-PARAM=1:bar\\,baz\r\n",
        "DTSTART;X-ODD=\"a:b\":20270101T080000Z\r\n",
        "GEO:52.52;13.405\r\n",
    ] {
        assert!(out.contains(kept), "{kept}");
    }
}

#[test]
fn a_modeled_value_still_read_the_same_way_keeps_its_spelling() {
    let text = vtodo(RICH);
    let out = changed(&text, |f| f.title = "Renamed");
    assert!(out.contains("PRIORITY:2\r\n"));
    assert!(out.contains("DUE;TZID=Europe/Berlin:20270105T090000\r\n"));
    assert!(out.contains("CATEGORIES:Home,work\r\ncategories:errand\r\n"));
    assert!(out.contains("RELATED-TO:parent-1\r\nRRULE:freq=weekly;byday=MO\r\n"));
}

#[test]
fn changed_fields_are_written_in_place_in_their_canonical_form() {
    let text = vtodo(RICH);
    let tags = ["a,b".to_string(), "c".to_string()];
    let out = changed(&text, |f| {
        f.priority = Priority::Low;
        f.description = None;
        f.tags = &tags;
        f.parent_uid = Some("other");
        f.recurrence = Some("FREQ=DAILY");
    });
    assert!(out.contains("STATUS:IN-PROCESS\r\nPERCENT-COMPLETE:40\r\nPRIORITY:9\r\n"));
    assert!(!out.contains("DESCRIPTION:line one"));
    assert!(out.contains("GEO:52.52;13.405\r\nCATEGORIES:a\\,b,c\r\nRELATED-TO;RELTYPE=PARENT:other\r\nRRULE:FREQ=DAILY\r\n"));
    assert!(!out.contains("errand"));
    let out = changed(&text, |f| f.priority = Priority::None);
    assert!(!out.contains("PRIORITY"));
}

#[test]
fn a_moved_due_keeps_its_zone_or_its_date_only_form_else_goes_to_utc() {
    let zoned = vtodo(&[
        "UID:1",
        "DTSTAMP:20270101T000000Z",
        "SUMMARY:x",
        "DUE;TZID=Europe/Berlin:20270105T090000",
    ]);
    let out = changed(&zoned, |f| f.due_at = Some(at("2027-07-05T07:00:00Z")));
    assert!(
        out.contains("DUE;TZID=Europe/Berlin:20270705T090000\r\n"),
        "{out}"
    );
    let out = changed(&zoned, |f| f.timezone = "Europe/Paris");
    assert!(out.contains("DUE:20270105T080000Z\r\n"), "{out}");
    let out = changed(&zoned, |f| f.due_at = None);
    assert!(!out.contains("DUE"), "{out}");

    let date = vtodo(&[
        "UID:1",
        "DTSTAMP:20270101T000000Z",
        "SUMMARY:x",
        "DUE;VALUE=DATE:20270105",
    ]);
    let out = changed(&date, |f| f.due_at = Some(at("2027-01-09T00:00:00Z")));
    assert!(out.contains("DUE;VALUE=DATE:20270109\r\n"), "{out}");
    let berlin_midnight = |f: &mut Fields| {
        f.timezone = "Europe/Berlin";
        f.due_at = Some(at("2027-01-08T23:00:00Z"));
    };
    assert!(changed(&date, berlin_midnight).contains("DUE;VALUE=DATE:20270109\r\n"));
    let in_berlin = |f: &mut Fields| f.timezone = "Europe/Berlin";
    assert_eq!(
        changed(&date, in_berlin),
        date,
        "a zone alone does not move a date"
    );
    let out = changed(&date, |f| f.due_at = Some(at("2027-01-09T10:00:00Z")));
    assert!(out.contains("DUE:20270109T100000Z\r\n"), "{out}");

    let none = vtodo(&["UID:1", "DTSTAMP:20270101T000000Z", "SUMMARY:x"]);
    let out = changed(&none, |f| f.due_at = Some(at("2027-01-09T10:00:00.5Z")));
    assert!(out.contains("DUE:20270109T100000Z\r\n"), "{out}");
}

#[test]
fn completing_and_reopening_set_status_completed_and_percent_complete() {
    let open = vtodo(&[
        "UID:1",
        "DTSTAMP:20270101T000000Z",
        "SUMMARY:x",
        "STATUS:NEEDS-ACTION",
        "PERCENT-COMPLETE:40",
    ]);
    let done = changed(&open, |f| {
        f.completed = true;
        f.completed_at = Some(at("2027-01-03T10:00:00.250Z"));
    });
    assert!(
        done.contains("STATUS:COMPLETED\r\nPERCENT-COMPLETE:100\r\nCOMPLETED:20270103T100000Z\r\n"),
        "{done}"
    );
    let todo = parse(done.as_bytes()).unwrap();
    assert_eq!(render(Some(&done), &fields(&todo)), done);
    let reopened = changed(&done, |f| {
        f.completed = false;
        f.completed_at = None;
    });
    assert!(
        reopened.contains("STATUS:NEEDS-ACTION\r\nPERCENT-COMPLETE:0\r\nLAST-MODIFIED"),
        "{reopened}"
    );
    assert!(!reopened.contains("COMPLETED:"));
    let working = vtodo(&[
        "UID:1",
        "DTSTAMP:20270101T000000Z",
        "SUMMARY:x",
        "STATUS:IN-PROCESS",
        "COMPLETED:20270102T100000Z",
    ]);
    let out = changed(&working, |f| f.completed = false);
    assert!(
        out.contains("STATUS:IN-PROCESS\r\n") && !out.contains("COMPLETED:"),
        "{out}"
    );
}

#[test]
fn last_modified_follows_a_change_and_a_missing_dtstamp_is_added() {
    let bare = vtodo(&["UID:1", "SUMMARY:x"]);
    let todo = parse(bare.as_bytes()).unwrap();
    let out = render(Some(&bare), &fields(&todo));
    assert_eq!(
        out,
        bare.replace("SUMMARY:x\r\n", "SUMMARY:x\r\nDTSTAMP:20270201T120000Z\r\n")
    );
    let out = changed(&bare, |f| f.title = "y");
    assert!(
        out.contains("SUMMARY:y\r\nLAST-MODIFIED:20270201T120000Z\r\nDTSTAMP:20270201T120000Z\r\n"),
        "{out}"
    );
}

#[test]
fn a_task_made_over_rest_gets_a_fresh_folded_escaped_calendar() {
    let tags = ["home".to_string(), "a,b".to_string()];
    let title = format!("Call Ada; then Bob, {}", "é".repeat(40));
    let f = Fields {
        uid: "u-1",
        title: &title,
        description: Some("line\nbreak"),
        completed: true,
        completed_at: Some(at("2027-01-03T10:00:00Z")),
        priority: Priority::Medium,
        due_at: Some(at("2027-01-05T08:00:00Z")),
        timezone: "Europe/Berlin",
        tags: &tags,
        parent_uid: Some("p-1"),
        recurrence: Some("FREQ=WEEKLY;BYDAY=MO,TH"),
        created_at: at("2027-01-01T00:00:00Z"),
        updated_at: at("2027-01-02T00:00:00Z"),
    };
    let out = render(None, &f);
    let escaped = format!("SUMMARY:Call Ada\\; then Bob\\, {}", "é".repeat(40));
    let want = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//todo-api//EN\r\nBEGIN:VTODO\r\nUID:u-1\r\n\
         DTSTAMP:20270102T000000Z\r\nCREATED:20270101T000000Z\r\nLAST-MODIFIED:20270102T000000Z\r\n\
         {}\r\n {}\r\nDESCRIPTION:line\\nbreak\r\nSTATUS:COMPLETED\r\nCOMPLETED:20270103T100000Z\r\n\
         PRIORITY:5\r\nDUE:20270105T080000Z\r\nCATEGORIES:home,a\\,b\r\n\
         RELATED-TO;RELTYPE=PARENT:p-1\r\nRRULE:FREQ=WEEKLY;BYDAY=MO,TH\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
        &escaped[..74],
        &escaped[74..],
    );
    assert_eq!(out, want);
    let back = parse(out.as_bytes()).unwrap();
    assert_eq!(&*back.title, title);
    assert_eq!(render(Some(&out), &fields(&back)), out);
}

#[test]
fn a_stored_text_that_no_longer_parses_is_replaced_by_a_fresh_calendar() {
    let todo = parse(vtodo(&["UID:1", "SUMMARY:x"]).as_bytes()).unwrap();
    let out = render(Some("garbage"), &fields(&todo));
    assert!(out.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//todo-api//EN\r\n"));
}
