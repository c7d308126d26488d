//! WBXML global tokens and the header EAS uses.

/// The header of every EAS WBXML document: version 1.3, public identifier 1
/// (unknown), charset UTF-8 (MIBenum 106), string table length 0.
pub const EAS_HEADER: [u8; 4] = [0x03, 0x01, 0x6A, 0x00];

/// WBXML version 1.3.
pub(crate) const VERSION_1_3: u8 = 0x03;
/// IANA MIBenum of UTF-8.
pub(crate) const CHARSET_UTF8: u32 = 106;

pub(crate) const SWITCH_PAGE: u8 = 0x00;
pub(crate) const END: u8 = 0x01;
pub(crate) const ENTITY: u8 = 0x02;
pub(crate) const STR_I: u8 = 0x03;
pub(crate) const LITERAL: u8 = 0x04;
pub(crate) const EXT_I_0: u8 = 0x40;
pub(crate) const EXT_I_2: u8 = 0x42;
pub(crate) const PI: u8 = 0x43;
pub(crate) const LITERAL_C: u8 = 0x44;
pub(crate) const EXT_T_0: u8 = 0x80;
pub(crate) const EXT_T_2: u8 = 0x82;
pub(crate) const STR_T: u8 = 0x83;
pub(crate) const LITERAL_A: u8 = 0x84;
pub(crate) const EXT_0: u8 = 0xC0;
pub(crate) const EXT_2: u8 = 0xC2;
pub(crate) const OPAQUE: u8 = 0xC3;
pub(crate) const LITERAL_AC: u8 = 0xC4;

/// Bit of a tag token: the element has content and ends with END.
pub(crate) const TAG_CONTENT: u8 = 0x40;
/// Bit of a tag token: the element has attributes (never in EAS).
pub(crate) const TAG_ATTRIBUTES: u8 = 0x80;
/// The tag identity bits of a tag token.
pub(crate) const TAG_MASK: u8 = 0x3F;
