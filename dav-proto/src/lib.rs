//! WebDAV, CalDAV and CardDAV as pure codecs: request bodies and headers
//! in, typed values out; typed multistatus and error replies back to XML.
//! No sockets, no async runtime, no clock, so every part can be unit-tested
//! alone and fuzzed (`fuzz/`).
//!
//! - [`capability`]: the OPTIONS headers and supported report sets;
//! - [`xml`]: the bounded XML reader (size, depth and element limits; no
//!   DOCTYPE, so no entity is ever expanded) building a small
//!   namespace-resolved tree;
//! - [`names`]: the namespaces and the typed property names;
//! - [`request`]: PROPFIND, PROPPATCH, MKCALENDAR / extended MKCOL and the
//!   REPORT bodies, with the calendar and address book filters;
//! - [`response`]: the multistatus writer and the precondition error bodies;
//! - [`header`]: Depth, If-Match / If-None-Match, Destination and Overwrite;
//! - [`route`]: the URL layout (`/caldav/...`, `/ical/...`, well-known) as
//!   a typed route, with strict percent-decoding.
//!
//! kc-gateway's CalDAV/CardDAV server is the user: it reads requests with
//! this crate, answers from the store, and writes replies with it. The
//! iCalendar and vCard object glue will join this crate next.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod capability;
pub mod header;
pub mod names;
pub mod request;
pub mod response;
pub mod route;
pub mod xml;
