//! The one error type of the WBXML codec.

use thiserror::Error;

/// Why a WBXML document could not be decoded or encoded.
///
/// Offsets are byte positions in the input, so a log line can point at the
/// offending byte.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WbxmlError {
    /// The input ended inside a header, token, string or opaque block.
    #[error("WBXML truncated at byte {offset}")]
    Truncated {
        /// Where more bytes were needed.
        offset: usize,
    },
    /// The version byte is not 0x03 (WBXML 1.3).
    #[error("unsupported WBXML version byte {0:#04x} (EAS uses 1.3)")]
    UnsupportedVersion(u8),
    /// The public identifier is 0, which points into a string table.
    #[error("public identifier from a string table is not supported")]
    PublicIdInStringTable,
    /// The charset is not UTF-8 (MIBenum 106).
    #[error("unsupported charset MIBenum {0} (EAS uses UTF-8, 106)")]
    UnsupportedCharset(u32),
    /// The string table is not empty; EAS forbids string tables.
    #[error("string table of {0} bytes: EAS forbids string tables")]
    StringTableNotSupported(u32),
    /// A multi-byte integer is longer than five bytes or exceeds 32 bits.
    #[error("multi-byte integer at byte {offset} exceeds 32 bits")]
    IntegerOverflow {
        /// Where the integer starts.
        offset: usize,
    },
    /// A string-table reference (STR_T) was found.
    #[error("STR_T at byte {offset}: EAS forbids string tables")]
    StringTableReference {
        /// Where the token is.
        offset: usize,
    },
    /// A LITERAL tag token was found.
    #[error("literal tag at byte {offset} is not supported")]
    LiteralNotSupported {
        /// Where the token is.
        offset: usize,
    },
    /// A tag with the attribute bit set was found; EAS uses no attributes.
    #[error("tag with attributes at byte {offset} is not supported")]
    AttributesNotSupported {
        /// Where the token is.
        offset: usize,
    },
    /// A global token EAS does not use (ENTITY, PI, EXT_*).
    #[error("unsupported global token {token:#04x} at byte {offset}")]
    UnsupportedToken {
        /// The token byte.
        token: u8,
        /// Where it is.
        offset: usize,
    },
    /// SWITCH_PAGE to a page that MS-ASWBXML does not define.
    #[error("unknown code page {page} at byte {offset}")]
    UnknownCodePage {
        /// The page number.
        page: u8,
        /// Where the SWITCH_PAGE is.
        offset: usize,
    },
    /// A tag token not defined on the current code page.
    #[error("unknown tag {token:#04x} on code page {page} at byte {offset}")]
    UnknownTag {
        /// The current page.
        page: u8,
        /// The tag token (without the content bit).
        token: u8,
        /// Where the token is.
        offset: usize,
    },
    /// Text, opaque data or END outside the root element, a second root,
    /// or no root at all.
    #[error("misplaced {what} at byte {offset}")]
    Misplaced {
        /// What was found.
        what: &'static str,
        /// Where it is.
        offset: usize,
    },
    /// The document ended with elements still open.
    #[error("document ends with {0} element(s) not closed")]
    Unclosed(usize),
    /// Bytes follow the end of the root element.
    #[error("{0} byte(s) after the root element")]
    TrailingData(usize),
    /// An inline string is not valid UTF-8.
    #[error("inline string at byte {offset} is not UTF-8")]
    InvalidUtf8 {
        /// Where the string starts.
        offset: usize,
    },
    /// A string to encode contains a NUL, which STR_I cannot carry.
    #[error("text contains a NUL byte, which WBXML inline strings cannot carry")]
    NulInText,
    /// The document is larger than [`crate::Limits::max_document_bytes`].
    #[error("document of {size} bytes exceeds the limit of {limit}")]
    DocumentTooLarge {
        /// The size seen (or reached so far).
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Elements nest deeper than [`crate::Limits::max_depth`].
    #[error("elements nest deeper than {limit}")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// More nodes than [`crate::Limits::max_nodes`].
    #[error("more than {limit} nodes")]
    TooManyNodes {
        /// The limit.
        limit: usize,
    },
    /// An inline string longer than [`crate::Limits::max_string_bytes`].
    #[error("inline string longer than {limit} bytes")]
    StringTooLong {
        /// The limit.
        limit: usize,
    },
    /// An opaque block longer than [`crate::Limits::max_opaque_bytes`].
    #[error("opaque data of {len} bytes exceeds the limit of {limit}")]
    OpaqueTooLong {
        /// The declared length.
        len: u64,
        /// The limit.
        limit: usize,
    },
}
