//! KC's `urn:zarafa` SOAP codec: a pure parser, typed requests and a response writer.

pub mod ops;
pub mod writer;
pub mod xml;
