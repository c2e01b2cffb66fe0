//! CalDAV (RFC 4791) for the task apps people already use: WebDAV methods and XML in, the same
//! data functions the REST handlers call, XML and iCalendar out.

pub mod filter;
pub mod ical;
