//! A `timestamptz` read straight from PostgreSQL's binary form and written in the contract's form
//! without chrono in between: a 10,000-task list carries up to 40,000 of them, and converting each
//! through chrono's calendar was a tenth of that response's time.

use postgres::types::{FromSql, Type};
use std::error::Error;

/// Microseconds since 2000-01-01T00:00:00Z, as PostgreSQL sends a `timestamptz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgMicros(i64);

impl<'a> FromSql<'a> for PgMicros {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<PgMicros, Box<dyn Error + Sync + Send>> {
        Ok(PgMicros(i64::from_be_bytes(raw.try_into()?)))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMPTZ
    }
}

impl From<chrono::DateTime<chrono::Utc>> for PgMicros {
    fn from(t: chrono::DateTime<chrono::Utc>) -> PgMicros {
        PgMicros(
            t.timestamp_micros()
                .saturating_sub(EPOCH_2000_DAYS * DAY_MICROS),
        )
    }
}

/// Days from 1970-01-01 to 2000-01-01.
const EPOCH_2000_DAYS: i64 = 10_957;
const DAY_MICROS: i64 = 86_400_000_000;

impl PgMicros {
    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ`, or `None` outside years 0..=9999 (and for ±infinity).
    fn format(self, buf: &mut [u8; 27]) -> Option<&str> {
        let days = self.0.div_euclid(DAY_MICROS) + EPOCH_2000_DAYS;
        let in_day = self.0.rem_euclid(DAY_MICROS);
        let (year, month, day) = civil_from_days(days);
        if !(0..=9999).contains(&year) {
            return None;
        }
        let secs = in_day / 1_000_000;
        let fields: [(i64, usize, usize); 7] = [
            (year, 0, 4),
            (month, 5, 2),
            (day, 8, 2),
            (secs / 3600, 11, 2),
            (secs / 60 % 60, 14, 2),
            (secs % 60, 17, 2),
            (in_day % 1_000_000, 20, 6),
        ];
        for (value, at, width) in fields {
            let mut v = value;
            for i in (at..at + width).rev() {
                buf[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        }
        for (at, sep) in [
            (4, b'-'),
            (7, b'-'),
            (10, b'T'),
            (13, b':'),
            (16, b':'),
            (19, b'.'),
            (26, b'Z'),
        ] {
            buf[at] = sep;
        }
        std::str::from_utf8(buf).ok()
    }
}

/// Year, month, day of a day count from 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl PgMicros {
    /// Appends the timestamp in the contract's form (chrono's for years beyond 0..=9999).
    pub fn write(self, out: &mut Vec<u8>) {
        let mut buf = [0u8; 27];
        if let Some(text) = self.format(&mut buf) {
            out.extend_from_slice(text.as_bytes());
            return;
        }
        let unix = self.0.saturating_add(EPOCH_2000_DAYS * DAY_MICROS);
        let text = chrono::DateTime::from_timestamp_micros(unix)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            .unwrap_or_else(|| if self.0 > 0 { "infinity" } else { "-infinity" }.into());
        out.extend_from_slice(text.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, SecondsFormat};

    fn written(micros: i64) -> String {
        let mut out = Vec::new();
        PgMicros(micros).write(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn formats_like_chrono_across_the_calendar() {
        let offset = EPOCH_2000_DAYS * DAY_MICROS;
        let mut unix = -62_167_219_200_000_000; // 0000-01-01
        while unix < 253_402_300_799_999_999 {
            let t = DateTime::from_timestamp_micros(unix).unwrap();
            let want = t.to_rfc3339_opts(SecondsFormat::Micros, true);
            assert_eq!(written(unix - offset), want);
            unix += 7_777_777_777_777; // about 90 days and an odd time of day
        }
        for unix in [
            0,
            -1,
            951_782_400_000_001,
            1_767_873_600_123_456,
            253_402_300_799_999_999,
        ] {
            let t = DateTime::from_timestamp_micros(unix).unwrap();
            let want = t.to_rfc3339_opts(SecondsFormat::Micros, true);
            assert_eq!(written(unix - offset), want);
        }
    }
}
