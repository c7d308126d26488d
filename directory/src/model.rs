//! The objects lookups return: users, servers (nodes), groups, companies.

/// A user as KC's LDAP plugin sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The login name as stored in the directory (`ldap_loginname_attribute`).
    pub login: String,
    /// `ldap_user_unique_attribute` (binary values as lowercase hex).
    pub unique_id: String,
    /// The entry's DN; `None` only for objects not backed by a directory entry.
    pub dn: Option<String>,
    pub fullname: String,
    pub email: String,
    pub aliases: Vec<String>,
    /// `ldap_user_server_attribute`: the name of the node holding the store.
    pub home_server: Option<String>,
    /// The company whose entry lies above the user's DN (hosted setups).
    pub company: Option<String>,
    /// `ldap_isadmin_attribute` > 0 (KC admin levels 1 and 2).
    pub is_admin: bool,
    /// `ldap_nonactive_attribute` set: a shared store that cannot log in.
    pub nonactive: bool,
    pub enabled_features: Vec<String>,
    pub disabled_features: Vec<String>,
    /// The user's own quota when `ldap_quotaoverride_attribute` is set
    /// (KC: the server.cfg defaults apply otherwise).
    pub quota: Option<UserQuota>,
}

/// Quota levels in bytes (the directory holds MB); 0 disables a level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserQuota {
    pub warn: u64,
    pub soft: u64,
    pub hard: u64,
}

impl User {
    /// [`feature_enabled`] for this user.
    pub fn feature_enabled(&self, feature: &str, server_disabled_features: &[String]) -> bool {
        feature_enabled(
            feature,
            &self.enabled_features,
            &self.disabled_features,
            server_disabled_features,
        )
    }
}

/// KC's feature decision: an explicit per-user enable
/// (`kopanoEnabledFeatures`) wins, then an explicit per-user disable
/// (`kopanoDisabledFeatures`), then the server's `disabled_features` list.
/// Names compare case-insensitively.
pub fn feature_enabled(
    feature: &str,
    enabled: &[String],
    disabled: &[String],
    server_disabled_features: &[String],
) -> bool {
    let has = |l: &[String]| l.iter().any(|f| f.eq_ignore_ascii_case(feature));
    if has(enabled) {
        true
    } else if has(disabled) {
        false
    } else {
        !has(server_disabled_features)
    }
}

/// A store node (an `ldap_server_type_attribute_value` entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// `ldap_server_unique_attribute` (cn): KC's `server_name`.
    pub name: String,
    /// `ldap_server_address_attribute` (ipHostNumber / kopanoHostAddress).
    pub address: String,
    pub http_port: Option<u16>,
    pub ssl_port: Option<u16>,
    pub file_path: Option<String>,
    /// `ldap_server_proxy_path_attribute` (kopanoProxyURL), used verbatim.
    pub proxy_url: Option<String>,
    pub contains_public: bool,
}

impl Server {
    /// `http://ADDR:PORT/`, as KC's serverdetails_t builds it (no suffix).
    pub fn http_url(&self) -> Option<String> {
        url("http", &self.address, self.http_port)
    }

    /// `https://ADDR:PORT/`.
    pub fn https_url(&self) -> Option<String> {
        url("https", &self.address, self.ssl_port)
    }

    /// `file://` + the stored path (`file:///var/run/kopano/server.sock`).
    pub fn file_url(&self) -> Option<String> {
        self.file_path
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(|p| format!("file://{p}"))
    }
}

fn url(scheme: &str, addr: &str, port: Option<u16>) -> Option<String> {
    match port {
        Some(p) if p > 0 && !addr.is_empty() => {
            // IPv6 literals need brackets in a URL authority.
            if addr.contains(':') && !addr.starts_with('[') {
                Some(format!("{scheme}://[{addr}]:{p}/"))
            } else {
                Some(format!("{scheme}://{addr}:{p}/"))
            }
        }
        _ => None,
    }
}

/// A group and the raw values of its member attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub unique_id: String,
    pub dn: Option<String>,
    pub email: Option<String>,
    /// Member references as stored: login names (or other relation-attribute
    /// values) when `ldap_groupmembers_attribute_type = text`, DNs when `dn`.
    pub members: Vec<String>,
    /// KC's security flag (distribution lists are `false`).
    pub is_security: bool,
}

/// A company (tenant) and the node that holds its public store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Company {
    pub name: String,
    pub unique_id: String,
    pub dn: Option<String>,
    /// `ldap_company_server_attribute` (kopanoCompanyServer).
    pub server: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> Server {
        Server {
            name: "z1".into(),
            address: "z1.example.lan".into(),
            http_port: Some(236),
            ssl_port: Some(237),
            file_path: Some("/var/run/kopano/server.sock".into()),
            proxy_url: Some("https://edge.example/z1".into()),
            contains_public: false,
        }
    }

    #[test]
    fn urls_like_kc() {
        let s = server();
        assert_eq!(s.http_url().as_deref(), Some("http://z1.example.lan:236/"));
        assert_eq!(
            s.https_url().as_deref(),
            Some("https://z1.example.lan:237/")
        );
        assert_eq!(
            s.file_url().as_deref(),
            Some("file:///var/run/kopano/server.sock")
        );
        let none = Server {
            address: String::new(),
            ssl_port: None,
            file_path: None,
            ..server()
        };
        assert_eq!(none.http_url(), None);
        assert_eq!(none.https_url(), None);
        assert_eq!(none.file_url(), None);
        let v6 = Server {
            address: "::1".into(),
            ..server()
        };
        assert_eq!(v6.http_url().as_deref(), Some("http://[::1]:236/"));
    }

    #[test]
    fn feature_matrix() {
        let u = User {
            login: "a".into(),
            unique_id: "1".into(),
            dn: None,
            fullname: String::new(),
            email: String::new(),
            aliases: vec![],
            home_server: None,
            company: None,
            is_admin: false,
            nonactive: false,
            enabled_features: vec!["imap".into()],
            disabled_features: vec!["mobile".into()],
            quota: None,
        };
        let server_off = vec!["imap".to_string(), "pop3".to_string()];
        assert!(u.feature_enabled("IMAP", &server_off));
        assert!(!u.feature_enabled("pop3", &server_off));
        assert!(u.feature_enabled("pop3", &[]));
        assert!(!u.feature_enabled("mobile", &[]));
    }
}
