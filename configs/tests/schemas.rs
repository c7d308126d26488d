//! Schema consistency and the example configuration files.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use kc_configs::{schemas, Config, Schema, ValueKind};

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

#[test]
fn defaults_are_valid_and_names_unique() {
    for s in schemas::all() {
        let mut seen = HashSet::new();
        for o in s.options {
            assert!(
                o.kind.parse(o.default).is_ok(),
                "{}: default {:?} of {} is invalid",
                s.component,
                o.default,
                o.name
            );
            assert!(
                !o.help.is_empty(),
                "{}: {} has no help",
                s.component,
                o.name
            );
            assert!(
                !o.help.contains('\n'),
                "{}: help of {} is not one line",
                s.component,
                o.name
            );
            for n in std::iter::once(o.name).chain(o.aliases.iter().copied()) {
                assert!(
                    seen.insert(n.to_ascii_lowercase()),
                    "{}: {n} defined twice",
                    s.component
                );
            }
        }
        for l in s.legacy_listen {
            assert!(
                s.find(l.target)
                    .is_some_and(|o| o.kind == ValueKind::Listen),
                "{}: {}",
                s.component,
                l.target
            );
            for n in [l.enable, l.port, l.bind] {
                assert!(
                    s.find(n).is_none(),
                    "{}: legacy {n} is also an option",
                    s.component
                );
            }
        }
        if let Some(u) = s.legacy_uri {
            assert!(s
                .find(u.target)
                .is_some_and(|o| o.kind == ValueKind::UriList));
        }
        let d = Config::defaults(s);
        assert_eq!(d.effective().len(), s.options.len());
    }
}

#[test]
fn required_options_exist() {
    let want: &[(&Schema, &[&str])] = &[
        (
            schemas::server(),
            &[
                "server_listen",
                "server_listen_tls",
                "server_pipe_name",
                "server_name",
                "server_hostname",
                "server_ssl_key_file",
                "server_ssl_key_pass",
                "server_ssl_ca_file",
                "server_ssl_ca_path",
                "sslkeys_path",
                "enable_distributed_kopano",
                "proxy_header",
                "session_ip_check",
                "session_timeout",
                "local_admin_users",
                "user_plugin",
                "user_plugin_config",
                "attachment_storage",
                "attachment_path",
                "sqlite_path",
                "quota_warn",
                "quota_soft",
                "quota_hard",
                "companyquota_warn",
                "softdelete_lifetime",
                "audit_log_enabled",
                "audit_log_method",
                "audit_log_file",
                "audit_log_level",
                "audit_log_timestamp",
                "lmtp_listen",
                "cache_server_lifetime",
                "disabled_features",
                "enable_hosted_kopano",
                "run_as_user",
                "run_as_group",
                "pid_file",
                "log_method",
                "log_file",
                "log_level",
                "log_timestamp",
            ],
        ),
        (
            schemas::gateway(),
            &[
                "server_socket",
                "imap_listen",
                "imaps_listen",
                "pop3_listen",
                "pop3s_listen",
                "ssl_private_key_file",
                "ssl_certificate_file",
                "ssl_verify_client",
                "ssl_verify_file",
                "ssl_verify_path",
                "imap_only_mailfolders",
                "imap_public_folders",
                "disable_plaintext_auth",
                "imap_max_fail_commands",
                "imap_max_messagesize",
                "imap_capability_idle",
                "bypass_auth",
                "trusted_edge_addresses",
                "log_method",
            ],
        ),
        (
            schemas::admin(),
            &[
                "server_socket",
                "sslkey_file",
                "sslkey_pass",
                "default_store_locale",
            ],
        ),
        (
            schemas::proxy(),
            &[
                "https_listen",
                "http_listen",
                "h3_listen",
                "ssl_certificate_file",
                "ssl_private_key_file",
                "ssl_private_key_pass",
                "ssl_sni_certificates",
                "ssl_verify_client",
                "ssl_verify_file",
                "ssl_verify_path",
                "ssl_verify_depth",
                "proxy_header",
                "public_url",
                "default_node",
                "nodes",
                "node_source",
                "route_path_mode",
                "upstream_ssl_ca_file",
                "upstream_ssl_certificate_file",
                "upstream_ssl_private_key_file",
                "upstream_connect_timeout",
                "upstream_read_timeout",
                "imap_listen",
                "imaps_listen",
                "pop3_listen",
                "pop3s_listen",
                "admin_listen",
                "access_log_file",
                "access_log_format",
                "ldap_config",
                "threads",
            ],
        ),
        (
            schemas::ldap(),
            &[
                "ldap_uri",
                "ldap_starttls",
                "ldap_bind_user",
                "ldap_bind_passwd",
                "ldap_search_base",
                "ldap_network_timeout",
                "ldap_object_type_attribute",
                "ldap_user_type_attribute_value",
                "ldap_group_type_attribute_value",
                "ldap_company_type_attribute_value",
                "ldap_server_type_attribute_value",
                "ldap_user_search_filter",
                "ldap_user_unique_attribute",
                "ldap_loginname_attribute",
                "ldap_fullname_attribute",
                "ldap_emailaddress_attribute",
                "ldap_emailaliases_attribute",
                "ldap_isadmin_attribute",
                "ldap_nonactive_attribute",
                "ldap_user_server_attribute",
                "ldap_company_server_attribute",
                "ldap_server_address_attribute",
                "ldap_server_http_port_attribute",
                "ldap_server_ssl_port_attribute",
                "ldap_server_file_path_attribute",
                "ldap_server_contains_public_attribute",
                "ldap_server_proxy_path_attribute",
                "ldap_server_unique_attribute",
                "ldap_page_size",
                "ldap_password_attribute",
                "ldap_authentication_method",
                "ldap_ldif_file",
                "ldap_cache_positive_ttl",
                "ldap_cache_negative_ttl",
                "ldap_cache_size",
                "ldap_tls_ca_file",
            ],
        ),
    ];
    for (s, names) in want {
        for n in *names {
            assert!(s.find(n).is_some(), "{} lacks {n}", s.component);
        }
    }
    let s = schemas::server();
    assert_eq!(s.find("server_listen").unwrap().default, "*:236");
    assert_eq!(s.find("server_listen_tls").unwrap().default, "*:237");
    assert!(s.find("server_ssl_key_pass").unwrap().secret);
    assert!(schemas::ldap().find("ldap_bind_passwd").unwrap().secret);
    assert!(schemas::admin().find("sslkey_pass").unwrap().secret);
    assert!(
        schemas::proxy()
            .find("ssl_private_key_pass")
            .unwrap()
            .secret
    );
    assert_eq!(
        schemas::proxy().find("https_listen").unwrap().default,
        "*:443 *:237"
    );
    assert_eq!(
        schemas::gateway().find("server_socket").unwrap().default,
        "http://localhost:236/kopano"
    );
}

/// Option names assigned (`name =` at line start) in a file.
fn assigned_names(path: &Path) -> HashSet<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('!'))
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim().to_owned()))
        .filter(|k| !k.is_empty())
        .collect()
}

fn check_example(file: &str, schema: &'static Schema, also: &[&str]) {
    let path = example(file);
    let cfg = Config::load(&path, schema).unwrap_or_else(|e| panic!("{e}"));
    assert!(cfg.warnings().is_empty(), "{:?}", cfg.warnings());
    let mut names = assigned_names(&path);
    for extra in also {
        names.extend(assigned_names(&example(extra)));
    }
    for o in schema.options {
        assert!(
            names.contains(o.name),
            "{file}: option {} is not in the example file",
            o.name
        );
    }
    for n in &names {
        assert!(
            schema.find(n).is_some(),
            "{file}: {n} is not a {} option",
            schema.component
        );
    }
}

#[test]
fn example_files_parse_and_cover_their_schema() {
    check_example("server.cfg", schemas::server(), &[]);
    check_example("proxy.cfg", schemas::proxy(), &[]);
    check_example("gateway.cfg", schemas::gateway(), &[]);
    check_example("admin.cfg", schemas::admin(), &[]);
    check_example("ldap.cfg", schemas::ldap(), &["ldap.openldap.cfg"]);
}

#[test]
fn example_defaults_match_schema_defaults() {
    for (file, schema) in [
        ("server.cfg", schemas::server()),
        ("proxy.cfg", schemas::proxy()),
        ("gateway.cfg", schemas::gateway()),
        ("admin.cfg", schemas::admin()),
    ] {
        let cfg = Config::load(&example(file), schema).unwrap();
        let defaults = Config::defaults(schema);
        for o in schema.options {
            assert_eq!(
                cfg.str(o.name),
                defaults.str(o.name),
                "{file}: {} differs from the schema default",
                o.name
            );
        }
    }
}

#[test]
fn ldap_presets() {
    let ldap = Config::load(&example("ldap.cfg"), schemas::ldap()).unwrap();
    assert_eq!(ldap.files().len(), 2);
    assert_eq!(ldap.str("ldap_server_type_attribute_value"), "ipHost");
    assert_eq!(ldap.str("ldap_server_address_attribute"), "ipHostNumber");
    assert_eq!(ldap.str("ldap_search_base"), "dc=example,dc=com");
    assert_eq!(
        ldap.origin("ldap_loginname_attribute").unwrap().file,
        example("ldap.openldap.cfg")
    );

    let ad_path = example("ldap.active-directory.cfg");
    let ad = Config::load(&ad_path, schemas::ldap()).unwrap();
    assert_eq!(ad.str("ldap_loginname_attribute"), "sAMAccountName");
    assert_eq!(ad.str("ldap_user_unique_attribute"), "objectGUID");
    assert_eq!(ad.str("ldap_user_unique_attribute_type"), "binary");
    assert_eq!(ad.str("ldap_groupmembers_attribute_type"), "dn");
    assert_eq!(ad.str("ldap_server_type_attribute_value"), "computer");
    assert_eq!(ad.str("ldap_server_address_attribute"), "kopanoHostAddress");
    assert_eq!(ad.str("ldap_group_security_attribute_type"), "ads");
    assert_eq!(ad.int("ldap_quota_multiplier"), 1_048_576);
    // Both presets set the same (complete) mapping.
    assert_eq!(
        assigned_names(&ad_path),
        assigned_names(&example("ldap.openldap.cfg"))
    );
    // Switching ldap.cfg to the AD preset works as documented.
    let text = std::fs::read_to_string(example("ldap.cfg"))
        .unwrap()
        .replace("!include ldap.openldap.cfg", "#!include ldap.openldap.cfg")
        .replace(
            "#!include ldap.active-directory.cfg",
            "!include ldap.active-directory.cfg",
        );
    let switched = Config::parse(&text, &example("ldap.cfg"), schemas::ldap()).unwrap();
    assert_eq!(switched.str("ldap_loginname_attribute"), "sAMAccountName");
}
