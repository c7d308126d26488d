//! Message sequence sets (`1:4,7,9:*`, RFC 3501 `sequence-set`).

use std::fmt;

/// One end of a range: a number or `*` (the largest number in use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqNum {
    /// A non-zero message number or UID.
    Value(u32),
    /// `*`.
    Star,
}

impl SeqNum {
    /// Resolves `*` against the largest number in use.
    pub fn resolve(self, largest: u32) -> u32 {
        match self {
            SeqNum::Value(v) => v,
            SeqNum::Star => largest,
        }
    }
}

/// An inclusive range; `a:b` and `b:a` mean the same (RFC 3501 §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqRange {
    /// First end as written.
    pub start: SeqNum,
    /// Second end as written (equal to `start` for a single number).
    pub end: SeqNum,
}

impl SeqRange {
    /// The range as `(low, high)` once `*` is resolved against `largest`.
    pub fn bounds(&self, largest: u32) -> (u32, u32) {
        let a = self.start.resolve(largest);
        let b = self.end.resolve(largest);
        (a.min(b), a.max(b))
    }
}

/// A non-empty list of ranges, in client order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceSet(pub Vec<SeqRange>);

impl SequenceSet {
    /// A set of one number.
    pub fn single(n: u32) -> Self {
        SequenceSet(vec![SeqRange {
            start: SeqNum::Value(n),
            end: SeqNum::Value(n),
        }])
    }

    /// Builds the shortest set covering `numbers` (sorted, deduplicated):
    /// what COPYUID and APPENDUID replies carry.
    pub fn from_numbers(numbers: &[u32]) -> Self {
        let mut sorted = numbers.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let mut out: Vec<SeqRange> = Vec::new();
        for n in sorted {
            match out.last_mut() {
                Some(SeqRange {
                    end: SeqNum::Value(e),
                    ..
                }) if e.checked_add(1) == Some(n) => *e = n,
                _ => out.push(SeqRange {
                    start: SeqNum::Value(n),
                    end: SeqNum::Value(n),
                }),
            }
        }
        SequenceSet(out)
    }

    /// Whether `n` is in the set, given the largest number in use.
    pub fn contains(&self, n: u32, largest: u32) -> bool {
        self.0.iter().any(|r| {
            let (lo, hi) = r.bounds(largest);
            (lo..=hi).contains(&n)
        })
    }
}

impl fmt::Display for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeqNum::Value(v) => write!(f, "{v}"),
            SeqNum::Star => f.write_str("*"),
        }
    }
}

impl fmt::Display for SequenceSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if r.start == r.end {
                write!(f, "{}", r.start)?;
            } else {
                write!(f, "{}:{}", r.start, r.end)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compress_and_display() {
        let s = SequenceSet::from_numbers(&[5, 1, 2, 3, 9, 10, 3]);
        assert_eq!(s.to_string(), "1:3,5,9:10");
        assert!(s.contains(2, 10) && !s.contains(4, 10));
        let star = SequenceSet(vec![SeqRange {
            start: SeqNum::Value(7),
            end: SeqNum::Star,
        }]);
        assert!(star.contains(8, 10) && !star.contains(6, 10));
        // 7:* with 5 messages is 5:7 (RFC 3501 §9).
        assert!(star.contains(5, 5) && !star.contains(4, 5));
        assert_eq!(star.to_string(), "7:*");
    }
}
