use super::*;

/// A calendar around one VTODO body (its lines joined with CRLF).
pub(super) fn vtodo(lines: &[&str]) -> String {
    let mut text =
        String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VTODO\r\n");
    for line in lines {
        text.push_str(line);
        text.push_str("\r\n");
    }
    text + "END:VTODO\r\nEND:VCALENDAR\r\n"
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn refusal(body: &str) -> Refusal {
    parse(body.as_bytes()).unwrap_err()
}

pub(super) const BERLIN_VTIMEZONE: &str = "BEGIN:VTIMEZONE\r\nTZID:W. Europe Standard Time\r\n\
    BEGIN:STANDARD\r\nDTSTART:16011028T030000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\n\
    TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n\
    BEGIN:DAYLIGHT\r\nDTSTART:16010325T020000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\n\
    TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n";

#[test]
fn a_full_vtodo_reads_into_the_model() {
    let todo = parse(
        vtodo(&[
            "UID:abc-1",
            "DTSTAMP:20270101T000000Z",
            "SUMMARY:Buy milk\\, eggs\\; bread",
            "DESCRIPTION:two\\nlines",
            "STATUS:COMPLETED",
            "COMPLETED:20270102T100000Z",
            "PRIORITY:2",
            "DUE;TZID=Europe/Berlin:20270105T090000",
            "CATEGORIES:Home,Shop\\,ping",
            "CATEGORIES:errand",
            "RELATED-TO:parent-1",
            "RRULE:FREQ=WEEKLY;BYDAY=MO",
            "X-FOO:bar",
        ])
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(todo.uid, "abc-1");
    assert_eq!(&*todo.title, "Buy milk, eggs; bread");
    assert_eq!(todo.description.as_deref(), Some("two\nlines"));
    assert!(todo.completed);
    assert_eq!(todo.completed_at, Some(at("2027-01-02T10:00:00Z")));
    assert_eq!(todo.priority, Priority::High);
    assert_eq!(todo.due_at.unwrap().utc(), at("2027-01-05T08:00:00Z"));
    assert_eq!(todo.timezone.map(|z| z.name()), Some("Europe/Berlin"));
    assert_eq!(todo.tags.as_slice(), ["Home", "Shop,ping", "errand"]);
    assert_eq!(todo.parent_uid.as_deref(), Some("parent-1"));
    assert_eq!(todo.recurrence.as_deref(), Some("FREQ=WEEKLY;BYDAY=MO"));
}

#[test]
fn priorities_map_one_to_four_high_five_medium_six_to_nine_low_and_zero_none() {
    for (value, want) in [
        ("0", Priority::None),
        ("1", Priority::High),
        ("4", Priority::High),
        ("5", Priority::Medium),
        ("6", Priority::Low),
        ("9", Priority::Low),
    ] {
        let body = vtodo(&["UID:1", "SUMMARY:x", &format!("PRIORITY:{value}")]);
        assert_eq!(parse(body.as_bytes()).unwrap().priority, want, "{value}");
    }
    let body = vtodo(&["UID:1", "SUMMARY:x"]);
    assert_eq!(parse(body.as_bytes()).unwrap().priority, Priority::None);
    assert_eq!(
        refusal(&vtodo(&["UID:1", "SUMMARY:x", "PRIORITY:10"])).precondition,
        "valid-calendar-data"
    );
}

#[test]
fn due_is_read_in_utc_floating_as_utc_and_a_date_as_its_start() {
    for (due, want) in [
        ("DUE:20270105T090000Z", "2027-01-05T09:00:00Z"),
        ("DUE:20270105T090000", "2027-01-05T09:00:00Z"),
        ("DUE;VALUE=DATE:20270105", "2027-01-05T00:00:00Z"),
    ] {
        let todo = parse(vtodo(&["UID:1", "SUMMARY:x", due]).as_bytes()).unwrap();
        assert_eq!(todo.due_at.unwrap().utc(), at(want), "{due}");
        assert_eq!(todo.timezone, None, "{due}");
    }
}

#[test]
fn a_due_in_a_zone_only_its_vtimezone_defines_is_converted_through_that_vtimezone() {
    let body = vtodo(&[
        "UID:1",
        "SUMMARY:x",
        "DUE;TZID=W. Europe Standard Time:20270705T090000",
    ])
    .replace("BEGIN:VTODO", &format!("{BERLIN_VTIMEZONE}BEGIN:VTODO"));
    let todo = parse(body.as_bytes()).unwrap();
    assert_eq!(todo.due_at.unwrap().utc(), at("2027-07-05T07:00:00Z"));
    assert_eq!(todo.timezone, None);
    let unknown = vtodo(&[
        "UID:1",
        "SUMMARY:x",
        "DUE;TZID=Mars/Olympus:20270705T090000",
    ]);
    assert_eq!(refusal(&unknown).precondition, "valid-calendar-data");
}

#[test]
fn completed_is_a_status_or_a_completed_property_and_reltype_picks_the_parent() {
    let todo = parse(
        vtodo(&[
            "UID:1",
            "SUMMARY:x",
            "COMPLETED:20270102T100000Z",
            "RELATED-TO;RELTYPE=CHILD:kid",
            "RELATED-TO;RELTYPE=PARENT:mum",
        ])
        .as_bytes(),
    )
    .unwrap();
    assert!(todo.completed);
    assert_eq!(todo.parent_uid.as_deref(), Some("mum"));
    let todo = parse(vtodo(&["UID:1", "SUMMARY:x", "STATUS:IN-PROCESS"]).as_bytes()).unwrap();
    assert!(!todo.completed);
    assert_eq!(todo.parent_uid, None);
}

#[test]
fn data_that_is_not_one_utf8_vcalendar_is_not_valid_calendar_data() {
    for body in [
        b"\xff\xfe".to_vec(),
        b"hello".to_vec(),
        b"BEGIN:VCARD\r\nFN:x\r\nEND:VCARD\r\n".to_vec(),
        b"BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:1\r\n".to_vec(),
        format!("{0}{0}", vtodo(&["UID:1", "SUMMARY:x"])).into_bytes(),
        vtodo(&["UID:1", "SUMMARY:x", "DUE:tomorrow"]).into_bytes(),
    ] {
        let refused = parse(&body).unwrap_err();
        assert_eq!(refused.precondition, "valid-calendar-data", "{body:?}");
    }
}

#[test]
fn events_journals_free_busy_and_a_calendar_without_a_task_are_unsupported_components() {
    let event = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    for kind in ["VEVENT", "VJOURNAL", "VFREEBUSY"] {
        let body = event.replace("VEVENT", kind);
        assert_eq!(refusal(&body).precondition, "supported-calendar-component");
    }
    let mixed = vtodo(&["UID:1", "SUMMARY:x"]).replace(
        "END:VCALENDAR",
        "BEGIN:VEVENT\r\nUID:2\r\nEND:VEVENT\r\nEND:VCALENDAR",
    );
    assert_eq!(refusal(&mixed).precondition, "supported-calendar-component");
    let empty = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n";
    assert_eq!(refusal(empty).precondition, "supported-calendar-component");
}

#[test]
fn two_vtodos_overrides_included_or_a_missing_uid_are_not_a_valid_object_resource() {
    let one = vtodo(&[
        "UID:1",
        "SUMMARY:x",
        "DUE:20270105T090000Z",
        "RRULE:FREQ=DAILY",
    ]);
    let override_ =
        "BEGIN:VTODO\r\nUID:1\r\nRECURRENCE-ID:20270106T090000Z\r\nSUMMARY:y\r\nEND:VTODO\r\n";
    let two = one.replace("END:VCALENDAR", &format!("{override_}END:VCALENDAR"));
    assert_eq!(refusal(&two).precondition, "valid-calendar-object-resource");
    let other = two.replace("UID:1\r\nRECURRENCE-ID:20270106T090000Z", "UID:2");
    assert_eq!(
        refusal(&other).precondition,
        "valid-calendar-object-resource"
    );
    let anonymous = vtodo(&["SUMMARY:x"]);
    assert_eq!(
        refusal(&anonymous).precondition,
        "valid-calendar-object-resource"
    );
    let twice = vtodo(&["UID:1", "SUMMARY:x", "SUMMARY:y"]);
    assert_eq!(
        refusal(&twice).detail,
        "The VTODO has SUMMARY more than once"
    );
}

#[test]
fn fields_breaking_the_models_limits_are_refused_with_the_domains_own_sentence() {
    let long = format!("SUMMARY:{}", "x".repeat(201));
    let cases: [(Vec<&str>, &str); 6] = [
        (vec!["UID:1"], "Title must not be empty"),
        (vec!["UID:1", "SUMMARY: "], "Title must not be empty"),
        (
            vec!["UID:1", &long],
            "Title must be at most 200 characters long",
        ),
        (
            vec![
                "UID:1",
                "SUMMARY:x",
                "DUE:20270105T090000Z",
                "RRULE:FREQ=HOURLY",
            ],
            "Recurrence: FREQ=HOURLY is not valid",
        ),
        (
            vec![
                "UID:1",
                "SUMMARY:x",
                "DUE;TZID=America/New_York:99991231T230000",
            ],
            "Due date must be in the years 1 to 9999",
        ),
        (
            vec!["UID:1", "SUMMARY:x", "CATEGORIES:ok,a\tb"],
            "Tag must not contain control characters (tag 2)",
        ),
    ];
    for (lines, detail) in cases {
        let refused = refusal(&vtodo(&lines));
        assert_eq!(refused.precondition, "valid-calendar-object-resource");
        assert_eq!(refused.detail, detail);
    }
}

#[test]
fn a_recurring_task_without_a_due_date_is_refused() {
    let refused = refusal(&vtodo(&[
        "UID:1",
        "SUMMARY:x",
        "DTSTART:20270105T090000Z",
        "RRULE:FREQ=DAILY",
    ]));
    assert_eq!(refused.precondition, "valid-calendar-object-resource");
    assert!(
        refused.detail.contains("needs a due date"),
        "{}",
        refused.detail
    );
}

#[test]
fn a_body_nesting_components_deeper_than_any_calendar_does_is_refused_before_it_is_read() {
    let deep = |n: usize| {
        format!(
            "BEGIN:VCALENDAR\r\n{}{}END:VCALENDAR\r\n",
            "BEGIN:X-A\r\n\r\n ".repeat(n),
            "END:X-A\r\n".repeat(n)
        )
    };
    assert_eq!(refusal(&deep(5_000)).precondition, "valid-calendar-data");
    let hidden = deep(40).replace("\r\n\r\n BEGIN", "\r\nX-P:a\r\n END:X-A\r\n\r\n BEGIN");
    assert_eq!(refusal(&hidden).precondition, "valid-calendar-data");
    assert_eq!(
        refusal(&deep(3)).precondition,
        "supported-calendar-component"
    );
}
