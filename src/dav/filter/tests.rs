use super::*;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn task(lines: &[&str]) -> String {
    let mut text = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\nUID:u-1\r\n");
    for line in lines {
        text.push_str(line);
        text.push_str("\r\n");
    }
    text + "END:VTODO\r\nEND:VCALENDAR\r\n"
}

/// VCALENDAR > VTODO carrying `props` and `range`.
fn todos(props: Vec<PropFilter>, range: Option<TimeRange>) -> CompFilter {
    CompFilter {
        name: "VCALENDAR".into(),
        comps: vec![CompFilter {
            name: "VTODO".into(),
            time_range: range,
            props,
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn text(name: &str, text: &str, negate: bool) -> PropFilter {
    PropFilter {
        name: name.into(),
        text_match: Some(TextMatch {
            text: text.into(),
            negate,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn undefined(name: &str) -> PropFilter {
    PropFilter {
        name: name.into(),
        is_not_defined: true,
        ..Default::default()
    }
}

fn range(start: Option<&str>, end: Option<&str>) -> Option<TimeRange> {
    Some(TimeRange {
        start: start.map(at),
        end: end.map(at),
    })
}

#[test]
fn the_open_tasks_queries_leave_out_completed_tasks() {
    let open = task(&["SUMMARY:x", "STATUS:NEEDS-ACTION"]);
    let done = task(&[
        "SUMMARY:x",
        "STATUS:COMPLETED",
        "COMPLETED:20270102T100000Z",
    ]);
    let by_completed = todos(vec![undefined("COMPLETED")], None);
    assert!(matches(&by_completed, &open));
    assert!(!matches(&by_completed, &done));
    let by_status = todos(vec![text("STATUS", "COMPLETED", true)], None);
    assert!(matches(&by_status, &open));
    assert!(!matches(&by_status, &done));
    // RFC 4791 9.7.2: a text-match needs the property to exist, negated or not.
    assert!(!matches(&by_status, &task(&["SUMMARY:x"])));
}

#[test]
fn a_component_filter_needs_its_component_and_is_not_defined_needs_its_absence() {
    let plain = task(&["SUMMARY:x"]);
    let event = CompFilter {
        name: "VCALENDAR".into(),
        comps: vec![CompFilter {
            name: "VEVENT".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    assert!(!matches(&event, &plain));
    assert!(matches(&todos(vec![], None), &plain));
    let no_alarm = CompFilter {
        name: "VCALENDAR".into(),
        comps: vec![CompFilter {
            name: "VTODO".into(),
            comps: vec![CompFilter {
                name: "VALARM".into(),
                is_not_defined: true,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    assert!(matches(&no_alarm, &plain));
    let alarmed = task(&[
        "SUMMARY:x",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        "TRIGGER:-PT5M",
        "END:VALARM",
    ]);
    assert!(!matches(&no_alarm, &alarmed));
    let wrong_root = CompFilter {
        name: "VCARD".into(),
        ..Default::default()
    };
    assert!(!matches(&wrong_root, &plain));
    assert!(!matches(&todos(vec![], None), "not a calendar"));
}

#[test]
fn text_matches_unescape_the_value_and_fold_case_by_collation_and_match_type() {
    let t = task(&["SUMMARY:Buy Milk\\, eggs"]);
    assert!(matches(
        &todos(vec![text("SUMMARY", "milk, EGGS", false)], None),
        &t
    ));
    assert!(matches(&todos(vec![text("UID", "u-1", false)], None), &t));
    let mut octet = text("SUMMARY", "milk", false);
    if let Some(m) = octet.text_match.as_mut() {
        m.collation = Collation::Octet;
    }
    assert!(!matches(&todos(vec![octet], None), &t));
    let mut equals = text("summary", "buy milk, eggs", false);
    if let Some(m) = equals.text_match.as_mut() {
        m.match_type = MatchType::Equals;
    }
    assert!(matches(&todos(vec![equals.clone()], None), &t));
    if let Some(m) = equals.text_match.as_mut() {
        m.text = "buy".into();
    }
    assert!(!matches(&todos(vec![equals], None), &t));
    let mut unicode = text("SUMMARY", "ÄRGER", false);
    if let Some(m) = unicode.text_match.as_mut() {
        m.collation = Collation::UnicodeCasemap;
    }
    assert!(matches(
        &todos(vec![unicode], None),
        &task(&["SUMMARY:ärger"])
    ));
    assert_eq!(Collation::parse("i;octet"), Some(Collation::Octet));
    assert_eq!(Collation::parse("i;basic"), None);
    assert_eq!(MatchType::parse("starts-with"), Some(MatchType::StartsWith));
}

#[test]
fn a_category_matches_when_any_value_on_any_line_does_and_negation_covers_them_all() {
    let t = task(&[
        "SUMMARY:x",
        "CATEGORIES:home,Shop\\,ping",
        "CATEGORIES:work",
    ]);
    assert!(matches(
        &todos(vec![text("CATEGORIES", "WORK", false)], None),
        &t
    ));
    assert!(matches(
        &todos(vec![text("CATEGORIES", "shop,p", false)], None),
        &t
    ));
    assert!(!matches(
        &todos(vec![text("CATEGORIES", "garden", false)], None),
        &t
    ));
    let not_home = todos(vec![text("CATEGORIES", "home", true)], None);
    assert!(!matches(
        &not_home,
        &task(&["SUMMARY:x", "CATEGORIES:home,work"])
    ));
    assert!(matches(&not_home, &task(&["SUMMARY:x", "CATEGORIES:work"])));
}

#[test]
fn a_parameter_filter_tests_the_parameters_of_the_property() {
    let child = task(&["SUMMARY:x", "RELATED-TO;RELTYPE=PARENT:p-1"]);
    let parent_of = |negate| PropFilter {
        name: "RELATED-TO".into(),
        params: vec![ParamFilter {
            name: "RELTYPE".into(),
            is_not_defined: false,
            text_match: Some(TextMatch {
                text: "parent".into(),
                negate,
                ..Default::default()
            }),
        }],
        ..Default::default()
    };
    assert!(matches(&todos(vec![parent_of(false)], None), &child));
    assert!(!matches(&todos(vec![parent_of(true)], None), &child));
    let untyped = PropFilter {
        name: "RELATED-TO".into(),
        params: vec![ParamFilter {
            name: "RELTYPE".into(),
            is_not_defined: true,
            text_match: None,
        }],
        ..Default::default()
    };
    assert!(!matches(&todos(vec![untyped.clone()], None), &child));
    assert!(matches(
        &todos(vec![untyped], None),
        &task(&["RELATED-TO:p-1"])
    ));
}

#[test]
fn a_vtodo_time_range_follows_the_rfc_4791_table() {
    let jan = range(Some("2027-01-01T00:00:00Z"), Some("2027-02-01T00:00:00Z"));
    let cases = [
        (vec!["DUE:20270115T090000Z"], true),
        (vec!["DUE:20270215T090000Z"], false),
        (vec!["DUE;VALUE=DATE:20270201"], true),
        (vec!["DUE;VALUE=DATE:20270202"], false),
        (vec!["DUE;TZID=Europe/Berlin:20270201T003000"], true),
        (
            vec!["DTSTART:20261201T000000Z", "DUE:20270301T000000Z"],
            true,
        ),
        (
            vec!["DTSTART:20261201T000000Z", "DUE:20261215T000000Z"],
            false,
        ),
        (vec!["DTSTART:20270120T000000Z", "DURATION:P30D"], true),
        (vec!["DTSTART:20261120T000000Z", "DURATION:P3D"], false),
        (vec!["DTSTART:20270131T000000Z"], true),
        (vec!["COMPLETED:20270110T000000Z"], true),
        (
            vec!["CREATED:20261201T000000Z", "COMPLETED:20261210T000000Z"],
            false,
        ),
        (vec!["CREATED:20270301T000000Z"], false),
        (vec!["CREATED:20261201T000000Z"], true),
        (vec!["SUMMARY:no dates at all"], true),
        (vec!["DUE:20261115T090000Z", "RRULE:FREQ=MONTHLY"], true),
        (vec!["DUE:20270315T090000Z", "RRULE:FREQ=MONTHLY"], false),
    ];
    for (lines, want) in cases {
        assert_eq!(
            matches(&todos(vec![], jan), &task(&lines)),
            want,
            "{lines:?}"
        );
    }
    let from = range(Some("2027-01-01T00:00:00Z"), None);
    assert!(matches(
        &todos(vec![], from),
        &task(&["DUE:20991231T000000Z"])
    ));
}

#[test]
fn a_property_time_range_tests_its_date_or_date_time_value() {
    let due = |range| {
        todos(
            vec![PropFilter {
                name: "DUE".into(),
                time_range: range,
                ..Default::default()
            }],
            None,
        )
    };
    let t = task(&["DUE:20270115T090000Z"]);
    assert!(matches(
        &due(range(
            Some("2027-01-15T09:00:00Z"),
            Some("2027-01-15T09:00:01Z")
        )),
        &t
    ));
    assert!(!matches(
        &due(range(None, Some("2027-01-15T09:00:00Z"))),
        &t
    ));
    let day = task(&["DUE;VALUE=DATE:20270115"]);
    assert!(matches(
        &due(range(Some("2027-01-15T12:00:00Z"), None)),
        &day
    ));
    assert!(!matches(
        &due(range(Some("2027-01-16T00:00:00Z"), None)),
        &day
    ));
    assert!(!matches(
        &due(range(None, None)),
        &task(&["SUMMARY:no due"])
    ));
}
