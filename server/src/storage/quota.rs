//! Quota levels (manual §5.7): warn, soft (blocks sending) and hard (blocks
//! delivery), in bytes; 0 disables a level. A user's own quota applies when it
//! overrides the server.cfg defaults.

use super::Quota;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QuotaLevel {
    Ok,
    Warn,
    Soft,
    Hard,
}

/// A store's size against its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct QuotaStatus {
    pub size: i64,
    pub warn: i64,
    pub soft: i64,
    pub hard: i64,
    pub level: QuotaLevel,
}

/// The effective limits: the user's when they override, else the defaults.
pub fn effective(user: Option<&Quota>, defaults: &Quota) -> Quota {
    match user {
        Some(q) if q.override_default => *q,
        _ => *defaults,
    }
}

/// The highest level whose (enabled) limit `size` has reached.
pub fn status(size: i64, q: &Quota) -> QuotaStatus {
    let reached = |limit: i64| limit > 0 && size >= limit;
    let level = if reached(q.hard) {
        QuotaLevel::Hard
    } else if reached(q.soft) {
        QuotaLevel::Soft
    } else if reached(q.warn) {
        QuotaLevel::Warn
    } else {
        QuotaLevel::Ok
    };
    QuotaStatus {
        size,
        warn: q.warn,
        soft: q.soft,
        hard: q.hard,
        level,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_overrides() {
        let d = Quota {
            override_default: false,
            warn: 10,
            soft: 20,
            hard: 0,
        };
        assert_eq!(status(9, &d).level, QuotaLevel::Ok);
        assert_eq!(status(10, &d).level, QuotaLevel::Warn);
        assert_eq!(status(1000, &d).level, QuotaLevel::Soft);
        let u = Quota {
            override_default: true,
            warn: 0,
            soft: 0,
            hard: 5,
        };
        assert_eq!(effective(Some(&u), &d), u);
        let not = Quota {
            override_default: false,
            ..u
        };
        assert_eq!(effective(Some(&not), &d), d);
        assert_eq!(status(5, &effective(Some(&u), &d)).level, QuotaLevel::Hard);
    }
}
