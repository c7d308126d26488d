//! KC's `urn:zarafa` SOAP: a pure codec (parser, typed requests, response
//! writer) and the node's service on it (dispatch, logon, store and user
//! calls).

mod logon;
pub mod ops;
mod service;
mod store;
mod users;
pub mod writer;
pub mod xml;

pub use service::{handle, SoapReply};
