//! Option schemas: what each component's configuration file may contain.
//!
//! Each component has one file under `schema/` holding a `static` table of
//! [`OptionSpec`]s. Entries are written with the small `const` builder
//! ([`opt`] + [`OptionSpec::alias`], [`OptionSpec::secret`],
//! [`OptionSpec::reloadable`]) so that adding an option is a one-entry edit.
//!
//! ## Old names
//! Two mechanisms accept Zarafa-era and early-Kopano names:
//! * **Aliases** ([`OptionSpec::aliases`]): a different name for exactly the
//!   same setting (`enable_distributed_zarafa` = `enable_distributed_kopano`).
//!   The value is stored under the canonical name.
//! * **Legacy listeners** ([`LegacyListen`], [`Schema::legacy_listen`]): the old
//!   `*_enable` / `*_port` / `server_bind` triples that together describe one
//!   listener. When the new `*_listen` option is not set anywhere but any part
//!   of its triple is, the listener becomes `BIND:PORT` (`*` when no bind
//!   address is given) if enabled, or empty (disabled) if not; missing parts
//!   take their Zarafa defaults. When the new option is set as well, it wins
//!   and the old ones are reported by [`crate::Config::warnings`].

mod admin;
mod common;
mod gateway;
mod ldap;
mod proxy;
mod server;

pub use crate::value::{TimeUnit, ValueKind};

/// One option of a component's configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionSpec {
    /// Canonical (current Kopano / kc) name.
    pub name: &'static str,
    /// Default as it would be written in the file ("" = empty).
    pub default: &'static str,
    pub kind: ValueKind,
    /// One line for `--help`-style listings and the example files.
    pub help: &'static str,
    /// Other names meaning exactly the same thing (e.g. Zarafa-era names).
    pub aliases: &'static [&'static str],
    /// Masked as `********` in [`crate::Config::effective`].
    pub secret: bool,
    /// Takes effect on SIGHUP without a restart.
    pub reloadable: bool,
}

/// Shorthand constructor for schema tables: not secret, not reloadable, no aliases.
pub const fn opt(
    name: &'static str,
    default: &'static str,
    kind: ValueKind,
    help: &'static str,
) -> OptionSpec {
    OptionSpec {
        name,
        default,
        kind,
        help,
        aliases: &[],
        secret: false,
        reloadable: false,
    }
}

impl OptionSpec {
    /// Sets the alternative names.
    pub const fn alias(mut self, aliases: &'static [&'static str]) -> Self {
        self.aliases = aliases;
        self
    }

    /// Marks the value as secret (masked when printed).
    pub const fn secret(mut self) -> Self {
        self.secret = true;
        self
    }

    /// Marks the option as applied on reload (SIGHUP).
    pub const fn reloadable(mut self) -> Self {
        self.reloadable = true;
        self
    }
}

/// Old-style description of one listener by three options (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegacyListen {
    /// The current option this triple is translated into (e.g. `imap_listen`).
    pub target: &'static str,
    /// Bool option switching the listener on (e.g. `imap_enable`); "" if none.
    pub enable: &'static str,
    /// Whether the listener was on when `enable` is not given.
    pub enabled_by_default: bool,
    /// Port option (e.g. `imap_port`).
    pub port: &'static str,
    pub default_port: u16,
    /// Bind address option (`server_bind`); "" if none.
    pub bind: &'static str,
}

/// Zarafa-era `ldap_host` / `ldap_port` / `ldap_protocol`: when the URI
/// option is not set but any of these is, it becomes one
/// `PROTOCOL://HOST:PORT` per space-separated host (defaults `ldap`,
/// `localhost`, 389 or 636 for ldaps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegacyUri {
    pub target: &'static str,
    pub host: &'static str,
    pub port: &'static str,
    pub protocol: &'static str,
}

/// Everything a component's configuration file may contain.
#[derive(Debug)]
pub struct Schema {
    /// Component name, e.g. `server`.
    pub component: &'static str,
    /// Where the binary looks by default, e.g. `/etc/kopano/server.cfg`.
    pub default_path: &'static str,
    pub options: &'static [OptionSpec],
    /// Old listener triples translated into current `*_listen` options.
    pub legacy_listen: &'static [LegacyListen],
    /// Old host/port/protocol options translated into a URI list.
    pub legacy_uri: Option<LegacyUri>,
}

/// Role of a legacy option name inside a [`LegacyListen`] triple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LegacyRole {
    Enable,
    Port,
    Bind,
    UriHost,
    UriPort,
    UriProtocol,
}

impl Schema {
    /// The option whose canonical name or alias is `name` (ASCII case-insensitive).
    pub fn find(&self, name: &str) -> Option<&'static OptionSpec> {
        self.index_of(name).map(|i| &self.options[i])
    }

    pub(crate) fn index_of(&self, name: &str) -> Option<usize> {
        self.options.iter().position(|o| {
            o.name.eq_ignore_ascii_case(name)
                || o.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
        })
    }

    /// Canonical spelling and role when `name` is a legacy listener option.
    pub(crate) fn legacy_name(&self, name: &str) -> Option<(&'static str, LegacyRole)> {
        if let Some(u) = &self.legacy_uri {
            let hit = [
                (u.host, LegacyRole::UriHost),
                (u.port, LegacyRole::UriPort),
                (u.protocol, LegacyRole::UriProtocol),
            ]
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name));
            if hit.is_some() {
                return hit;
            }
        }
        self.legacy_listen.iter().find_map(|l| {
            [
                (l.enable, LegacyRole::Enable),
                (l.port, LegacyRole::Port),
                (l.bind, LegacyRole::Bind),
            ]
            .into_iter()
            .find(|(n, _)| !n.is_empty() && n.eq_ignore_ascii_case(name))
        })
    }

    /// Every name the file may use: canonical names, aliases and legacy names.
    pub fn known_names(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = Vec::new();
        for o in self.options {
            v.push(o.name);
            v.extend(o.aliases.iter().copied());
        }
        let uri_names = self
            .legacy_uri
            .iter()
            .flat_map(|u| [u.host, u.port, u.protocol]);
        let listen_names = self
            .legacy_listen
            .iter()
            .flat_map(|l| [l.enable, l.port, l.bind]);
        for n in uri_names.chain(listen_names) {
            if !n.is_empty() && !v.contains(&n) {
                v.push(n);
            }
        }
        v
    }
}

/// The five component schemas.
pub mod schemas {
    use super::Schema;

    /// `server.cfg` of the store node (kc-server).
    pub fn server() -> &'static Schema {
        &super::server::SCHEMA
    }
    /// `proxy.cfg` of the edge proxy (kc-proxy).
    pub fn proxy() -> &'static Schema {
        &super::proxy::SCHEMA
    }
    /// `gateway.cfg` of the IMAP/POP3 gateway (kc-gateway).
    pub fn gateway() -> &'static Schema {
        &super::gateway::SCHEMA
    }
    /// `admin.cfg` of the admin tool (kc-admin).
    pub fn admin() -> &'static Schema {
        &super::admin::SCHEMA
    }
    /// `ldap.cfg` used by the LDAP user plugin / directory.
    pub fn ldap() -> &'static Schema {
        &super::ldap::SCHEMA
    }
    /// All of them, for tools and tests.
    pub fn all() -> [&'static Schema; 5] {
        [server(), proxy(), gateway(), admin(), ldap()]
    }
}
