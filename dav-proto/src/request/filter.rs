//! The filters carried by `calendar-query` and `addressbook-query`, with
//! their time ranges and text matches.
//!
//! These are the parsed shapes only; evaluating a filter against an
//! iCalendar or vCard object belongs to the object layer.

use super::RequestError;
use crate::names::{NS_CALDAV, NS_CARDDAV};
use crate::xml::Element;

/// A UTC date-time as the CalDAV time-range attributes carry it
/// (`YYYYMMDDTHHMMSSZ`). Field order makes the derived ordering
/// chronological.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcDateTime {
    /// Year, 0..=9999.
    pub year: u16,
    /// Month, 1..=12.
    pub month: u8,
    /// Day of month, 1..=31 (checked against the month and leap years).
    pub day: u8,
    /// Hour, 0..=23.
    pub hour: u8,
    /// Minute, 0..=59.
    pub minute: u8,
    /// Second, 0..=60 (a leap second is accepted).
    pub second: u8,
}

impl UtcDateTime {
    /// Parses the basic ISO 8601 UTC form `YYYYMMDDTHHMMSSZ`; local times and
    /// dates without a time are refused, as CalDAV requires UTC here.
    pub fn parse(s: &str) -> Option<UtcDateTime> {
        let b = s.as_bytes();
        if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u16> {
            let digits = b.get(r)?;
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            Some(
                digits
                    .iter()
                    .fold(0u16, |n, d| n * 10 + u16::from(d - b'0')),
            )
        };
        let year = num(0..4)?;
        let month = u8::try_from(num(4..6)?).ok()?;
        let day = u8::try_from(num(6..8)?).ok()?;
        let hour = u8::try_from(num(9..11)?).ok()?;
        let minute = u8::try_from(num(11..13)?).ok()?;
        let second = u8::try_from(num(13..15)?).ok()?;
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        if day == 0 || day > days || hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        Some(UtcDateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
        })
    }
}

impl std::fmt::Display for UtcDateTime {
    /// Writes the `YYYYMMDDTHHMMSSZ` form back.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// A `CALDAV:time-range`: at least one bound, start before end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// Inclusive start, if given.
    pub start: Option<UtcDateTime>,
    /// Exclusive end, if given.
    pub end: Option<UtcDateTime>,
}

impl TimeRange {
    /// Reads the `start` and `end` attributes of a time-range (or
    /// `expand`, `limit-recurrence-set`) element.
    pub(crate) fn from_element(e: &Element) -> Result<TimeRange, RequestError> {
        let bound = |attr: &str| -> Result<Option<UtcDateTime>, RequestError> {
            match e.attr(attr) {
                None => Ok(None),
                Some(v) => UtcDateTime::parse(v)
                    .map(Some)
                    .ok_or_else(|| RequestError::invalid("CALDAV:time-range date-time", v)),
            }
        };
        let range = TimeRange {
            start: bound("start")?,
            end: bound("end")?,
        };
        match (range.start, range.end) {
            (None, None) => Err(RequestError::Missing("CALDAV:time-range start or end")),
            (Some(s), Some(end)) if s >= end => Err(RequestError::invalid(
                "CALDAV:time-range (start not before end)",
                &format!("{s}/{end}"),
            )),
            _ => Ok(range),
        }
    }
}

/// The collation a text match compares with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Collation {
    /// `i;ascii-casemap`, the default: ASCII letters compare caselessly.
    AsciiCasemap,
    /// `i;octet`: byte for byte.
    Octet,
    /// `i;unicode-casemap` (CardDAV's default).
    UnicodeCasemap,
    /// Anything else; the server answers `supported-collation`.
    Other(String),
}

impl Collation {
    fn parse(s: &str) -> Collation {
        match s {
            "i;ascii-casemap" => Collation::AsciiCasemap,
            "i;octet" => Collation::Octet,
            "i;unicode-casemap" => Collation::UnicodeCasemap,
            other => Collation::Other(other.to_owned()),
        }
    }
}

/// How a text match compares (CardDAV adds all but `Contains`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchType {
    /// Substring, the default.
    Contains,
    /// Whole value.
    Equals,
    /// Prefix.
    StartsWith,
    /// Suffix.
    EndsWith,
}

/// A `text-match` element of either namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextMatch {
    /// The text to look for.
    pub text: String,
    /// The collation to compare with.
    pub collation: Collation,
    /// `negate-condition="yes"`: the match succeeds when the text is absent.
    pub negate: bool,
    /// The comparison.
    pub match_type: MatchType,
}

impl TextMatch {
    fn from_element(e: &Element, default: Collation) -> Result<TextMatch, RequestError> {
        let negate = match e.attr("negate-condition") {
            None | Some("no") => false,
            Some("yes") => true,
            Some(v) => return Err(RequestError::invalid("negate-condition", v)),
        };
        let match_type = match e.attr("match-type") {
            None | Some("contains") => MatchType::Contains,
            Some("equals") => MatchType::Equals,
            Some("starts-with") => MatchType::StartsWith,
            Some("ends-with") => MatchType::EndsWith,
            Some(v) => return Err(RequestError::invalid("match-type", v)),
        };
        Ok(TextMatch {
            text: e.text.clone(),
            collation: e.attr("collation").map_or(default, Collation::parse),
            negate,
            match_type,
        })
    }
}

/// Whether all or any of a filter's tests must hold (CardDAV `test`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterTest {
    /// At least one test must hold (CardDAV's default).
    AnyOf,
    /// Every test must hold (CalDAV filters always combine this way).
    AllOf,
}

impl FilterTest {
    fn from_attr(e: &Element, default: FilterTest) -> Result<FilterTest, RequestError> {
        match e.attr("test") {
            None => Ok(default),
            Some("anyof") => Ok(FilterTest::AnyOf),
            Some("allof") => Ok(FilterTest::AllOf),
            Some(v) => Err(RequestError::invalid("test", v)),
        }
    }
}

/// A `param-filter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamFilter {
    /// Parameter name, e.g. `PARTSTAT` or `TYPE`.
    pub name: String,
    /// `is-not-defined`: matches when the parameter is absent.
    pub is_not_defined: bool,
    /// The text the parameter value must match, if any.
    pub text_match: Option<TextMatch>,
}

/// A `prop-filter` of either namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropFilter {
    /// Property name, e.g. `SUMMARY`, `UID`, `FN`, `EMAIL`.
    pub name: String,
    /// `is-not-defined`: matches when the property is absent.
    pub is_not_defined: bool,
    /// How the tests combine (always `AllOf` for CalDAV).
    pub test: FilterTest,
    /// A time range the property's value must overlap (CalDAV only).
    pub time_range: Option<TimeRange>,
    /// Text matches (CalDAV allows one, CardDAV several).
    pub text_matches: Vec<TextMatch>,
    /// Parameter filters.
    pub param_filters: Vec<ParamFilter>,
}

/// A CalDAV `comp-filter`, recursively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompFilter {
    /// Component name: `VCALENDAR` at the top, then `VEVENT`, `VTODO`, ...
    pub name: String,
    /// `is-not-defined`: matches when no such component exists.
    pub is_not_defined: bool,
    /// A time range the component must overlap (any occurrence of a
    /// recurring component counts).
    pub time_range: Option<TimeRange>,
    /// Property filters, all of which must hold.
    pub prop_filters: Vec<PropFilter>,
    /// Nested component filters, all of which must hold.
    pub comp_filters: Vec<CompFilter>,
}

/// A CardDAV `filter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressFilter {
    /// How the property filters combine.
    pub test: FilterTest,
    /// Property filters; none means every card matches.
    pub prop_filters: Vec<PropFilter>,
}

/// Reads a `name` attribute, which every filter element must have.
fn name_attr(e: &Element, what: &'static str) -> Result<String, RequestError> {
    match e.attr("name") {
        Some(n) if !n.is_empty() => Ok(n.to_owned()),
        _ => Err(RequestError::Missing(what)),
    }
}

fn param_filter(e: &Element, ns: &str, default: &Collation) -> Result<ParamFilter, RequestError> {
    Ok(ParamFilter {
        name: name_attr(e, "param-filter name")?,
        is_not_defined: e.child(ns, "is-not-defined").is_some(),
        text_match: e
            .child(ns, "text-match")
            .map(|t| TextMatch::from_element(t, default.clone()))
            .transpose()?,
    })
}

fn prop_filter(e: &Element, ns: &str, default: &Collation) -> Result<PropFilter, RequestError> {
    let caldav = ns == NS_CALDAV;
    Ok(PropFilter {
        name: name_attr(e, "prop-filter name")?,
        is_not_defined: e.child(ns, "is-not-defined").is_some(),
        test: if caldav {
            FilterTest::AllOf
        } else {
            FilterTest::from_attr(e, FilterTest::AnyOf)?
        },
        time_range: match e.child(NS_CALDAV, "time-range") {
            Some(t) if caldav => Some(TimeRange::from_element(t)?),
            _ => None,
        },
        text_matches: e
            .children_named(ns, "text-match")
            .map(|t| TextMatch::from_element(t, default.clone()))
            .collect::<Result<_, _>>()?,
        param_filters: e
            .children_named(ns, "param-filter")
            .map(|p| param_filter(p, ns, default))
            .collect::<Result<_, _>>()?,
    })
}

impl CompFilter {
    /// Reads a `CALDAV:comp-filter` and its descendants. Nesting is already
    /// bounded by the XML depth limit, so the recursion is too.
    pub(crate) fn from_element(e: &Element) -> Result<CompFilter, RequestError> {
        let ascii = Collation::AsciiCasemap;
        Ok(CompFilter {
            name: name_attr(e, "comp-filter name")?,
            is_not_defined: e.child(NS_CALDAV, "is-not-defined").is_some(),
            time_range: e
                .child(NS_CALDAV, "time-range")
                .map(TimeRange::from_element)
                .transpose()?,
            prop_filters: e
                .children_named(NS_CALDAV, "prop-filter")
                .map(|p| prop_filter(p, NS_CALDAV, &ascii))
                .collect::<Result<_, _>>()?,
            comp_filters: e
                .children_named(NS_CALDAV, "comp-filter")
                .map(CompFilter::from_element)
                .collect::<Result<_, _>>()?,
        })
    }
}

impl AddressFilter {
    /// Reads a `CARDDAV:filter`.
    pub(crate) fn from_element(e: &Element) -> Result<AddressFilter, RequestError> {
        let unicode = Collation::UnicodeCasemap;
        Ok(AddressFilter {
            test: FilterTest::from_attr(e, FilterTest::AnyOf)?,
            prop_filters: e
                .children_named(NS_CARDDAV, "prop-filter")
                .map(|p| prop_filter(p, NS_CARDDAV, &unicode))
                .collect::<Result<_, _>>()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_date_times() {
        let t = UtcDateTime::parse("20060104T140000Z").unwrap();
        assert_eq!(t.to_string(), "20060104T140000Z");
        assert!(UtcDateTime::parse("20240229T000000Z").is_some());
        for bad in [
            "20230229T000000Z",
            "20060104T140000",
            "20060104",
            "2006-01-04T14:00:00Z",
            "20061304T140000Z",
            "20060104T250000Z",
            "2006010\u{0661}T140000Z",
            "",
        ] {
            assert_eq!(UtcDateTime::parse(bad), None, "{bad}");
        }
        assert!(
            UtcDateTime::parse("20051231T235959Z").unwrap()
                < UtcDateTime::parse("20060101T000000Z").unwrap()
        );
    }
}
