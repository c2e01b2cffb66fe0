//! `calendar-query` filters (RFC 4791 9.7), evaluated against one calendar object.
// TEMPORARY stub until the dav-ical branch's filter lands.
use chrono::{DateTime, Utc};
pub struct CompFilter {
    pub name: String,
    pub is_not_defined: bool,
    pub time_range: Option<TimeRange>,
    pub props: Vec<PropFilter>,
    pub comps: Vec<CompFilter>,
}
pub struct PropFilter {
    pub name: String,
    pub is_not_defined: bool,
    pub time_range: Option<TimeRange>,
    pub text_match: Option<TextMatch>,
    pub params: Vec<ParamFilter>,
}
pub struct ParamFilter {
    pub name: String,
    pub is_not_defined: bool,
    pub text_match: Option<TextMatch>,
}
pub struct TextMatch {
    pub text: String,
    pub negate: bool,
    pub collation: Collation,
    pub match_type: MatchType,
}
pub enum Collation {
    AsciiCasemap,
    Octet,
    UnicodeCasemap,
}
pub enum MatchType {
    Contains,
    Equals,
    StartsWith,
    EndsWith,
}
pub struct TimeRange {
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}
pub fn matches(_filter: &CompFilter, _ics: &str) -> bool {
    true
}
