//! FETCH attributes (RFC 3501 §6.4.5, RFC 3516 BINARY, RFC 7162 MODSEQ).

/// A `<origin.count>` partial range. In replies only the origin is echoed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partial {
    /// First octet, zero-based.
    pub origin: u32,
    /// Maximum number of octets (non-zero).
    pub count: u32,
}

/// The text part of a section specifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionText {
    /// `HEADER`: the header including the blank line.
    Header,
    /// `HEADER.FIELDS (names)`: only these fields, case-insensitive.
    HeaderFields(Vec<String>),
    /// `HEADER.FIELDS.NOT (names)`: all but these fields.
    HeaderFieldsNot(Vec<String>),
    /// `TEXT`: the body of a message.
    Text,
    /// `MIME`: the MIME header of a body part (only after a part number).
    Mime,
}

/// A `[section]` specifier: a part path and an optional text selector.
/// The empty section `[]` is the whole message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section {
    /// Part numbers, each 1-based (`1.2.3`).
    pub part: Vec<u32>,
    /// Text selector after the part numbers.
    pub text: Option<SectionText>,
}

/// One FETCH data item; the macros ALL, FAST and FULL are expanded by the
/// parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchAttr {
    /// `ENVELOPE`.
    Envelope,
    /// `FLAGS`.
    Flags,
    /// `INTERNALDATE`.
    InternalDate,
    /// `RFC822` (sets \Seen; reply item `RFC822`).
    Rfc822,
    /// `RFC822.HEADER` (does not set \Seen).
    Rfc822Header,
    /// `RFC822.SIZE`.
    Rfc822Size,
    /// `RFC822.TEXT` (sets \Seen).
    Rfc822Text,
    /// `BODY`: non-extensible BODYSTRUCTURE.
    Body,
    /// `BODYSTRUCTURE`.
    BodyStructure,
    /// `UID`.
    Uid,
    /// `MODSEQ` (RFC 7162).
    ModSeq,
    /// `BODY[section]<partial>` or `BODY.PEEK[...]`.
    BodySection {
        /// `.PEEK`: do not set \Seen.
        peek: bool,
        /// Which part.
        section: Section,
        /// Optional byte range.
        partial: Option<Partial>,
    },
    /// `BINARY[part]<partial>` or `BINARY.PEEK[...]` (RFC 3516).
    Binary {
        /// `.PEEK`: do not set \Seen.
        peek: bool,
        /// Part path (empty: the whole message).
        part: Vec<u32>,
        /// Optional byte range.
        partial: Option<Partial>,
    },
    /// `BINARY.SIZE[part]` (RFC 3516).
    BinarySize {
        /// Part path.
        part: Vec<u32>,
    },
}
