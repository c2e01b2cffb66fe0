//! `calendar-query` filters (RFC 4791 9.7), evaluated against one calendar object.
