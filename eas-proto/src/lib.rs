//! Exchange ActiveSync wire formats for kc: the WBXML codec (WBXML 1.3 as
//! EAS uses it) and the MS-ASWBXML code pages.
//!
//! The crate is pure: no I/O, no async runtime, no global state. Every
//! decoder is bounded by [`Limits`] and returns a typed [`WbxmlError`], so it
//! can face the network and be fuzzed.
//!
//! - [`decode`] / [`encode`]: WBXML bytes to and from a [`Document`] tree.
//! - [`codepage`]: the code pages as data (tag name to token and back).
//! - [`xml`]: an XML form of the tree in the dialect of libwbxml's
//!   `wbxml2xml`/`xml2wbxml`, for tests and diagnostics.

pub mod codepage;
mod decode;
mod encode;
mod error;
mod limits;
mod mb_uint;
mod token;
mod tree;
pub mod xml;

pub use decode::{decode, decode_with_limits};
pub use encode::{encode, encode_with_limits};
pub use error::WbxmlError;
pub use limits::Limits;
pub use token::EAS_HEADER;
pub use tree::{Document, Element, Node};
