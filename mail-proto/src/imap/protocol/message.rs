//! Flags, dates and STORE operations.

use std::fmt;

/// A message flag: a system flag or a keyword.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Flag {
    /// `\Seen`.
    Seen,
    /// `\Answered`.
    Answered,
    /// `\Flagged`.
    Flagged,
    /// `\Deleted`.
    Deleted,
    /// `\Draft`.
    Draft,
    /// `\Recent` (server-set only).
    Recent,
    /// Another `\Name` flag (RFC 3501 `flag-extension`), without the backslash.
    Extension(String),
    /// A keyword such as `$Forwarded` or `NonJunk`, as the client spelt it.
    Keyword(String),
}

impl Flag {
    /// Parses a flag as written on the wire (`\Seen`, `$Label1`); system
    /// flags match case-insensitively.
    pub fn parse(s: &str) -> Flag {
        match s.strip_prefix('\\') {
            Some(name) => match name.to_ascii_lowercase().as_str() {
                "seen" => Flag::Seen,
                "answered" => Flag::Answered,
                "flagged" => Flag::Flagged,
                "deleted" => Flag::Deleted,
                "draft" => Flag::Draft,
                "recent" => Flag::Recent,
                _ => Flag::Extension(name.to_string()),
            },
            None => Flag::Keyword(s.to_string()),
        }
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Flag::Seen => f.write_str("\\Seen"),
            Flag::Answered => f.write_str("\\Answered"),
            Flag::Flagged => f.write_str("\\Flagged"),
            Flag::Deleted => f.write_str("\\Deleted"),
            Flag::Draft => f.write_str("\\Draft"),
            Flag::Recent => f.write_str("\\Recent"),
            Flag::Extension(s) => write!(f, "\\{s}"),
            Flag::Keyword(s) => f.write_str(s),
        }
    }
}

/// How STORE changes the flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOp {
    /// `FLAGS`: replace.
    Replace,
    /// `+FLAGS`: add.
    Add,
    /// `-FLAGS`: remove.
    Remove,
}

/// A calendar date from SEARCH (`1-Feb-1994`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ImapDate {
    /// Year, four digits.
    pub year: u16,
    /// Month, 1–12.
    pub month: u8,
    /// Day of month, 1–31 (checked against the month).
    pub day: u8,
}

/// An APPEND / INTERNALDATE timestamp (`"17-Jul-1996 02:44:25 -0700"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImapDateTime {
    /// The local date.
    pub date: ImapDate,
    /// Hour, 0–23.
    pub hour: u8,
    /// Minute, 0–59.
    pub minute: u8,
    /// Second, 0–60 (leap second allowed).
    pub second: u8,
    /// Offset from UTC in minutes, east positive.
    pub offset_minutes: i16,
}

pub(crate) const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

impl ImapDate {
    /// Builds a date after checking month and day ranges (with leap years).
    pub fn new(year: u16, month: u8, day: u8) -> Option<ImapDate> {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (1..=days)
            .contains(&day)
            .then_some(ImapDate { year, month, day })
    }

    /// Seconds from the Unix epoch to midnight UTC of this date.
    pub fn unix_days(&self) -> i64 {
        // Days-from-civil (proleptic Gregorian), shifted so March starts the year.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }
}

impl ImapDateTime {
    /// Seconds since the Unix epoch.
    pub fn unix_time(&self) -> i64 {
        self.date.unix_days() * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
            - i64::from(self.offset_minutes) * 60
    }
}

impl fmt::Display for ImapDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let month = MONTHS
            .get(usize::from(self.month).wrapping_sub(1))
            .copied()
            .unwrap_or("Jan");
        write!(f, "{}-{}-{:04}", self.day, month, self.year)
    }
}

impl fmt::Display for ImapDateTime {
    /// The `date-time` form without quotes, day padded with a space.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let month = MONTHS
            .get(usize::from(self.date.month).wrapping_sub(1))
            .copied()
            .unwrap_or("Jan");
        let sign = if self.offset_minutes < 0 { '-' } else { '+' };
        let off = self.offset_minutes.unsigned_abs();
        write!(
            f,
            "{:>2}-{}-{:04} {:02}:{:02}:{:02} {}{:02}{:02}",
            self.date.day,
            month,
            self.date.year,
            self.hour,
            self.minute,
            self.second,
            sign,
            off / 60,
            off % 60
        )
    }
}

/// The English three-letter month names used by IMAP dates.
pub fn message_months() -> &'static [&'static str; 12] {
    &MONTHS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert!(ImapDate::new(2024, 2, 29).is_some());
        assert!(ImapDate::new(2023, 2, 29).is_none());
        assert!(ImapDate::new(2023, 13, 1).is_none());
        let d = ImapDate::new(1970, 1, 2).unwrap();
        assert_eq!(d.unix_days(), 1);
        let dt = ImapDateTime {
            date: ImapDate::new(1996, 7, 17).unwrap(),
            hour: 2,
            minute: 44,
            second: 25,
            offset_minutes: -420,
        };
        assert_eq!(dt.to_string(), "17-Jul-1996 02:44:25 -0700");
        assert_eq!(dt.unix_time(), 837_596_665);
        assert_eq!(Flag::parse("\\SEEN"), Flag::Seen);
        assert_eq!(Flag::parse("$Forwarded").to_string(), "$Forwarded");
    }
}
