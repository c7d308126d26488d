//! Building [`DirectorySettings`] from a loaded ldap.cfg.

use std::time::Duration;

use kc_configs::Config;

use crate::cache::CacheConfig;
use crate::directory::{AuthMethod, Directory, DirectorySettings, SourceSettings};
use crate::error::DirError;
use crate::ldap::LdapSettings;
use crate::ldif::LdifLimits;
use crate::mapping::Mapping;

/// KC's `cache_server_lifetime` default.
const SERVER_TTL: Duration = Duration::from_secs(30 * 60);

fn known(cfg: &Config, key: &str) -> bool {
    cfg.schema().options.iter().any(|o| o.name == key)
}

/// Derives source, mapping and cache settings from ldap.cfg.
///
/// Mapping options take the configured value when set; when unset, the
/// schema default unless that is empty, in which case the OpenLDAP preset
/// fills in (KC's code leaves e.g. `ldap_server_type_attribute_value` empty,
/// which would make server lookups match any entry with that `cn`).
/// A `!propmap` mapping the feature tags overrides the feature attributes.
///
/// The source is LDIF when `ldap_ldif_file` is set and `ldap_uri` is empty or
/// unset; setting both to non-empty values is a configuration error.
pub fn settings_from_config(cfg: &Config) -> Result<DirectorySettings, DirError> {
    let mut mapping = Mapping::from_lookup(Mapping::openldap(), |k| {
        if !known(cfg, k) {
            None
        } else if cfg.is_set(k) {
            Some(cfg.str(k).to_string())
        } else {
            cfg.opt_str(k).map(str::to_string)
        }
    });
    if let Some(pm) = cfg.propmap() {
        let text = std::fs::read_to_string(pm)
            .map_err(|e| DirError::Config(format!("propmap {}: {e}", pm.display())))?;
        mapping.apply_propmap(&text);
    }

    let ldif = if known(cfg, "ldap_ldif_file") {
        cfg.path("ldap_ldif_file")
    } else {
        None
    };
    let uris = cfg.uris("ldap_uri");
    let source = match ldif {
        Some(path) if uris.is_empty() || !cfg.is_set("ldap_uri") => SourceSettings::Ldif {
            path,
            limits: LdifLimits::default(),
        },
        Some(_) => {
            return Err(DirError::Config(
                "both ldap_uri and ldap_ldif_file are set; empty ldap_uri to use the LDIF file"
                    .into(),
            ))
        }
        None => {
            if uris.is_empty() {
                return Err(DirError::Config(
                    "ldap_uri is empty and no ldap_ldif_file is set".into(),
                ));
            }
            let starttls = cfg.bool("ldap_starttls");
            let wants_tls = starttls
                || uris
                    .iter()
                    .any(|u| u.to_ascii_lowercase().starts_with("ldaps:"));
            let ca = if known(cfg, "ldap_tls_ca_file") {
                cfg.path("ldap_tls_ca_file")
            } else {
                None
            };
            let tls = match ca {
                Some(ca) if wants_tls => Some(
                    kc_certs::tls::ClientTls {
                        ca_file: Some(ca),
                        ..Default::default()
                    }
                    .build()
                    .map_err(|e| DirError::Config(format!("ldap_tls_ca_file: {e}")))?,
                ),
                _ => None,
            };
            SourceSettings::Ldap(LdapSettings {
                starttls,
                bind_dn: cfg.str("ldap_bind_user").to_string(),
                bind_password: cfg.str("ldap_bind_passwd").to_string(),
                search_base: cfg.str("ldap_search_base").trim().to_string(),
                network_timeout: cfg
                    .duration("ldap_network_timeout")
                    .max(Duration::from_secs(1)),
                page_size: u32::try_from(cfg.int("ldap_page_size")).unwrap_or(0),
                tls,
                ..LdapSettings::new(uris)
            })
        }
    };

    let mut cache = CacheConfig {
        server_ttl: SERVER_TTL,
        ..CacheConfig::default()
    };
    if known(cfg, "ldap_cache_positive_ttl") {
        cache.user_ttl = cfg.duration("ldap_cache_positive_ttl");
    }
    if known(cfg, "ldap_cache_negative_ttl") {
        cache.negative_ttl = cfg.duration("ldap_cache_negative_ttl");
    }
    if known(cfg, "ldap_cache_server_ttl") {
        cache.server_ttl = cfg.duration("ldap_cache_server_ttl");
    }
    if known(cfg, "ldap_cache_size") {
        cache.max_entries = usize::try_from(cfg.int("ldap_cache_size"))
            .unwrap_or(1)
            .max(1);
    }
    let auth_method = if known(cfg, "ldap_authentication_method")
        && cfg
            .str("ldap_authentication_method")
            .eq_ignore_ascii_case("password")
    {
        AuthMethod::Password
    } else {
        AuthMethod::Bind
    };
    Ok(DirectorySettings {
        source,
        mapping,
        cache,
        auth_method,
    })
}

impl Directory {
    /// Builds the directory an ldap.cfg describes (see [`settings_from_config`]).
    pub async fn from_config(ldap_cfg: &Config) -> Result<Directory, DirError> {
        Directory::new(settings_from_config(ldap_cfg)?).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::OPTIONS;
    use std::path::Path;

    #[test]
    fn every_mapping_option_is_in_the_ldap_schema() {
        let schema = kc_configs::schemas::ldap();
        for (name, _) in OPTIONS {
            assert!(
                schema.options.iter().any(|o| o.name == *name),
                "{name} missing from the ldap.cfg schema"
            );
        }
    }

    fn parse(text: &str) -> Config {
        Config::parse(
            text,
            Path::new("/etc/kopano/ldap.cfg"),
            kc_configs::schemas::ldap(),
        )
        .expect("config")
    }

    #[test]
    fn ldap_source_and_mapping_from_config() {
        let cfg = parse(
            "ldap_uri = ldap://a:389/ ldap://b:389/\nldap_bind_user = cn=admin\nldap_bind_passwd = pw\n\
             ldap_search_base = dc=x\nldap_page_size = 50\nldap_network_timeout = 7\n\
             ldap_loginname_attribute = sAMAccountName\n",
        );
        let s = settings_from_config(&cfg).unwrap();
        match &s.source {
            SourceSettings::Ldap(l) => {
                assert_eq!(l.uris, ["ldap://a:389/", "ldap://b:389/"]);
                assert_eq!(l.bind_dn, "cn=admin");
                assert_eq!(l.page_size, 50);
                assert_eq!(l.network_timeout, Duration::from_secs(7));
                assert!(l.tls.is_none());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.mapping.loginname_attribute, "sAMAccountName");
        assert_eq!(s.mapping.search_base, "dc=x");
        // Empty code defaults fall back to the OpenLDAP preset.
        assert_eq!(s.mapping.server_type_value, "ipHost");
        assert_eq!(s.mapping.server_address_attribute, "ipHostNumber");
        assert_eq!(s.cache.server_ttl, SERVER_TTL);
    }

    #[test]
    fn ldif_selection_rules() {
        let cfg = parse("ldap_uri =\nldap_ldif_file = /tmp/x.ldif\n");
        assert!(matches!(
            settings_from_config(&cfg).unwrap().source,
            SourceSettings::Ldif { .. }
        ));
        let cfg = parse("ldap_ldif_file = /tmp/x.ldif\n");
        assert!(matches!(
            settings_from_config(&cfg).unwrap().source,
            SourceSettings::Ldif { .. }
        ));
        let cfg = parse("ldap_uri = ldap://a/\nldap_ldif_file = /tmp/x.ldif\n");
        assert!(matches!(
            settings_from_config(&cfg),
            Err(DirError::Config(_))
        ));
        let cfg = parse("ldap_uri =\n");
        assert!(matches!(
            settings_from_config(&cfg),
            Err(DirError::Config(_))
        ));
    }
}
