//! CalDAV REPORTs (RFC 4791 7.8, 7.9): `calendar-query` with the VTODO comp-filter, `prop-filter`
//! by `text-match` (SUMMARY, CATEGORIES, UID), `is-not-defined`, `negate-condition` and
//! `time-range`; `calendar-multiget` by hrefs; and an unknown REPORT refused, never a 207.

use crate::support::*;

/// The user, the Inbox's collection name, and the paths of three tasks PUT there, plus a task
/// in another list that no Inbox query may return.
struct Fixture {
    du: DavUser,
    inbox: String,
    milk: String,
    mum: String,
    cow: String,
    mum_uid: String,
}

fn fixture(app: &TestApp) -> Fixture {
    let du = dav_user(app);
    let inbox = inbox_id(app, &du.user);
    let put = |name: &str, uid: &str, lines: &[&str]| {
        let path = du.object(&inbox, name);
        du.create(app, &path, &vtodo(uid, lines));
        path
    };
    let milk = put(
        "milk.ics",
        &new_uid(),
        &[
            "SUMMARY:Buy Milk",
            "CATEGORIES:groceries,errands",
            "STATUS:NEEDS-ACTION",
            "DUE:20300110T120000Z",
        ],
    );
    let mum_uid = new_uid();
    let mum = put(
        "mum.ics",
        &mum_uid,
        &[
            "SUMMARY:Call mum",
            "CATEGORIES:family",
            "STATUS:COMPLETED",
            "COMPLETED:20260101T100000Z",
            "DUE:20300120T120000Z",
        ],
    );
    let cow = put(
        "cow.ics",
        &new_uid(),
        &[
            "SUMMARY:milk the cow",
            "CATEGORIES:farm",
            "STATUS:IN-PROCESS",
            "DUE:20300210T120000Z",
        ],
    );
    let elsewhere = id_str(&new_list(app, &du.user, "Elsewhere"));
    du.create(
        app,
        &du.object(&elsewhere, "other-milk.ics"),
        &vtodo(
            &new_uid(),
            &["SUMMARY:Milk elsewhere", "CATEGORIES:errands,family"],
        ),
    );
    Fixture {
        du,
        inbox,
        milk,
        mum,
        cow,
        mum_uid,
    }
}

impl Fixture {
    fn query(&self, app: &TestApp, filter: &str) -> Vec<String> {
        let found = self.du.query(app, &self.du.collection(&self.inbox), filter);
        assert_eq!(found.gone(), Vec::<String>::new(), "{}", found.body);
        found.present()
    }
}

fn text_match(property: &str, attributes: &str, text: &str) -> String {
    format!(
        r#"<c:prop-filter name="{property}"><c:text-match{attributes}>{text}</c:text-match></c:prop-filter>"#
    )
}

#[test]
fn a_vtodo_comp_filter_answers_every_task_of_the_collection_with_its_etag_and_data() {
    let app = TestApp::spawn();
    let f = fixture(&app);
    let found = f.du.query(&app, &f.du.collection(&f.inbox), "");
    assert_eq!(
        found.present(),
        sorted(&[f.milk.clone(), f.mum.clone(), f.cow.clone()])
    );
    for path in [&f.milk, &f.mum, &f.cow] {
        let r = found.get(path);
        let got = f.du.get(&app, path);
        assert_eq!(r.etag(), etag_of(&got), "{path}");
        let data = r.calendar_data();
        assert_eq!(
            vtodo_value(&data, "UID"),
            vtodo_value(&got.body, "UID"),
            "{path}"
        );
        assert_eq!(
            vtodo_value(&data, "SUMMARY"),
            vtodo_value(&got.body, "SUMMARY"),
            "{path}"
        );
    }
}

#[test]
fn a_vevent_comp_filter_matches_no_task() {
    let app = TestApp::spawn();
    let f = fixture(&app);
    let body = r#"<?xml version="1.0"?><c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"/></c:comp-filter></c:filter></c:calendar-query>"#;
    let found = Multistatus::of(&f.du.report(&app, &f.du.collection(&f.inbox), "1", body));
    assert_eq!(found.present(), Vec::<String>::new(), "{}", found.body);
}

#[test]
fn a_summary_text_match_is_a_substring_match_ignoring_case_within_the_collection() {
    let app = TestApp::spawn();
    let f = fixture(&app);
    let expected = sorted(&[f.milk.clone(), f.cow.clone()]);
    assert_eq!(
        f.query(&app, &text_match("SUMMARY", "", "MILK")),
        expected,
        "the default collation is i;ascii-casemap"
    );
    assert_eq!(
        f.query(
            &app,
            &text_match("SUMMARY", r#" collation="i;ascii-casemap""#, "mIlK")
        ),
        expected
    );
    assert_eq!(
        f.query(&app, &text_match("SUMMARY", "", "no such words")),
        Vec::<String>::new()
    );
}

#[test]
fn a_categories_text_match_finds_tasks_by_tag() {
    let app = TestApp::spawn();
    let f = fixture(&app);
    assert_eq!(
        f.query(&app, &text_match("CATEGORIES", "", "errand")),
        vec![f.milk.clone()]
    );
    assert_eq!(
        f.query(&app, &text_match("CATEGORIES", "", "FAMILY")),
        vec![f.mum.clone()]
    );
}

#[test]
fn a_uid_text_match_finds_the_one_task() {
    let app = TestApp::spawn();
    let f = fixture(&app);
    assert_eq!(
        f.query(&app, &text_match("UID", "", &f.mum_uid)),
        vec![f.mum.clone()]
    );
}

#[test]
fn completed_is_not_defined_finds_the_open_tasks() {
    let app = TestApp::spawn();
    let f = fixture(&app);
    let filter = r#"<c:prop-filter name="COMPLETED"><c:is-not-defined/></c:prop-filter>"#;
    assert_eq!(
        f.query(&app, filter),
        sorted(&[f.milk.clone(), f.cow.clone()])
    );
    let defined = r#"<c:prop-filter name="COMPLETED"/>"#;
    assert_eq!(
        f.query(&app, defined),
        vec![f.mum.clone()],
        "a bare prop-filter asks for the property to be there"
    );
}

#[test]
fn a_status_text_match_with_negate_condition_finds_what_is_not_completed() {
    let app = TestApp::spawn();
    let f = fixture(&app);
    let negated = text_match("STATUS", r#" negate-condition="yes""#, "COMPLETED");
    assert_eq!(
        f.query(&app, &negated),
        sorted(&[f.milk.clone(), f.cow.clone()])
    );
    let plain = text_match("STATUS", "", "COMPLETED");
    assert_eq!(f.query(&app, &plain), vec![f.mum.clone()]);
}

#[test]
fn a_status_filter_sees_a_completion_made_over_rest() {
    let app = TestApp::spawn();
    let f = fixture(&app);
    let uid = vtodo_value(&f.du.get(&app, &f.milk).body, "UID").expect("UID");
    let task = rest_task(&app, &f.du.user, &uid);
    let toggle = format!("{}/complete", task_path(&f.du.user, id_of(&task)));
    let done = app.send("PATCH", &toggle, Some(&f.du.user.token), None);
    assert_eq!(done.status, 200, "{}", done.body);
    let filter = r#"<c:prop-filter name="COMPLETED"><c:is-not-defined/></c:prop-filter>"#;
    assert_eq!(f.query(&app, filter), vec![f.cow.clone()]);
}

#[test]
fn a_time_range_on_vtodo_finds_the_tasks_due_in_it() {
    let app = TestApp::spawn();
    let f = fixture(&app);
    let january = r#"<c:time-range start="20300115T000000Z" end="20300201T000000Z"/>"#;
    assert_eq!(f.query(&app, january), vec![f.mum.clone()]);
    let winter = r#"<c:time-range start="20300101T000000Z" end="20300301T000000Z"/>"#;
    assert_eq!(
        f.query(&app, winter),
        sorted(&[f.milk.clone(), f.mum.clone(), f.cow.clone()])
    );
    let summer = r#"<c:time-range start="20300601T000000Z" end="20300701T000000Z"/>"#;
    assert_eq!(f.query(&app, summer), Vec::<String>::new());
}

/// RFC 4791 9.9, a VTODO with DUE and no DTSTART: it overlaps when start < DUE and end >= DUE.
#[test]
fn a_time_range_takes_a_due_at_its_end_but_not_at_its_start() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let list = id_str(&new_list(&app, &du.user, "Edges"));
    let at_start = du.object(&list, "at-start.ics");
    let at_end = du.object(&list, "at-end.ics");
    du.create(
        &app,
        &at_start,
        &vtodo(&new_uid(), &["SUMMARY:at start", "DUE:20300115T000000Z"]),
    );
    du.create(
        &app,
        &at_end,
        &vtodo(&new_uid(), &["SUMMARY:at end", "DUE:20300201T000000Z"]),
    );
    let range = r#"<c:time-range start="20300115T000000Z" end="20300201T000000Z"/>"#;
    let found = du.query(&app, &du.collection(&list), range);
    assert_eq!(found.present(), [at_end]);
}

#[test]
fn a_calendar_multiget_answers_each_href_and_a_404_for_an_unknown_one() {
    let app = TestApp::spawn();
    let f = fixture(&app);
    let unknown = f.du.object(&f.inbox, "nobody-here.ics");
    let body = calendar_multiget(&[&f.milk, &f.cow, &unknown]);
    let found = Multistatus::of(
        &f.du
            .report(&app, &f.du.collection(&f.inbox), "1", body.as_str()),
    );
    assert_eq!(
        found.hrefs(),
        sorted(&[f.milk.clone(), f.cow.clone(), unknown.clone()]),
        "exactly the hrefs asked for"
    );
    for path in [&f.milk, &f.cow] {
        let r = found.get(path);
        let got = f.du.get(&app, path);
        assert_eq!(r.etag(), etag_of(&got));
        assert_eq!(
            vtodo_value(&r.calendar_data(), "SUMMARY"),
            vtodo_value(&got.body, "SUMMARY")
        );
    }
    let missing = found.get(&unknown);
    let status = missing.status.or_else(|| {
        missing
            .missing_status(CALDAV, "calendar-data")
            .filter(|s| *s == 404)
    });
    assert_eq!(status, Some(404), "{:?}", missing.xml);
    assert!(missing.prop(CALDAV, "calendar-data").is_none());
}

#[test]
fn an_unknown_report_is_403_or_501_never_207() {
    let app = TestApp::spawn();
    let f = fixture(&app);
    let resp = f.du.report(
        &app,
        &f.du.collection(&f.inbox),
        "1",
        r#"<?xml version="1.0"?><x:whatever xmlns:x="urn:x"/>"#,
    );
    assert!(
        resp.status == 403 || resp.status == 501,
        "{} {}",
        resp.status,
        resp.body
    );
}

#[test]
fn calendar_data_with_xml_special_characters_comes_back_intact() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let inbox = inbox_id(&app, &du.user);
    let path = du.object(&inbox, "markup.ics");
    let summary = r#"if a < b && c > d then "quote" 'it'"#;
    du.create(
        &app,
        &path,
        &vtodo(&new_uid(), &[&format!("SUMMARY:{summary}")]),
    );
    let body = calendar_multiget(&[&path]);
    let found = Multistatus::of(&du.report(&app, &du.collection(&inbox), "1", &body));
    let data = found.get(&path).calendar_data();
    assert_eq!(vtodo_value(&data, "SUMMARY").as_deref(), Some(summary));
    let queried = du.query(&app, &du.collection(&inbox), "");
    let data = queried.get(&path).calendar_data();
    assert_eq!(vtodo_value(&data, "SUMMARY").as_deref(), Some(summary));
}

#[test]
fn a_text_match_with_xml_escapes_matches_the_unescaped_text() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let inbox = inbox_id(&app, &du.user);
    let path = du.object(&inbox, "rock.ics");
    du.create(
        &app,
        &path,
        &vtodo(&new_uid(), &["SUMMARY:Rock & Roll <live>"]),
    );
    du.create(
        &app,
        &du.object(&inbox, "jazz.ics"),
        &vtodo(&new_uid(), &["SUMMARY:Jazz"]),
    );
    let filter = text_match("SUMMARY", "", "&amp; roll &lt;LIVE");
    let found = du.query(&app, &du.collection(&inbox), &filter);
    assert_eq!(found.present(), vec![path], "{}", found.body);
}

/// The issue's initial sync: a client fetches a whole list of more tasks than one page of the
/// changes feed (500). RFC 6578 3.6 lets the server truncate with a `507` for the collection and
/// a token to continue from; the walk must end with every task, once.
#[test]
fn an_initial_sync_a_query_and_a_propfind_of_a_list_of_520_tasks_miss_none() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let inbox = inbox_id(&app, &du.user);
    let coll = du.collection(&inbox);
    let expected: Vec<String> = (0..520)
        .map(|i| {
            let task = app.task(&du.user, &format!("bulk {i}"));
            du.object_of_uid(&inbox, task["uid"].as_str().unwrap())
        })
        .collect();
    let expected = sorted(&expected);
    let mut seen: Vec<String> = Vec::new();
    let mut token = String::new();
    for round in 0.. {
        assert!(round < 100, "the sync does not end");
        let page = du.sync(&app, &coll, &token);
        let truncated = page
            .responses
            .iter()
            .any(|r| r.href == coll && r.status == Some(507));
        seen.extend(page.present().into_iter().filter(|h| *h != coll));
        token = page.token();
        if !truncated {
            break;
        }
    }
    assert_eq!(sorted(&seen), expected, "every task exactly once");
    let queried = du.query(&app, &coll, "");
    assert_eq!(queried.present(), expected);
    let listed = du.props(&app, &coll, "1", &["d:getetag"]);
    let objects: Vec<String> = listed
        .hrefs()
        .into_iter()
        .filter(|h| h.ends_with(".ics"))
        .collect();
    assert_eq!(objects, expected);
}
