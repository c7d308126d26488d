//! KC's attribute mapping: which object classes and attributes stand for
//! users, groups, companies and servers, as configured in ldap.cfg.
//!
//! [`Mapping`] is a plain struct so that filter building and entry mapping
//! can be unit-tested without any LDAP server.

use crate::entry::Entry;
use crate::error::{DirError, ObjectKind};
use crate::escape::escape_filter_value;
use crate::model::{Company, Group, Server, User, UserQuota};

/// Propmap tag of `PR_EC_ENABLED_FEATURES` (KC ldap.propmap.cfg).
pub const TAG_ENABLED_FEATURES: u32 = 0x67B3_101E;
/// Propmap tag of `PR_EC_DISABLED_FEATURES`.
pub const TAG_DISABLED_FEATURES: u32 = 0x67B4_101E;

/// The attribute mapping from ldap.cfg. Empty strings mean "not mapped".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub search_base: String,
    pub object_type_attribute: String,

    pub user_type_value: String,
    pub user_search_filter: String,
    pub user_unique_attribute: String,
    pub loginname_attribute: String,
    pub fullname_attribute: String,
    pub email_attribute: String,
    pub aliases_attribute: String,
    pub isadmin_attribute: String,
    pub nonactive_attribute: String,
    pub password_attribute: String,
    pub user_server_attribute: String,
    /// From the propmap (`0x67B3101E`); `kopanoEnabledFeatures` when no propmap maps it.
    pub enabled_features_attribute: String,
    /// From the propmap (`0x67B4101E`); `kopanoDisabledFeatures` when no propmap maps it.
    pub disabled_features_attribute: String,
    /// Non-zero: the user's own quota levels below apply.
    pub quotaoverride_attribute: String,
    pub warnquota_attribute: String,
    pub softquota_attribute: String,
    pub hardquota_attribute: String,

    pub group_type_value: String,
    pub group_search_filter: String,
    pub group_unique_attribute: String,
    pub groupname_attribute: String,
    pub groupmembers_attribute: String,
    /// `text` (values of the relation attribute) or `dn`.
    pub groupmembers_attribute_type: String,
    pub groupmembers_relation_attribute: String,
    pub group_security_attribute: String,
    /// `boolean` (0/1) or `ads` (AD groupType: bit 31 marks security groups).
    pub group_security_attribute_type: String,

    pub company_type_value: String,
    pub company_search_filter: String,
    pub company_unique_attribute: String,
    pub companyname_attribute: String,
    pub company_server_attribute: String,

    pub server_type_value: String,
    pub server_search_filter: String,
    pub server_unique_attribute: String,
    pub server_address_attribute: String,
    pub server_http_port_attribute: String,
    pub server_ssl_port_attribute: String,
    pub server_file_path_attribute: String,
    pub server_contains_public_attribute: String,
    pub server_proxy_path_attribute: String,
}

type Field = fn(&mut Mapping) -> &mut String;

/// ldap.cfg option name → field. The two feature options are kc additions;
/// a propmap that maps the feature tags overrides them (KC compatibility).
pub const OPTIONS: &[(&str, Field)] = &[
    ("ldap_search_base", |m| &mut m.search_base),
    ("ldap_object_type_attribute", |m| {
        &mut m.object_type_attribute
    }),
    ("ldap_user_type_attribute_value", |m| &mut m.user_type_value),
    ("ldap_user_search_filter", |m| &mut m.user_search_filter),
    ("ldap_user_unique_attribute", |m| {
        &mut m.user_unique_attribute
    }),
    ("ldap_loginname_attribute", |m| &mut m.loginname_attribute),
    ("ldap_fullname_attribute", |m| &mut m.fullname_attribute),
    ("ldap_emailaddress_attribute", |m| &mut m.email_attribute),
    ("ldap_emailaliases_attribute", |m| &mut m.aliases_attribute),
    ("ldap_isadmin_attribute", |m| &mut m.isadmin_attribute),
    ("ldap_nonactive_attribute", |m| &mut m.nonactive_attribute),
    ("ldap_password_attribute", |m| &mut m.password_attribute),
    ("ldap_user_server_attribute", |m| {
        &mut m.user_server_attribute
    }),
    ("ldap_enabled_features_attribute", |m| {
        &mut m.enabled_features_attribute
    }),
    ("ldap_disabled_features_attribute", |m| {
        &mut m.disabled_features_attribute
    }),
    ("ldap_quotaoverride_attribute", |m| {
        &mut m.quotaoverride_attribute
    }),
    ("ldap_warnquota_attribute", |m| &mut m.warnquota_attribute),
    ("ldap_softquota_attribute", |m| &mut m.softquota_attribute),
    ("ldap_hardquota_attribute", |m| &mut m.hardquota_attribute),
    ("ldap_group_type_attribute_value", |m| {
        &mut m.group_type_value
    }),
    ("ldap_group_search_filter", |m| &mut m.group_search_filter),
    ("ldap_group_unique_attribute", |m| {
        &mut m.group_unique_attribute
    }),
    ("ldap_groupname_attribute", |m| &mut m.groupname_attribute),
    ("ldap_groupmembers_attribute", |m| {
        &mut m.groupmembers_attribute
    }),
    ("ldap_groupmembers_attribute_type", |m| {
        &mut m.groupmembers_attribute_type
    }),
    ("ldap_groupmembers_relation_attribute", |m| {
        &mut m.groupmembers_relation_attribute
    }),
    ("ldap_group_security_attribute", |m| {
        &mut m.group_security_attribute
    }),
    ("ldap_group_security_attribute_type", |m| {
        &mut m.group_security_attribute_type
    }),
    ("ldap_company_type_attribute_value", |m| {
        &mut m.company_type_value
    }),
    ("ldap_company_search_filter", |m| {
        &mut m.company_search_filter
    }),
    ("ldap_company_unique_attribute", |m| {
        &mut m.company_unique_attribute
    }),
    ("ldap_companyname_attribute", |m| {
        &mut m.companyname_attribute
    }),
    ("ldap_company_server_attribute", |m| {
        &mut m.company_server_attribute
    }),
    ("ldap_server_type_attribute_value", |m| {
        &mut m.server_type_value
    }),
    ("ldap_server_search_filter", |m| &mut m.server_search_filter),
    ("ldap_server_unique_attribute", |m| {
        &mut m.server_unique_attribute
    }),
    ("ldap_server_address_attribute", |m| {
        &mut m.server_address_attribute
    }),
    ("ldap_server_http_port_attribute", |m| {
        &mut m.server_http_port_attribute
    }),
    ("ldap_server_ssl_port_attribute", |m| {
        &mut m.server_ssl_port_attribute
    }),
    ("ldap_server_file_path_attribute", |m| {
        &mut m.server_file_path_attribute
    }),
    ("ldap_server_contains_public_attribute", |m| {
        &mut m.server_contains_public_attribute
    }),
    ("ldap_server_proxy_path_attribute", |m| {
        &mut m.server_proxy_path_attribute
    }),
];

fn s(v: &str) -> String {
    v.to_string()
}

impl Mapping {
    /// The OpenLDAP preset (KC `ldap.m4` rendered with TYPE=OPENLDAP, plus the
    /// multi-server attributes: kopanoUserServer, kopanoProxyURL and the node addresses).
    pub fn openldap() -> Mapping {
        Mapping {
            search_base: String::new(),
            object_type_attribute: s("objectClass"),
            user_type_value: s("posixAccount"),
            user_search_filter: String::new(),
            user_unique_attribute: s("uidNumber"),
            loginname_attribute: s("uid"),
            fullname_attribute: s("cn"),
            email_attribute: s("mail"),
            aliases_attribute: s("kopanoAliases"),
            isadmin_attribute: s("kopanoAdmin"),
            nonactive_attribute: s("kopanoSharedStoreOnly"),
            password_attribute: s("userPassword"),
            user_server_attribute: s("kopanoUserServer"),
            enabled_features_attribute: s("kopanoEnabledFeatures"),
            disabled_features_attribute: s("kopanoDisabledFeatures"),
            quotaoverride_attribute: s("kopanoQuotaOverride"),
            warnquota_attribute: s("kopanoQuotaWarn"),
            softquota_attribute: s("kopanoQuotaSoft"),
            hardquota_attribute: s("kopanoQuotaHard"),
            group_type_value: s("posixGroup"),
            group_search_filter: String::new(),
            group_unique_attribute: s("gidNumber"),
            groupname_attribute: s("cn"),
            groupmembers_attribute: s("memberUid"),
            groupmembers_attribute_type: s("text"),
            groupmembers_relation_attribute: s("uid"),
            group_security_attribute: s("kopanoSecurityGroup"),
            group_security_attribute_type: s("boolean"),
            company_type_value: s("organizationalUnit"),
            company_search_filter: String::new(),
            company_unique_attribute: s("ou"),
            companyname_attribute: s("ou"),
            company_server_attribute: s("kopanoCompanyServer"),
            server_type_value: s("ipHost"),
            server_search_filter: String::new(),
            server_unique_attribute: s("cn"),
            server_address_attribute: s("ipHostNumber"),
            server_http_port_attribute: s("kopanoHttpPort"),
            server_ssl_port_attribute: s("kopanoSslPort"),
            server_file_path_attribute: s("kopanoFilePath"),
            server_contains_public_attribute: s("kopanoContainsPublic"),
            server_proxy_path_attribute: s("kopanoProxyURL"),
        }
    }

    /// The Active Directory preset (KC `ldap.m4` rendered with TYPE=ADS).
    pub fn active_directory() -> Mapping {
        Mapping {
            user_type_value: s("user"),
            user_search_filter: s("(objectCategory=Person)"),
            user_unique_attribute: s("objectGUID"),
            loginname_attribute: s("sAMAccountName"),
            aliases_attribute: s("otherMailbox"),
            password_attribute: String::new(),
            group_type_value: s("group"),
            group_unique_attribute: s("objectSid"),
            groupmembers_attribute: s("member"),
            groupmembers_attribute_type: s("dn"),
            groupmembers_relation_attribute: String::new(),
            group_security_attribute: s("groupType"),
            group_security_attribute_type: s("ads"),
            company_unique_attribute: s("objectGUID"),
            server_type_value: s("computer"),
            server_search_filter: s("(objectCategory=Computer)"),
            server_address_attribute: s("kopanoHostAddress"),
            ..Mapping::openldap()
        }
    }

    /// Starts from `base` and overrides every ldap.cfg option `get` knows
    /// (by its ldap.cfg name). Values are trimmed.
    pub fn from_lookup(base: Mapping, get: impl Fn(&str) -> Option<String>) -> Mapping {
        let mut m = base;
        for (name, field) in OPTIONS {
            if let Some(v) = get(name) {
                *field(&mut m) = v.trim().to_string();
            }
        }
        m
    }

    /// Applies the feature attributes a propmap file maps (lines such as
    /// `0x67B3101E = kopanoEnabledFeatures`); other lines are ignored.
    pub fn apply_propmap(&mut self, text: &str) {
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            let k = k.trim();
            let tag = k
                .strip_prefix("0x")
                .or_else(|| k.strip_prefix("0X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok());
            match tag {
                Some(TAG_ENABLED_FEATURES) => self.enabled_features_attribute = v.trim().into(),
                Some(TAG_DISABLED_FEATURES) => self.disabled_features_attribute = v.trim().into(),
                _ => {}
            }
        }
    }

    // ---- filters ----------------------------------------------------------

    /// `(&(TYPEATTR=VALUE)EXTRA)`; EXTRA is the configured search filter,
    /// parenthesised if the administrator left the parentheses off.
    fn class_filter(&self, type_value: &str, extra: &str) -> String {
        let mut f = String::from("(&");
        if !type_value.is_empty() {
            f.push_str(&format!(
                "({}={})",
                self.object_type_attribute,
                escape_filter_value(type_value)
            ));
        }
        let extra = extra.trim();
        if !extra.is_empty() {
            if extra.starts_with('(') {
                f.push_str(extra);
            } else {
                f.push('(');
                f.push_str(extra);
                f.push(')');
            }
        }
        f.push(')');
        f
    }

    fn and_eq(class: String, attr: &str, value: &str) -> String {
        // class is "(&...)": insert the equality item before the final ')'.
        let mut f = class;
        f.pop();
        f.push_str(&format!("({attr}={}))", escape_filter_value(value)));
        f
    }

    pub fn user_filter(&self) -> String {
        self.class_filter(&self.user_type_value, &self.user_search_filter)
    }

    /// Users whose login name equals `login` (value escaped per RFC 4515).
    pub fn user_by_login_filter(&self, login: &str) -> String {
        Self::and_eq(self.user_filter(), &self.loginname_attribute, login)
    }

    /// Users whose email address or one of whose aliases equals `address`
    /// (LMTP recipients; values escaped per RFC 4515).
    pub fn user_by_address_filter(&self, address: &str) -> String {
        let v = escape_filter_value(address);
        let mut any = format!("(|({}={v})", self.email_attribute);
        if !self.aliases_attribute.is_empty() {
            any.push_str(&format!("({}={v})", self.aliases_attribute));
        }
        any.push(')');
        let mut f = self.user_filter();
        f.pop();
        f.push_str(&any);
        f.push(')');
        f
    }

    pub fn group_filter(&self) -> String {
        self.class_filter(&self.group_type_value, &self.group_search_filter)
    }

    pub fn group_by_name_filter(&self, name: &str) -> String {
        Self::and_eq(self.group_filter(), &self.groupname_attribute, name)
    }

    pub fn company_filter(&self) -> String {
        self.class_filter(&self.company_type_value, &self.company_search_filter)
    }

    pub fn company_by_name_filter(&self, name: &str) -> String {
        Self::and_eq(self.company_filter(), &self.companyname_attribute, name)
    }

    pub fn server_filter(&self) -> String {
        self.class_filter(&self.server_type_value, &self.server_search_filter)
    }

    /// KC getServerDetails: `(&<server filter>(<unique attr>=NAME))`.
    pub fn server_by_name_filter(&self, name: &str) -> String {
        Self::and_eq(self.server_filter(), &self.server_unique_attribute, name)
    }

    /// The server entry flagged as holding the public store.
    pub fn public_server_filter(&self) -> String {
        Self::and_eq(
            self.server_filter(),
            &self.server_contains_public_attribute,
            "1",
        )
    }

    // ---- attribute lists ---------------------------------------------------

    fn list(attrs: &[&String]) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for a in attrs {
            if !a.is_empty() && !v.iter().any(|x| x.eq_ignore_ascii_case(a)) {
                v.push((*a).clone());
            }
        }
        v
    }

    pub fn user_attributes(&self) -> Vec<String> {
        Self::list(&[
            &self.user_unique_attribute,
            &self.loginname_attribute,
            &self.fullname_attribute,
            &self.email_attribute,
            &self.aliases_attribute,
            &self.isadmin_attribute,
            &self.nonactive_attribute,
            &self.user_server_attribute,
            &self.enabled_features_attribute,
            &self.disabled_features_attribute,
            &self.quotaoverride_attribute,
            &self.warnquota_attribute,
            &self.softquota_attribute,
            &self.hardquota_attribute,
        ])
    }

    pub fn group_attributes(&self) -> Vec<String> {
        Self::list(&[
            &self.group_unique_attribute,
            &self.groupname_attribute,
            &self.groupmembers_attribute,
            &self.group_security_attribute,
            &self.email_attribute,
        ])
    }

    pub fn company_attributes(&self) -> Vec<String> {
        Self::list(&[
            &self.company_unique_attribute,
            &self.companyname_attribute,
            &self.company_server_attribute,
        ])
    }

    pub fn server_attributes(&self) -> Vec<String> {
        Self::list(&[
            &self.server_unique_attribute,
            &self.server_address_attribute,
            &self.server_http_port_attribute,
            &self.server_ssl_port_attribute,
            &self.server_file_path_attribute,
            &self.server_contains_public_attribute,
            &self.server_proxy_path_attribute,
        ])
    }

    // ---- entry mapping -----------------------------------------------------

    /// Maps a user entry. The login name is obligatory; the unique id falls
    /// back to the DN when the unique attribute is absent. `company` is left
    /// to the caller (it depends on the company entries above the DN).
    pub fn user_from_entry(&self, e: &Entry) -> Result<User, DirError> {
        let login = e
            .first(&self.loginname_attribute)
            .ok_or_else(|| missing(e, &self.loginname_attribute))?
            .to_string();
        Ok(User {
            unique_id: e
                .first(&self.user_unique_attribute)
                .unwrap_or(&e.dn)
                .to_string(),
            dn: Some(e.dn.clone()),
            fullname: e.first(&self.fullname_attribute).unwrap_or("").to_string(),
            email: e.first(&self.email_attribute).unwrap_or("").to_string(),
            aliases: all(e, &self.aliases_attribute),
            home_server: e.first(&self.user_server_attribute).map(str::to_string),
            company: None,
            is_admin: e
                .first(&self.isadmin_attribute)
                .is_some_and(|v| int_value(v) > 0),
            nonactive: e.first(&self.nonactive_attribute).is_some_and(truthy),
            enabled_features: all(e, &self.enabled_features_attribute),
            disabled_features: all(e, &self.disabled_features_attribute),
            quota: self.user_quota(e),
            login,
        })
    }

    /// KC's per-user quota: only with the override attribute set; levels in
    /// MB, missing or unparsable ones disabled (0).
    fn user_quota(&self, e: &Entry) -> Option<UserQuota> {
        let overridden = e
            .first(&self.quotaoverride_attribute)
            .is_some_and(|v| int_value(v) > 0);
        if !overridden {
            return None;
        }
        let mb = |attr: &str| -> u64 {
            e.first(attr)
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map_or(0, |v| v.saturating_mul(1024 * 1024))
        };
        Some(UserQuota {
            warn: mb(&self.warnquota_attribute),
            soft: mb(&self.softquota_attribute),
            hard: mb(&self.hardquota_attribute),
        })
    }

    /// Maps a server entry. As in KC, an empty address or a missing HTTP port
    /// is an error ("obligatory ... missing"); the SSL port, file path and
    /// proxy URL are optional. When the unique attribute has several values
    /// (`cn: z1`, `cn: node1`), `wanted` picks the one that was asked for.
    pub fn server_from_entry(&self, e: &Entry, wanted: Option<&str>) -> Result<Server, DirError> {
        let names: Vec<&str> = e.values(&self.server_unique_attribute).collect();
        let name = wanted
            .and_then(|w| names.iter().find(|n| n.eq_ignore_ascii_case(w)))
            .or_else(|| names.first())
            .ok_or_else(|| missing(e, &self.server_unique_attribute))?
            .to_string();
        let address = e
            .first(&self.server_address_attribute)
            .ok_or_else(|| missing(e, &self.server_address_attribute))?
            .to_string();
        let http_port = port(e, &self.server_http_port_attribute)?
            .ok_or_else(|| missing(e, &self.server_http_port_attribute))?;
        Ok(Server {
            name,
            address,
            http_port: Some(http_port),
            ssl_port: port(e, &self.server_ssl_port_attribute)?,
            file_path: e
                .first(&self.server_file_path_attribute)
                .map(str::to_string),
            proxy_url: e
                .first(&self.server_proxy_path_attribute)
                .map(str::to_string),
            contains_public: e
                .first(&self.server_contains_public_attribute)
                .is_some_and(truthy),
        })
    }

    pub fn group_from_entry(&self, e: &Entry) -> Result<Group, DirError> {
        let name = e
            .first(&self.groupname_attribute)
            .ok_or_else(|| missing(e, &self.groupname_attribute))?
            .to_string();
        let is_security = match e.first(&self.group_security_attribute) {
            None => true, // KC: groups are security groups unless marked otherwise
            Some(v)
                if self
                    .group_security_attribute_type
                    .eq_ignore_ascii_case("ads") =>
            {
                int_value(v) & 0x8000_0000 != 0 || int_value(v) < 0
            }
            Some(v) => truthy(v),
        };
        Ok(Group {
            unique_id: e
                .first(&self.group_unique_attribute)
                .unwrap_or(&e.dn)
                .to_string(),
            dn: Some(e.dn.clone()),
            email: e.first(&self.email_attribute).map(str::to_string),
            members: all(e, &self.groupmembers_attribute),
            is_security,
            name,
        })
    }

    pub fn company_from_entry(&self, e: &Entry) -> Result<Company, DirError> {
        let name = e
            .first(&self.companyname_attribute)
            .ok_or_else(|| missing(e, &self.companyname_attribute))?
            .to_string();
        Ok(Company {
            unique_id: e
                .first(&self.company_unique_attribute)
                .unwrap_or(&e.dn)
                .to_string(),
            dn: Some(e.dn.clone()),
            server: e.first(&self.company_server_attribute).map(str::to_string),
            name,
        })
    }

    /// Requires exactly one entry, as KC does for name lookups.
    pub fn exactly_one(kind: ObjectKind, name: &str, mut v: Vec<Entry>) -> Result<Entry, DirError> {
        match v.len() {
            1 => Ok(v.remove(0)),
            0 => Err(DirError::NotFound {
                kind,
                name: name.to_string(),
            }),
            n => Err(DirError::Ambiguous {
                kind,
                name: name.to_string(),
                count: n,
            }),
        }
    }
}

fn missing(e: &Entry, attr: &str) -> DirError {
    DirError::InvalidEntry {
        dn: e.dn.clone(),
        reason: if attr.is_empty() {
            "a required attribute is not mapped in ldap.cfg".into()
        } else {
            format!("obligatory attribute '{attr}' missing")
        },
    }
}

fn all(e: &Entry, attr: &str) -> Vec<String> {
    e.values(attr)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

/// KC reads flags with atoi(): leading integer, 0 when none. AD and some
/// schemas store booleans as TRUE/FALSE, which we accept too.
fn int_value(v: &str) -> i64 {
    let v = v.trim();
    let end = v
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+'))))
        .map_or(v.len(), |(i, _)| i);
    v[..end].parse().unwrap_or(0)
}

fn truthy(v: &str) -> bool {
    v.trim().eq_ignore_ascii_case("true") || int_value(v) != 0
}

fn port(e: &Entry, attr: &str) -> Result<Option<u16>, DirError> {
    match e.first(attr) {
        None => Ok(None),
        Some(v) => match v.trim().parse::<u16>() {
            Ok(0) => Ok(None),
            Ok(p) => Ok(Some(p)),
            Err(_) => Err(DirError::InvalidEntry {
                dn: e.dn.clone(),
                reason: format!("'{attr}' is not a port number: '{v}'"),
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::Filter;

    fn entry(dn: &str, attrs: &[(&str, &str)]) -> Entry {
        let mut e = Entry::new(dn);
        for (k, v) in attrs {
            e.push(k, v.to_string());
        }
        e
    }

    #[test]
    fn user_filters() {
        let m = Mapping::openldap();
        assert_eq!(
            m.user_by_login_filter("alice"),
            "(&(objectClass=posixAccount)(uid=alice))"
        );
        let m2 = Mapping {
            user_search_filter: "kopanoAccount=1".into(),
            ..Mapping::openldap()
        };
        assert_eq!(
            m2.user_by_login_filter("*)(uid=*"),
            "(&(objectClass=posixAccount)(kopanoAccount=1)(uid=\\2a\\29\\28uid=\\2a))"
        );
        assert!(Filter::parse(&m2.user_by_login_filter("admin)(|(a=*")).is_ok());
        assert_eq!(
            m.user_by_address_filter("a*b@example.com"),
            "(&(objectClass=posixAccount)(|(mail=a\\2ab@example.com)(kopanoAliases=a\\2ab@example.com)))"
        );
        assert!(Filter::parse(&m2.user_by_address_filter("x)(uid=*")).is_ok());
        let ad = Mapping::active_directory();
        assert_eq!(
            ad.server_by_name_filter("z1"),
            "(&(objectClass=computer)(objectCategory=Computer)(cn=z1))"
        );
        assert_eq!(
            m.public_server_filter(),
            "(&(objectClass=ipHost)(kopanoContainsPublic=1))"
        );
        let untyped = Mapping {
            user_type_value: String::new(),
            ..Mapping::openldap()
        };
        assert_eq!(untyped.user_by_login_filter("a"), "(&(uid=a))");
    }

    #[test]
    fn from_lookup_and_propmap() {
        let m = Mapping::from_lookup(Mapping::openldap(), |k| match k {
            "ldap_search_base" => Some(" dc=example,dc=com ".into()),
            "ldap_server_type_attribute_value" => Some("kopano-server".into()),
            _ => None,
        });
        assert_eq!(m.search_base, "dc=example,dc=com");
        assert_eq!(m.server_type_value, "kopano-server");
        assert_eq!(m.loginname_attribute, "uid");
        let mut m = m;
        m.apply_propmap(
            "# c\n0x67B3101E = myEnabled\n0x67b4101e=myDisabled\n0x3A220102 = userCertificate\n",
        );
        assert_eq!(m.enabled_features_attribute, "myEnabled");
        assert_eq!(m.disabled_features_attribute, "myDisabled");
    }

    #[test]
    fn maps_user() {
        let m = Mapping::openldap();
        let e = entry(
            "uid=alice,ou=People,dc=example,dc=com",
            &[
                ("uid", "alice"),
                ("uidNumber", "1001"),
                ("cn", "Alice Example"),
                ("mail", "alice@example.com"),
                ("kopanoAliases", "a@example.com"),
                ("kopanoAliases", "al@example.com"),
                ("KOPANOUSERSERVER", "z1"),
                ("kopanoAdmin", "2"),
                ("kopanoSharedStoreOnly", "0"),
                ("kopanoEnabledFeatures", "imap"),
                ("kopanoDisabledFeatures", "pop3"),
            ],
        );
        let u = m.user_from_entry(&e).unwrap();
        assert_eq!(u.login, "alice");
        assert_eq!(u.unique_id, "1001");
        assert_eq!(u.home_server.as_deref(), Some("z1"));
        assert_eq!(u.aliases, ["a@example.com", "al@example.com"]);
        assert!(u.is_admin && !u.nonactive);
        assert_eq!(u.enabled_features, ["imap"]);
        assert_eq!(u.disabled_features, ["pop3"]);
        assert!(m.user_from_entry(&entry("cn=x", &[("cn", "x")])).is_err());
    }

    #[test]
    fn maps_server() {
        let m = Mapping::openldap();
        let e = entry(
            "cn=z1,ou=Servers,dc=example,dc=com",
            &[
                ("cn", "node1"),
                ("cn", "Z1"),
                ("ipHostNumber", "10.0.0.1"),
                ("kopanoHttpPort", "236"),
                ("kopanoSslPort", "237"),
                ("kopanoFilePath", "/var/run/kopano/server.sock"),
                ("kopanoContainsPublic", "1"),
                ("kopanoProxyURL", "https://edge/z1"),
            ],
        );
        let s = m.server_from_entry(&e, Some("z1")).unwrap();
        assert_eq!(s.name, "Z1");
        assert_eq!(s.http_url().as_deref(), Some("http://10.0.0.1:236/"));
        assert_eq!(s.proxy_url.as_deref(), Some("https://edge/z1"));
        assert!(s.contains_public);
        assert_eq!(m.server_from_entry(&e, None).unwrap().name, "node1");
        let no_addr = entry("cn=z2", &[("cn", "z2"), ("kopanoHttpPort", "236")]);
        assert!(matches!(
            m.server_from_entry(&no_addr, None),
            Err(DirError::InvalidEntry { .. })
        ));
        let bad_port = entry(
            "cn=z2",
            &[
                ("cn", "z2"),
                ("ipHostNumber", "h"),
                ("kopanoHttpPort", "99999"),
            ],
        );
        assert!(m.server_from_entry(&bad_port, None).is_err());
    }

    #[test]
    fn maps_group_and_company() {
        let m = Mapping::openldap();
        let g = m
            .group_from_entry(&entry(
                "cn=staff",
                &[
                    ("cn", "staff"),
                    ("gidNumber", "5000"),
                    ("memberUid", "alice"),
                    ("memberUid", "bob"),
                    ("kopanoSecurityGroup", "0"),
                ],
            ))
            .unwrap();
        assert_eq!(g.members, ["alice", "bob"]);
        assert!(!g.is_security);
        let ad = Mapping::active_directory();
        let g = ad
            .group_from_entry(&entry("cn=g", &[("cn", "g"), ("groupType", "-2147483646")]))
            .unwrap();
        assert!(g.is_security);
        let c = m
            .company_from_entry(&entry(
                "ou=acme",
                &[("ou", "acme"), ("kopanoCompanyServer", "z2")],
            ))
            .unwrap();
        assert_eq!(c.server.as_deref(), Some("z2"));
    }

    #[test]
    fn exactly_one() {
        let e = Entry::new("a");
        assert!(Mapping::exactly_one(ObjectKind::User, "a", vec![e.clone()]).is_ok());
        assert!(matches!(
            Mapping::exactly_one(ObjectKind::User, "a", vec![]),
            Err(DirError::NotFound { .. })
        ));
        assert!(matches!(
            Mapping::exactly_one(ObjectKind::User, "a", vec![e.clone(), e]),
            Err(DirError::Ambiguous { count: 2, .. })
        ));
    }
}
