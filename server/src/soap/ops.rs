//! Typed requests of the supported `urn:zarafa` operations, decoded from the
//! parsed element tree. Parameters are matched by name, in any order; unknown
//! extra elements are ignored, as gSOAP's rpc decoding does.

use base64::Engine;

use super::xml::{Element, Operation};

/// Why a parameter could not be decoded; reported as a SOAP Client Fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("invalid value for '{0}'")]
    InvalidValue(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Logon {
    pub username: String,
    pub password: String,
    pub impersonate: Option<String>,
    pub version: Option<String>,
    pub capabilities: u32,
    pub flags: u32,
    pub session_group: u64,
    pub client_app: Option<String>,
    pub client_app_version: Option<String>,
    pub client_app_misc: Option<String>,
}

/// The supported operations; anything else is `Unknown` and gets a Fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Logon(Box<Logon>),
    Logoff {
        session: u64,
    },
    GetStore {
        session: u64,
        entry_id: Option<Vec<u8>>,
    },
    GetPublicStore {
        session: u64,
        flags: u32,
    },
    ResolveUserStore {
        session: u64,
        username: Option<String>,
        type_mask: u32,
        flags: u32,
    },
    ResolvePseudoUrl {
        session: u64,
        url: Option<String>,
    },
    GetServerDetails {
        session: u64,
        names: Vec<String>,
        flags: u32,
    },
    ResolveUsername {
        session: u64,
        username: Option<String>,
    },
    GetUser {
        session: u64,
        user_id: u32,
        entry_id: Option<Vec<u8>>,
    },
    Unknown(String),
}

impl Request {
    /// The operation name as it appears on the wire.
    pub fn op_name(&self) -> &str {
        match self {
            Request::Logon(_) => "logon",
            Request::Logoff { .. } => "logoff",
            Request::GetStore { .. } => "getStore",
            Request::GetPublicStore { .. } => "getPublicStore",
            Request::ResolveUserStore { .. } => "resolveUserStore",
            Request::ResolvePseudoUrl { .. } => "resolvePseudoUrl",
            Request::GetServerDetails { .. } => "getServerDetails",
            Request::ResolveUsername { .. } => "resolveUsername",
            Request::GetUser { .. } => "getUser",
            Request::Unknown(n) => n,
        }
    }

    /// The session id the request names, if any.
    pub fn session(&self) -> Option<u64> {
        match self {
            Request::Logon(_) | Request::Unknown(_) => None,
            Request::Logoff { session }
            | Request::GetStore { session, .. }
            | Request::GetPublicStore { session, .. }
            | Request::ResolveUserStore { session, .. }
            | Request::ResolvePseudoUrl { session, .. }
            | Request::GetServerDetails { session, .. }
            | Request::ResolveUsername { session, .. }
            | Request::GetUser { session, .. } => Some(*session),
        }
    }
}

fn opt_str(p: &Element, name: &str) -> Option<String> {
    p.child(name).filter(|e| !e.nil).map(|e| e.text.clone())
}

fn num<T: std::str::FromStr + Default>(p: &Element, name: &'static str) -> Result<T, DecodeError> {
    match p.child(name).filter(|e| !e.nil) {
        None => Ok(T::default()),
        Some(e) => e
            .text
            .trim()
            .parse()
            .map_err(|_| DecodeError::InvalidValue(name)),
    }
}

fn opt_b64(p: &Element, name: &'static str) -> Result<Option<Vec<u8>>, DecodeError> {
    match p.child(name).filter(|e| !e.nil) {
        None => Ok(None),
        Some(e) => {
            let cleaned: String = e.text.chars().filter(|c| !c.is_whitespace()).collect();
            if cleaned.is_empty() {
                return Ok(None);
            }
            base64::engine::general_purpose::STANDARD
                .decode(cleaned.as_bytes())
                .map(Some)
                .map_err(|_| DecodeError::InvalidValue(name))
        }
    }
}

/// Decode a parsed operation into a typed request.
pub fn decode(op: &Operation) -> Result<Request, DecodeError> {
    let p = &op.params;
    Ok(match op.name.as_str() {
        "logon" => Request::Logon(Box::new(Logon {
            username: opt_str(p, "szUsername").unwrap_or_default(),
            password: opt_str(p, "szPassword").unwrap_or_default(),
            impersonate: opt_str(p, "szImpersonateUser").filter(|s| !s.is_empty()),
            version: opt_str(p, "szVersion").or_else(|| opt_str(p, "clientVersion")),
            capabilities: num(p, "ulCapabilities")?,
            flags: num(p, "ulFlags")?,
            session_group: num(p, "ullSessionGroup")?,
            client_app: opt_str(p, "szClientApp"),
            client_app_version: opt_str(p, "szClientAppVersion"),
            client_app_misc: opt_str(p, "szClientAppMisc"),
        })),
        "logoff" => Request::Logoff {
            session: num(p, "ulSessionId")?,
        },
        "getStore" => Request::GetStore {
            session: num(p, "ulSessionId")?,
            entry_id: opt_b64(p, "lpsEntryId")?,
        },
        "getPublicStore" => Request::GetPublicStore {
            session: num(p, "ulSessionId")?,
            flags: num(p, "ulFlags")?,
        },
        "resolveUserStore" => Request::ResolveUserStore {
            session: num(p, "ulSessionId")?,
            username: opt_str(p, "szUserName"),
            type_mask: num(p, "ulStoreTypeMask")?,
            flags: num(p, "ulFlags")?,
        },
        "resolvePseudoUrl" => Request::ResolvePseudoUrl {
            session: num(p, "ulSessionId")?,
            url: opt_str(p, "lpszPseudoUrl"),
        },
        "getServerDetails" => Request::GetServerDetails {
            session: num(p, "ulSessionId")?,
            names: p
                .child("szaSvrNameList")
                .map(|l| {
                    // A SOAP-encoded array: `item` children (any name is accepted).
                    l.children
                        .iter()
                        .filter(|c| !c.nil)
                        .map(|c| c.text.clone())
                        .collect()
                })
                .unwrap_or_default(),
            flags: num(p, "ulFlags")?,
        },
        "resolveUsername" => Request::ResolveUsername {
            session: num(p, "ulSessionId")?,
            username: opt_str(p, "lpszUsername"),
        },
        "getUser" => Request::GetUser {
            session: num(p, "ulSessionId")?,
            user_id: num(p, "ulUserId")?,
            entry_id: opt_b64(p, "sUserId")?,
        },
        other => Request::Unknown(other.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::xml::{parse_request, Limits};

    fn req(body: &str) -> Result<Request, DecodeError> {
        let x = format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="urn:zarafa"><s:Body>{body}</s:Body></s:Envelope>"#
        );
        decode(&parse_request(x.as_bytes(), &Limits::default()).unwrap())
    }

    #[test]
    fn any_order_and_extra_elements() {
        let r = req("<ns:logon><clientVersion>x</clientVersion><ulCapabilities>512</ulCapabilities><szPassword>p</szPassword><bogus/><szUsername>u</szUsername></ns:logon>").unwrap();
        let Request::Logon(l) = r else { panic!() };
        assert_eq!(l.username, "u");
        assert_eq!(l.password, "p");
        assert_eq!(l.capabilities, 512);
        assert_eq!(l.version.as_deref(), Some("x"));
    }

    #[test]
    fn numbers_and_base64() {
        let r = req("<ns:getStore><ulSessionId> 18446744073709551615 </ulSessionId><lpsEntryId>AAEC</lpsEntryId></ns:getStore>").unwrap();
        assert_eq!(
            r,
            Request::GetStore {
                session: u64::MAX,
                entry_id: Some(vec![0, 1, 2])
            }
        );
        assert_eq!(
            req("<ns:logoff><ulSessionId>-1</ulSessionId></ns:logoff>"),
            Err(DecodeError::InvalidValue("ulSessionId"))
        );
        assert_eq!(
            req("<ns:getStore><lpsEntryId>!!</lpsEntryId></ns:getStore>"),
            Err(DecodeError::InvalidValue("lpsEntryId"))
        );
        let r = req("<ns:getServerDetails><szaSvrNameList><item>a</item><item>b</item></szaSvrNameList></ns:getServerDetails>").unwrap();
        assert_eq!(
            r,
            Request::GetServerDetails {
                session: 0,
                names: vec!["a".into(), "b".into()],
                flags: 0
            }
        );
        assert_eq!(
            req("<ns:tableOpen/>").unwrap(),
            Request::Unknown("tableOpen".into())
        );
    }
}
