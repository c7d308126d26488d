//! Replies: the 207 multistatus body and the precondition error bodies.
//!
//! - [`writer`]: escaping and element names with the fixed prefixes;
//! - [`multistatus`]: responses, propstats and property values, written
//!   whole or one response at a time (so a large REPORT can be streamed);
//! - [`precondition`]: the `DAV:error` bodies the RFCs name.

pub mod multistatus;
pub mod precondition;
pub mod writer;

pub use multistatus::{
    Multistatus, MultistatusWriter, PropContent, PropStat, Property, Response, ResponseBody,
};
pub use precondition::{error_body, Precondition};

/// The reason phrase for the status codes a DAV server answers with.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        207 => "Multi-Status",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        423 => "Locked",
        424 => "Failed Dependency",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        507 => "Insufficient Storage",
        _ => "Unknown",
    }
}

/// The `HTTP/1.1 <code> <reason>` line of a `DAV:status` element.
pub fn status_line(status: u16) -> String {
    format!("HTTP/1.1 {status} {}", reason_phrase(status))
}
