//! Store size and quota: the levels (warn, soft, hard; bytes, 0 disables a
//! level), the size accounting every write does, and the one admission rule
//! for writes that store content.
//!
//! The levels behave as in KC: *warn* is reported only, *soft* means the
//! user may no longer send (kc has no submission path; the level is reported
//! so a submitting gateway can enforce it), *hard* means nothing more may be
//! delivered to or stored in the store. A user's own quota applies when it
//! overrides the server.cfg defaults.
//!
//! [`admits`] is the hard-level rule. Every write that stores content (an
//! append, an LMTP delivery, a copy, a move, a groupware PUT) calls
//! [`admit`] inside its own transaction, before the first row or attachment
//! file is written, with the size the store will have *after* the write; so
//! two concurrent writes cannot both squeeze under the limit, and a refused
//! write leaves nothing behind. Deletes, flag changes and folder writes store
//! no content and are never refused, so an over-quota user can clean up.

use rusqlite::{params, Connection, OptionalExtension};

use super::{Quota, Result, StorageError};

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

/// The admission rule: a write that leaves the store at `size_after` bytes
/// is admitted unless that is above the hard level. A store may fill up to
/// exactly its hard level (which is then reached, see [`status`]); a store
/// already above it (its limit was lowered) admits no content-storing write,
/// a move inside it included, until it shrinks.
pub fn admits(size_after: i64, q: &Quota) -> bool {
    q.hard <= 0 || size_after <= q.hard
}

/// A store's size and effective limits, read on the caller's connection (in
/// a write: inside its transaction, so the answer holds until the commit).
pub(super) fn size_and_limits(
    c: &Connection,
    store: i64,
    defaults: &Quota,
) -> Result<(i64, Quota)> {
    let (size, own): (i64, Option<Quota>) = c
        .query_row(
            "SELECT s.size, o.quota_override, o.quota_warn, o.quota_soft, o.quota_hard \
             FROM stores s LEFT JOIN objects o ON o.id = s.owner_id WHERE s.id = ?1 AND s.deleted = 0",
            params![store],
            |r| {
                let own = match r.get::<_, Option<bool>>(1)? {
                    Some(override_default) => Some(Quota {
                        override_default,
                        warn: r.get(2)?,
                        soft: r.get(3)?,
                        hard: r.get(4)?,
                    }),
                    None => None,
                };
                Ok((r.get(0)?, own))
            },
        )
        .optional()?
        .ok_or(StorageError::NotFound)?;
    Ok((size, effective(own.as_ref(), defaults)))
}

/// Apply [`admits`] to `store` growing by `added` bytes (0 for a move inside
/// the store, negative for a groupware object that shrinks): `OverQuota`
/// when refused. Call it inside the write's transaction, before writing.
pub(super) fn admit(c: &Connection, store: i64, added: i64, defaults: &Quota) -> Result<()> {
    let (size, q) = size_and_limits(c, store, defaults)?;
    if admits(size.saturating_add(added), &q) {
        Ok(())
    } else {
        Err(StorageError::OverQuota)
    }
}

/// Add `delta` bytes to a store's size (never below 0) and touch it.
pub(super) fn add_size(c: &Connection, store: i64, delta: i64, now: i64) -> Result<()> {
    c.execute(
        "UPDATE stores SET size = MAX(0, size + ?2), modified = ?3 WHERE id = ?1",
        params![store, delta, now],
    )?;
    Ok(())
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

    #[test]
    fn admission_uses_the_size_after_the_write() {
        let q = Quota {
            override_default: true,
            warn: 1,
            soft: 2,
            hard: 100,
        };
        // Warn and soft never refuse.
        assert!(admits(99, &q));
        // Up to exactly the hard level (which is then reached).
        assert!(admits(100, &q));
        assert_eq!(status(100, &q).level, QuotaLevel::Hard);
        assert!(!admits(101, &q));
        // No hard level: everything is admitted.
        assert!(admits(i64::MAX, &Quota { hard: 0, ..q }));
    }
}
