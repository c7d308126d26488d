//! The two SOAP calls the client needs (`logon`, `logoff`): request bodies
//! and the reading of the `logon` answer. Pure.

use quick_xml::events::Event;
use quick_xml::Reader;

use crate::kcerr::KcErr;

use super::ClientError;

/// `KOPANO_CAP_UNICODE`: strings are UTF-8.
pub const CAP_UNICODE: u32 = 0x0200;
/// `KOPANO_CAP_MULTI_SERVER`: the client follows redirects to home nodes.
pub const CAP_MULTI_SERVER: u32 = 0x0040;
/// The capabilities the client announces in `logon`.
pub const LOGON_CAPABILITIES: u32 = CAP_UNICODE | CAP_MULTI_SERVER;
/// The KC protocol version the client announces (`szVersion`).
pub const CLIENT_VERSION: &str = "8,7,0,0";

/// Largest `logon` answer read.
pub const MAX_ANSWER: usize = 1 << 20;

fn envelope(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:ns=\"urn:zarafa\"><SOAP-ENV:Body>{body}</SOAP-ENV:Body></SOAP-ENV:Envelope>"
    )
}

/// `s` as XML character data or attribute text.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The `logon` request for a password logon.
pub fn logon_request(user: &str, password: &str, client_app: &str) -> String {
    envelope(&format!(
        "<ns:logon><szUsername>{}</szUsername><szPassword>{}</szPassword><szVersion>{CLIENT_VERSION}</szVersion><ulCapabilities>{LOGON_CAPABILITIES}</ulCapabilities><ulFlags>0</ulFlags><szClientApp>{}</szClientApp><szClientAppVersion>{}</szClientAppVersion></ns:logon>",
        escape(user),
        escape(password),
        escape(client_app),
        env!("CARGO_PKG_VERSION"),
    ))
}

/// The `logoff` request.
pub fn logoff_request(session: u64) -> String {
    envelope(&format!(
        "<ns:logoff><ulSessionId>{session}</ulSessionId></ns:logoff>"
    ))
}

/// What a `logon` answer says, before it is judged.
#[derive(Default)]
struct LogonAnswer {
    body: bool,
    fault: bool,
    response: bool,
    er: Option<String>,
    session: Option<String>,
}

/// Reads the parts of a `logon` answer that matter (local names, any
/// prefixes): `Body`, a `Fault` in it, and `er` and `ulSessionId` of
/// `logonResponse`. A DOCTYPE or malformed XML is an error.
fn read_logon_answer(body: &[u8]) -> Result<LogonAnswer, String> {
    if body.len() > MAX_ANSWER {
        return Err("too large".into());
    }
    let mut r = Reader::from_reader(body);
    let mut path: Vec<Vec<u8>> = Vec::new();
    let mut a = LogonAnswer::default();
    loop {
        match r.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => {
                if path.len() >= 16 {
                    return Err("nested too deep".into());
                }
                let name = e.local_name().as_ref().to_vec();
                let parent = path.last().map(Vec::as_slice);
                match (parent, name.as_slice()) {
                    (Some(b"Envelope"), b"Body") => a.body = true,
                    (Some(b"Body"), b"Fault") => a.fault = true,
                    (Some(b"Body"), b"logonResponse") => a.response = true,
                    _ => {}
                }
                path.push(name);
            }
            Event::Empty(e) => {
                let parent = path.last().map(Vec::as_slice);
                if parent == Some(b"Body") && e.local_name().as_ref() == b"Fault" {
                    a.fault = true;
                }
            }
            Event::End(_) => {
                path.pop();
            }
            Event::Text(t) => {
                let n = path.len();
                if n >= 2 && path[n - 2] == b"logonResponse" {
                    let text = String::from_utf8_lossy(t.as_ref()).trim().to_owned();
                    match path[n - 1].as_slice() {
                        b"er" => a.er = Some(text),
                        b"ulSessionId" => a.session = Some(text),
                        _ => {}
                    }
                }
            }
            Event::DocType(_) => return Err("DOCTYPE not allowed".into()),
            Event::Eof => break,
            _ => {}
        }
    }
    if !path.is_empty() {
        return Err("unclosed element".into());
    }
    Ok(a)
}

/// The session id of a `logon` answer; a non-zero `er` is a refused logon.
pub fn parse_logon_response(body: &[u8]) -> Result<u64, ClientError> {
    let proto = |m: &str| ClientError::Protocol(format!("logon answer: {m}"));
    let a = read_logon_answer(body).map_err(|e| proto(&e))?;
    if !a.body {
        return Err(proto("no Body"));
    }
    if a.fault {
        return Err(proto("SOAP fault"));
    }
    if !a.response {
        return Err(proto("no logonResponse"));
    }
    let er: u32 =
        a.er.and_then(|e| e.parse().ok())
            .ok_or_else(|| proto("no er"))?;
    if er == KcErr::LOGON_FAILED.wire() || er == KcErr::NO_ACCESS.wire() {
        return Err(ClientError::LogonFailed);
    }
    if er != 0 {
        return Err(ClientError::Protocol(format!(
            "logon refused: {}",
            KcErr(er).name()
        )));
    }
    match a.session.and_then(|s| s.parse::<u64>().ok()) {
        Some(id) if id != 0 => Ok(id),
        _ => Err(proto("no session id")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(inner: &str) -> String {
        envelope(&format!("<ns:logonResponse>{inner}</ns:logonResponse>"))
    }

    #[test]
    fn logon_xml_is_escaped() {
        let x = logon_request("a<b", "p&'\"", "kc-gateway");
        assert!(x.contains("<szUsername>a&lt;b</szUsername>"));
        assert!(x.contains("<szPassword>p&amp;&apos;&quot;</szPassword>"));
        assert!(x.contains("<ulCapabilities>576</ulCapabilities>"));
        assert!(logoff_request(9).contains("<ulSessionId>9</ulSessionId>"));
    }

    #[test]
    fn logon_answers() {
        assert_eq!(
            parse_logon_response(
                answer("<er>0</er><ulSessionId>18446744073709551615</ulSessionId>").as_bytes()
            )
            .unwrap(),
            u64::MAX
        );
        let failed = answer(&format!(
            "<er>{}</er><ulSessionId>0</ulSessionId>",
            KcErr::LOGON_FAILED.wire()
        ));
        assert!(matches!(
            parse_logon_response(failed.as_bytes()),
            Err(ClientError::LogonFailed)
        ));
        assert!(matches!(
            parse_logon_response(answer("<er>0</er>").as_bytes()),
            Err(ClientError::Protocol(_))
        ));
        assert!(parse_logon_response(b"<html>").is_err());
        assert!(parse_logon_response(b"<html></html>").is_err());
        let fault = envelope("<SOAP-ENV:Fault><faultcode>x</faultcode></SOAP-ENV:Fault>");
        assert!(matches!(
            parse_logon_response(fault.as_bytes()),
            Err(ClientError::Protocol(m)) if m.contains("fault")
        ));
        let doctype = format!(
            "<!DOCTYPE x>{}",
            answer("<er>0</er><ulSessionId>5</ulSessionId>")
        );
        assert!(parse_logon_response(doctype.as_bytes()).is_err());
        // Other prefixes and whitespace, as any SOAP stack may write them.
        let other = "<?xml version=\"1.0\"?>\n<e:Envelope xmlns:e=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:k=\"urn:zarafa\">\n <e:Body>\n  <k:logonResponse>\n   <er> 0 </er>\n   <ulSessionId>42</ulSessionId>\n   <ulCapabilities>576</ulCapabilities>\n  </k:logonResponse>\n </e:Body>\n</e:Envelope>\n";
        assert_eq!(parse_logon_response(other.as_bytes()).unwrap(), 42);
    }

    /// Arbitrary answers never panic (a cheap stand-in for fuzzing; the
    /// `logon_answer` target in store-api/fuzz goes further).
    #[test]
    fn arbitrary_input_never_panics() {
        let alphabet: &[&str] = &[
            "<SOAP-ENV:Envelope>",
            "</SOAP-ENV:Envelope>",
            "<SOAP-ENV:Body>",
            "</SOAP-ENV:Body>",
            "<ns:logonResponse>",
            "</ns:logonResponse>",
            "<er>",
            "</er>",
            "0",
            "<ulSessionId>",
            "</ulSessionId>",
            "7",
            "<Fault/>",
            "&amp;",
            "&x;",
            "<!DOCTYPE a>",
            "<",
            ">",
            "<![CDATA[1]]>",
        ];
        let mut x: u64 = 0x853c_49e6_748f_ea9b;
        for _ in 0..20_000 {
            let mut v = String::new();
            for _ in 0..(x % 14) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                v.push_str(alphabet[(x % alphabet.len() as u64) as usize]);
            }
            if let Ok(id) = parse_logon_response(v.as_bytes()) {
                assert_ne!(id, 0);
            }
        }
    }
}
