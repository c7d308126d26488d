//! The user directory: LDAP (OpenLDAP and Active Directory) and LDIF sources,
//! KC's attribute mapping, and cached home-server resolution.
//!
//! Both sources answer the same filter strings (built by [`Mapping`] with
//! RFC 4515 escaping); a [`Directory`] puts a bounded, single-flight TTL
//! cache in front of either.

mod cache;
mod config;
mod directory;
mod entry;
mod error;
mod escape;
pub mod filter;
mod ldap;
pub mod ldif;
mod ldif_source;
mod mapping;
mod model;
mod password;
mod report;

pub use cache::{CacheConfig, CacheStats};
pub use config::settings_from_config;
pub use directory::{AuthMethod, Directory, DirectorySettings, SourceSettings};
pub use entry::{dn_is_under, normalize_dn, Entry};
pub use error::{DirError, ObjectKind};
pub use escape::{escape_dn_value, escape_filter_value};
pub use ldap::LdapSettings;
pub use mapping::Mapping;
pub use model::{feature_enabled, Company, Group, Server, User, UserQuota};
pub use password::{ssha, verify_password};
pub use report::lookup_report;
