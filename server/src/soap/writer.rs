//! Serialises SOAP 1.1 rpc/encoded responses in the shape gSOAP produces:
//! `<ns:METHODResponse>` with unqualified children named after the response
//! struct's fields.

use base64::Engine;

const ENV_OPEN: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?>"#,
    "\n",
    r#"<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" "#,
    r#"xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/" "#,
    r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" "#,
    r#"xmlns:xsd="http://www.w3.org/2001/XMLSchema" "#,
    r#"xmlns:ns="urn:zarafa">"#
);

/// Escape text for element content and attribute values.
pub fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
}

/// Builds one response envelope.
pub struct Response {
    buf: String,
    stack: Vec<&'static str>,
    closing: String,
}

impl Response {
    /// Open the envelope and the `ns:<op>Response` element.
    pub fn new(op: &str) -> Response {
        let mut buf = String::with_capacity(512);
        buf.push_str(ENV_OPEN);
        buf.push_str(
            r#"<SOAP-ENV:Body SOAP-ENV:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><ns:"#,
        );
        buf.push_str(op);
        buf.push_str("Response>");
        Response {
            buf,
            stack: Vec::new(),
            closing: format!("</ns:{op}Response></SOAP-ENV:Body></SOAP-ENV:Envelope>"),
        }
    }

    pub fn u32(&mut self, name: &str, v: u32) -> &mut Self {
        self.raw(name, &v.to_string())
    }

    pub fn u64(&mut self, name: &str, v: u64) -> &mut Self {
        self.raw(name, &v.to_string())
    }

    pub fn i64(&mut self, name: &str, v: i64) -> &mut Self {
        self.raw(name, &v.to_string())
    }

    pub fn bool(&mut self, name: &str, v: bool) -> &mut Self {
        self.raw(name, if v { "true" } else { "false" })
    }

    /// A string field; `None` (a NULL `char*` in gSOAP) is written as `xsi:nil`.
    pub fn str(&mut self, name: &str, v: Option<&str>) -> &mut Self {
        match v {
            Some(s) => {
                self.buf.push('<');
                self.buf.push_str(name);
                self.buf.push('>');
                escape(s, &mut self.buf);
                self.close_tag(name);
            }
            None => self.nil(name),
        }
        self
    }

    pub fn nil(&mut self, name: &str) {
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push_str(r#" xsi:nil="true"/>"#);
    }

    /// A base64Binary / entryId field.
    pub fn b64(&mut self, name: &str, v: &[u8]) -> &mut Self {
        let enc = base64::engine::general_purpose::STANDARD.encode(v);
        self.raw(name, &enc)
    }

    /// Open a nested struct element.
    pub fn open(&mut self, name: &'static str) -> &mut Self {
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push('>');
        self.stack.push(name);
        self
    }

    /// Open a SOAP-encoded array of `n` items of type `item_type`.
    pub fn open_array(&mut self, name: &'static str, item_type: &str, n: usize) -> &mut Self {
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf
            .push_str(r#" xsi:type="SOAP-ENC:Array" SOAP-ENC:arrayType=""#);
        self.buf.push_str(item_type);
        self.buf.push('[');
        self.buf.push_str(&n.to_string());
        self.buf.push_str("]\">");
        self.stack.push(name);
        self
    }

    /// Close the innermost struct opened with [`Response::open`].
    pub fn close(&mut self) -> &mut Self {
        if let Some(name) = self.stack.pop() {
            self.close_tag(name);
        }
        self
    }

    fn raw(&mut self, name: &str, v: &str) -> &mut Self {
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push('>');
        self.buf.push_str(v);
        self.close_tag(name);
        self
    }

    fn close_tag(&mut self, name: &str) {
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push('>');
    }

    pub fn finish(mut self) -> String {
        while let Some(name) = self.stack.pop() {
            self.close_tag(name);
        }
        self.buf.push_str(&self.closing);
        self.buf
    }
}

/// A SOAP 1.1 Fault. `client` selects `SOAP-ENV:Client` (bad request) versus
/// `SOAP-ENV:Server`.
pub fn fault(client: bool, reason: &str) -> String {
    let mut buf = String::with_capacity(512);
    buf.push_str(ENV_OPEN);
    buf.push_str("<SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>");
    buf.push_str(if client {
        "SOAP-ENV:Client"
    } else {
        "SOAP-ENV:Server"
    });
    buf.push_str("</faultcode><faultstring>");
    escape(reason, &mut buf);
    buf.push_str("</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>");
    buf
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::xml::{parse_document, Limits};

    #[test]
    fn response_round_trips_through_parser() {
        let mut r = Response::new("logon");
        r.u32("er", 0)
            .u64("ulSessionId", u64::MAX)
            .str("lpszVersion", Some("0,<&>"))
            .b64("sServerGuid", &[1, 2, 3]);
        r.open("sub").u32("x", 1).close();
        r.str("none", None);
        let s = r.finish();
        let root = parse_document(s.as_bytes(), &Limits::default()).unwrap();
        let body = root.child("Body").unwrap();
        let resp = body.child("logonResponse").unwrap();
        assert_eq!(resp.ns.as_deref(), Some("urn:zarafa"));
        assert_eq!(
            resp.child("ulSessionId").unwrap().text,
            u64::MAX.to_string()
        );
        assert_eq!(resp.child("lpszVersion").unwrap().text, "0,<&>");
        assert_eq!(resp.child("sServerGuid").unwrap().text, "AQID");
        assert_eq!(resp.child("sub").unwrap().child("x").unwrap().text, "1");
        assert!(resp.child("none").unwrap().nil);
    }

    #[test]
    fn fault_shape() {
        let s = fault(true, "bad <xml>");
        let root = parse_document(s.as_bytes(), &Limits::default()).unwrap();
        let f = root.child("Body").unwrap().child("Fault").unwrap();
        assert_eq!(f.child("faultcode").unwrap().text, "SOAP-ENV:Client");
        assert_eq!(f.child("faultstring").unwrap().text, "bad <xml>");
    }
}
