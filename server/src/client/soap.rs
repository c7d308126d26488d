//! The two SOAP calls the client needs (`logon`, `logoff`): request bodies
//! and the reading of the `logon` answer. Pure.

use crate::caps::cap;
use crate::kcerr::KcErr;
use crate::soap::writer::escape;
use crate::soap::xml::{parse_document, Limits};

use super::ClientError;

fn envelope(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:ns=\"urn:zarafa\"><SOAP-ENV:Body>{body}</SOAP-ENV:Body></SOAP-ENV:Envelope>"
    )
}

/// The `logon` request for a password logon.
pub fn logon_request(user: &str, password: &str, client_app: &str) -> String {
    let (mut u, mut p, mut a) = (String::new(), String::new(), String::new());
    escape(user, &mut u);
    escape(password, &mut p);
    escape(client_app, &mut a);
    envelope(&format!(
        "<ns:logon><szUsername>{u}</szUsername><szPassword>{p}</szPassword><szVersion>{}</szVersion><ulCapabilities>{}</ulCapabilities><ulFlags>0</ulFlags><szClientApp>{a}</szClientApp><szClientAppVersion>{}</szClientAppVersion></ns:logon>",
        crate::node::SERVER_VERSION,
        cap::UNICODE | cap::MULTI_SERVER,
        env!("CARGO_PKG_VERSION"),
    ))
}

/// The `logoff` request.
pub fn logoff_request(session: u64) -> String {
    envelope(&format!(
        "<ns:logoff><ulSessionId>{session}</ulSessionId></ns:logoff>"
    ))
}

/// The session id of a `logon` answer; a non-zero `er` is a refused logon.
pub fn parse_logon_response(body: &[u8]) -> Result<u64, ClientError> {
    let proto = |m: &str| ClientError::Protocol(format!("logon answer: {m}"));
    let doc = parse_document(body, &Limits::default()).map_err(|e| proto(&e.to_string()))?;
    let body = doc.child("Body").ok_or_else(|| proto("no Body"))?;
    if body.child("Fault").is_some() {
        return Err(proto("SOAP fault"));
    }
    let resp = body
        .child("logonResponse")
        .ok_or_else(|| proto("no logonResponse"))?;
    let er: u32 = resp
        .child("er")
        .and_then(|e| e.text.trim().parse().ok())
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
    match resp
        .child("ulSessionId")
        .and_then(|e| e.text.trim().parse::<u64>().ok())
    {
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
    }
}
