//! The directory tests' own settings on top of kc-tests' private slapd
//! ([`kc_tests::slapd`]): the test data, KC's mapping for it, and
//! connection settings. Kept here because they are built from this crate's
//! types (kc-tests spawns programs and knows no kc crate).

// Each test binary uses a different part.
#![allow(dead_code, unused_imports)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kc_directory::{CacheConfig, DirectorySettings, LdapSettings, Mapping, SourceSettings};
pub use kc_tests::free_port;
pub use kc_tests::pki::Pki;
pub use kc_tests::slapd::{Slapd, BASE, BIND_DN, BIND_PW};

/// The test directory (users, groups, companies, servers).
pub fn data_ldif() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/directory.ldif")
}

/// The mapping the test data needs on top of the OpenLDAP preset.
pub fn test_mapping() -> Mapping {
    Mapping {
        search_base: BASE.into(),
        user_search_filter: "(kopanoAccount=1)".into(),
        company_type_value: "kopano-company".into(),
        server_type_value: "kopano-server".into(),
        ..Mapping::openldap()
    }
}

pub fn ldap_settings(uris: Vec<String>) -> LdapSettings {
    LdapSettings {
        bind_dn: BIND_DN.into(),
        bind_password: BIND_PW.into(),
        search_base: BASE.into(),
        network_timeout: Duration::from_secs(5),
        page_size: 2,
        pool_size: 4,
        ..LdapSettings::new(uris)
    }
}

pub fn ldap_directory_settings(uris: Vec<String>) -> DirectorySettings {
    DirectorySettings {
        source: SourceSettings::Ldap(ldap_settings(uris)),
        mapping: test_mapping(),
        cache: CacheConfig::default(),
        auth_method: Default::default(),
    }
}

pub fn ldif_directory_settings(path: PathBuf) -> DirectorySettings {
    DirectorySettings {
        source: SourceSettings::Ldif {
            path,
            limits: Default::default(),
        },
        mapping: test_mapping(),
        cache: CacheConfig::default(),
        auth_method: Default::default(),
    }
}

pub fn tls_config(ca: &Path) -> Arc<rustls::ClientConfig> {
    kc_certs::tls::ClientTls {
        ca_file: Some(ca.to_path_buf()),
        ..Default::default()
    }
    .build()
    .expect("client TLS config")
}
