//! `kc-proxy --lookup USER`: a human-readable answer to "where does this user live?".

use std::fmt::Write;

use crate::directory::Directory;
use crate::error::DirError;

/// The user's home node and that node's URLs, plus the public-store node.
pub async fn lookup_report(dir: &Directory, login: &str) -> Result<String, DirError> {
    let u = dir.user(login).await?;
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(out, "user:          {}", u.login);
    if let Some(dn) = &u.dn {
        let _ = writeln!(out, "dn:            {dn}");
    }
    let _ = writeln!(out, "full name:     {}", u.fullname);
    let _ = writeln!(out, "email:         {}", u.email);
    if !u.aliases.is_empty() {
        let _ = writeln!(out, "aliases:       {}", u.aliases.join(", "));
    }
    if let Some(c) = &u.company {
        let _ = writeln!(out, "company:       {c}");
    }
    let _ = writeln!(
        out,
        "admin:         {}",
        if u.is_admin { "yes" } else { "no" }
    );
    let _ = writeln!(
        out,
        "non-active:    {}",
        if u.nonactive { "yes" } else { "no" }
    );
    if !u.enabled_features.is_empty() {
        let _ = writeln!(out, "enabled:       {}", u.enabled_features.join(" "));
    }
    if !u.disabled_features.is_empty() {
        let _ = writeln!(out, "disabled:      {}", u.disabled_features.join(" "));
    }
    match &u.home_server {
        None => {
            let _ = writeln!(
                out,
                "home node:     (none: user has no home server attribute)"
            );
        }
        Some(name) => {
            let s = dir.server(name).await?;
            let _ = writeln!(out, "home node:     {}", s.name);
            let _ = writeln!(out, "  address:     {}", s.address);
            let none = || "-".to_string();
            let _ = writeln!(out, "  http:        {}", s.http_url().unwrap_or_else(none));
            let _ = writeln!(out, "  https:       {}", s.https_url().unwrap_or_else(none));
            let _ = writeln!(out, "  file:        {}", s.file_url().unwrap_or_else(none));
            let _ = writeln!(
                out,
                "  proxy:       {}",
                s.proxy_url.clone().unwrap_or_else(none)
            );
            let _ = writeln!(
                out,
                "  public store: {}",
                if s.contains_public { "yes" } else { "no" }
            );
        }
    }
    Ok(out)
}
