//! The capability lists, defined once: IMAP before and after login and the
//! POP3 CAPA list. kc-gateway answers with them, and kc-proxy announces the
//! same lists on the gateway's behalf before it relays a login, so a client
//! sees one server whichever side answers.
//!
//! What depends on configuration or on the connection (IDLE off through
//! `imap_capability_idle`, STARTTLS/STLS, `AUTH=PLAIN` versus
//! `LOGINDISABLED`, XCLIENT for a trusted edge) is decided here from a small
//! state value that both programs fill in; neither side writes a list of its
//! own.

/// Announced in every IMAP state, first.
const IMAP_BASE: [&str; 5] = ["IMAP4rev1", "LITERAL+", "SASL-IR", "ID", "ENABLE"];

/// The IMAP extensions usable after login, after IDLE (which is
/// configurable).
const IMAP_AFTER_LOGIN: [&str; 8] = [
    "NAMESPACE",
    "UIDPLUS",
    "MOVE",
    "CHILDREN",
    "SPECIAL-USE",
    "UNSELECT",
    "CONDSTORE",
    "QRESYNC",
];

/// What decides the IMAP capability list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CapabilityState {
    /// The client has logged in.
    pub authenticated: bool,
    /// The connection is already TLS (directly or after STARTTLS, or a
    /// TLS-terminating proxy vouched for it).
    pub tls_active: bool,
    /// A TLS context exists, so STARTTLS can be offered.
    pub starttls_available: bool,
    /// Plaintext authentication is allowed on this connection even without
    /// TLS (KC `disable_plaintext_auth = no`, or a local peer).
    pub plaintext_auth_allowed: bool,
    /// Advertise IDLE (KC `imap_capability_idle`).
    pub idle: bool,
    /// Before login, also announce the extensions of the logged-in state.
    /// kc-proxy does: the list it shows before login is then the one the
    /// gateway shows after it (RFC 3501 lets a server announce more before
    /// login than it allows there).
    pub extensions_before_login: bool,
}

/// The IMAP capabilities for `state`, in the order they are advertised.
///
/// Before login: `IMAP4rev1 LITERAL+ SASL-IR ID ENABLE`, then `STARTTLS`
/// when it can be offered, then `AUTH=PLAIN` or `LOGINDISABLED` (KC's rule:
/// login is disabled on a non-TLS connection unless plaintext is allowed).
/// After login: the same five, `IDLE` (when enabled) and `NAMESPACE UIDPLUS
/// MOVE CHILDREN SPECIAL-USE UNSELECT CONDSTORE QRESYNC`.
pub fn imap_capabilities(state: CapabilityState) -> Vec<&'static str> {
    let mut caps = IMAP_BASE.to_vec();
    if state.authenticated || state.extensions_before_login {
        if state.idle {
            caps.push("IDLE");
        }
        caps.extend(IMAP_AFTER_LOGIN);
    }
    if !state.authenticated {
        if !state.tls_active && state.starttls_available {
            caps.push("STARTTLS");
        }
        if state.tls_active || state.plaintext_auth_allowed {
            caps.push("AUTH=PLAIN");
        } else {
            caps.push("LOGINDISABLED");
        }
    }
    caps
}

/// [`imap_capabilities`] joined with spaces, as in `* CAPABILITY` and the
/// `[CAPABILITY ...]` response code.
pub fn imap_capability_string(state: CapabilityState) -> String {
    imap_capabilities(state).join(" ")
}

/// The IMAP list after login; the connection state does not matter then.
pub fn imap_post_login(idle: bool) -> String {
    imap_capability_string(CapabilityState {
        authenticated: true,
        idle,
        ..CapabilityState::default()
    })
}

/// What decides the POP3 CAPA list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CapaState {
    /// The client has logged in.
    pub authenticated: bool,
    /// The connection is TLS.
    pub tls_active: bool,
    /// STLS can be offered.
    pub stls_available: bool,
    /// Plaintext login is allowed without TLS.
    pub plaintext_auth_allowed: bool,
    /// The peer is a trusted edge that may send XCLIENT.
    pub xclient: bool,
}

/// CAPA lines (RFC 2449), in KC's order plus PIPELINING and SASL PLAIN
/// (RFC 5034): STLS before login on a non-TLS connection that can do TLS;
/// USER and SASL PLAIN only where a password may be sent.
pub fn pop3_capabilities(state: CapaState) -> Vec<&'static str> {
    let mut caps = vec![
        "CAPA",
        "TOP",
        "UIDL",
        "RESP-CODES",
        "AUTH-RESP-CODE",
        "PIPELINING",
    ];
    if !state.authenticated {
        if state.xclient {
            caps.push("XCLIENT");
        }
        if !state.tls_active && state.stls_available {
            caps.push("STLS");
        }
        if state.tls_active || state.plaintext_auth_allowed {
            caps.push("USER");
            caps.push("SASL PLAIN");
        }
    }
    caps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_strings() {
        let pre = CapabilityState {
            starttls_available: true,
            ..Default::default()
        };
        assert_eq!(
            imap_capability_string(pre),
            "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE STARTTLS LOGINDISABLED"
        );
        let pre_local = CapabilityState {
            plaintext_auth_allowed: true,
            ..Default::default()
        };
        assert_eq!(
            imap_capability_string(pre_local),
            "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE AUTH=PLAIN"
        );
        let tls = CapabilityState {
            tls_active: true,
            starttls_available: true,
            ..Default::default()
        };
        assert_eq!(
            imap_capability_string(tls),
            "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE AUTH=PLAIN"
        );
        let post = CapabilityState {
            authenticated: true,
            idle: true,
            tls_active: true,
            ..Default::default()
        };
        assert_eq!(
            imap_capability_string(post),
            "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UIDPLUS MOVE CHILDREN SPECIAL-USE UNSELECT CONDSTORE QRESYNC"
        );
        assert_ne!(imap_capability_string(post), imap_capability_string(tls));
    }

    #[test]
    fn capa() {
        let pre = CapaState {
            stls_available: true,
            ..Default::default()
        };
        assert_eq!(
            pop3_capabilities(pre),
            vec![
                "CAPA",
                "TOP",
                "UIDL",
                "RESP-CODES",
                "AUTH-RESP-CODE",
                "PIPELINING",
                "STLS"
            ]
        );
        let tls = CapaState {
            tls_active: true,
            stls_available: true,
            ..Default::default()
        };
        assert_eq!(pop3_capabilities(tls).last(), Some(&"SASL PLAIN"));
        assert!(!pop3_capabilities(tls).contains(&"STLS"));
        let post = CapaState {
            authenticated: true,
            tls_active: true,
            ..Default::default()
        };
        assert!(!pop3_capabilities(post).contains(&"USER"));
        let edge = CapaState {
            xclient: true,
            ..Default::default()
        };
        assert!(pop3_capabilities(edge).contains(&"XCLIENT"));
        assert!(!pop3_capabilities(pre).contains(&"XCLIENT"));
    }

    #[test]
    fn edge_list_before_login_extends_the_post_login_list() {
        let edge = CapabilityState {
            starttls_available: true,
            idle: true,
            extensions_before_login: true,
            ..Default::default()
        };
        let pre = imap_capability_string(edge);
        assert!(pre.starts_with(&imap_post_login(true)), "{pre}");
        assert!(pre.ends_with(" STARTTLS LOGINDISABLED"), "{pre}");
        assert!(!imap_post_login(false).contains("IDLE"));
        assert!(imap_post_login(true).contains("QRESYNC"));
    }
}
