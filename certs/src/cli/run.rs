//! What each `kc-certs` command does.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use kc_certs::authority::{
    self, create_private_dir, encode_private_key, ensure_absent, write_public, write_secret,
    AuthorityError, Ca, CaLayout, CaSubject, LeafKind, LeafRequest,
};
use kc_certs::inspect::inspect_file;
use kc_certs::tls::{self, Purpose, TlsError};
use rustls_pki_types::UnixTime;

use super::args::{CaArgs, Command, Common, PurposeArg};
use super::prompt;

const LEAF_DAYS: u32 = 1095;
const CA_DAYS: u32 = 3650;
const CA_OU: &str = "Certificate Authority";

pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Ca {
            common,
            cn,
            org,
            ou,
        } => cmd_ca(common, cn, org, ou),
        Command::Server {
            common,
            ca,
            cn,
            sans,
            org,
            ou,
            out,
        } => cmd_leaf(
            common,
            ca,
            cn,
            LeafKind::Server { sans },
            org,
            ou,
            out,
            None,
        ),
        Command::Client {
            common,
            ca,
            cn,
            org,
            ou,
            out,
            install,
        } => cmd_leaf(common, ca, cn, LeafKind::Client, org, ou, out, install),
        Command::Der {
            input,
            output,
            force,
        } => {
            authority::pem_to_der(&input, &output, force)?;
            println!("wrote {} (DER)", output.display());
            Ok(())
        }
        Command::Combine {
            mut files,
            pass,
            force,
        } => {
            let out = files.pop().context("missing OUT")?;
            let (key, rest) = files.split_first().context("missing KEY")?;
            let (cert, chain) = rest.split_first().context("missing CERT")?;
            let chain: Vec<&Path> = chain.iter().map(PathBuf::as_path).collect();
            authority::combine(key, cert, &chain, &out, pass.as_deref(), force)?;
            println!(
                "wrote {} (key, certificate{})",
                out.display(),
                if chain.is_empty() { "" } else { ", chain" }
            );
            Ok(())
        }
        Command::Inspect { file } => {
            print!("{}", inspect_file(&file)?);
            Ok(())
        }
        Command::Verify {
            ca,
            cert,
            host,
            purpose,
        } => cmd_verify(&ca, &cert, host.as_deref(), purpose),
    }
}

fn new_key_pass(common: &Common, what: &str) -> Result<Option<String>> {
    if let Some(p) = &common.pass {
        return Ok(Some(p.clone()));
    }
    if let Some(f) = &common.pass_file {
        return Ok(Some(prompt::pass_from_file(f)?));
    }
    if prompt::interactive() {
        return prompt::secret(
            &format!("Passphrase for the key in {what} (Enter for none)"),
            true,
        );
    }
    Ok(None)
}

fn given_ca_pass(common: &Common) -> Result<Option<String>> {
    if let Some(p) = &common.ca_pass {
        return Ok(Some(p.clone()));
    }
    if let Some(f) = &common.ca_pass_file {
        return Ok(Some(prompt::pass_from_file(f)?));
    }
    Ok(None)
}

fn cmd_ca(common: Common, cn: Option<String>, org: Option<String>, ou: String) -> Result<()> {
    let layout = CaLayout::in_dir(&common.dir);
    if layout.exists() && !common.force {
        bail!(
            "a CA already exists in {} (use --force to move it aside and create a new one)",
            layout.root().display()
        );
    }
    let cn = prompt::required(cn, "--cn", "Common name (CN) of the CA", None)?;
    // For `ca`, --pass and --ca-pass both mean the CA key's passphrase.
    let pass = match (given_ca_pass(&common)?, &common.pass, &common.pass_file) {
        (Some(p), _, _) => Some(p),
        (None, Some(p), _) => Some(p.clone()),
        (None, None, Some(f)) => Some(prompt::pass_from_file(f)?),
        (None, None, None) if prompt::interactive() => {
            prompt::secret("Passphrase for the CA key (Enter for none)", true)?
        }
        _ => None,
    };
    create_private_dir(&common.dir, false)?;
    let subject = CaSubject {
        cn,
        org,
        ou: Some(ou),
    };
    let ca = Ca::create(
        layout,
        &subject,
        common.key_type,
        common.days.unwrap_or(CA_DAYS),
        pass.as_deref(),
        common.force,
    )?;
    println!("created CA in {}", ca.layout().root().display());
    println!(
        "  certificate: {}  (server_ssl_ca_file)",
        ca.layout().cert().display()
    );
    println!("  private key: {}", ca.layout().key().display());
    Ok(())
}

fn open_or_create_ca(common: &Common, ca_args: &CaArgs) -> Result<Ca> {
    let layout = CaLayout::in_dir(&common.dir);
    if !layout.exists() {
        if prompt::interactive()
            && !prompt::confirm(
                &format!("No CA in {}. Create one now?", layout.root().display()),
                true,
            )?
        {
            bail!("no CA; create one with `kc-certs ca`");
        }
        let cn = prompt::required(
            ca_args.ca_cn.clone(),
            "--ca-cn (no CA exists yet in this --dir; or create one with `kc-certs ca`)",
            "Common name (CN) of the new CA",
            None,
        )?;
        let pass = match given_ca_pass(common)? {
            Some(p) => Some(p),
            None if prompt::interactive() => {
                prompt::secret("Passphrase for the new CA key (Enter for none)", true)?
            }
            None => None,
        };
        let subject = CaSubject {
            cn,
            org: ca_args.ca_org.clone(),
            ou: Some(ca_args.ca_ou.clone().unwrap_or_else(|| CA_OU.to_string())),
        };
        let ca = Ca::create(
            layout,
            &subject,
            common.key_type,
            CA_DAYS,
            pass.as_deref(),
            false,
        )?;
        println!("created CA in {}", ca.layout().root().display());
        return Ok(ca);
    }
    let pass = given_ca_pass(common)?;
    match Ca::open(layout.clone(), pass.as_deref()) {
        Err(AuthorityError::Tls(TlsError::PassphraseRequired { .. })) if prompt::interactive() => {
            let pass = prompt::secret("Passphrase of the CA key", false)?;
            Ok(Ca::open(layout, pass.as_deref())?)
        }
        Err(AuthorityError::Tls(TlsError::PassphraseRequired { path })) => {
            bail!(
                "the CA key {} is encrypted: give --ca-pass or --ca-pass-file",
                path.display()
            )
        }
        other => Ok(other?),
    }
}

fn in_dir(dir: &Path, file: Option<PathBuf>, default: &str) -> PathBuf {
    match file {
        Some(f) if f.is_absolute() => f,
        Some(f) => dir.join(f),
        None => dir.join(default),
    }
}

fn public_name(out: &Path) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "client".into());
    out.with_file_name(format!("{stem}-public.pem"))
}

#[allow(clippy::too_many_arguments)]
fn cmd_leaf(
    common: Common,
    ca_args: CaArgs,
    cn: Option<String>,
    kind: LeafKind,
    org: Option<String>,
    ou: String,
    out: Option<PathBuf>,
    install: Option<PathBuf>,
) -> Result<()> {
    let is_client = kind == LeafKind::Client;
    let (default_name, question) = if is_client {
        (
            "client.pem",
            "Common name (CN) of the client (any name, e.g. the service)",
        )
    } else {
        (
            "server.pem",
            "Common name (CN): the server's fully qualified host name",
        )
    };
    let cn = prompt::required(cn, "--cn", question, None)?;
    let out = in_dir(&common.dir, out, default_name);
    let public = public_name(&out);
    let installed = install
        .as_ref()
        .map(|d| d.join(public.file_name().unwrap_or_default()));
    // Check every output before consuming a serial number or asking for passphrases.
    ensure_absent(&out, common.force)?;
    if is_client {
        ensure_absent(&public, common.force)?;
    }
    if let Some(p) = &installed {
        ensure_absent(p, common.force)?;
    }
    create_private_dir(&common.dir, false)?;
    let ca = open_or_create_ca(&common, &ca_args)?;
    let pass = new_key_pass(&common, &out.display().to_string())?;
    let req = LeafRequest {
        kind,
        cn,
        org,
        ou: Some(ou),
        days: common.days.unwrap_or(LEAF_DAYS),
        key_type: common.key_type,
    };
    let issued = authority::issue(&ca, &req)?;
    let mut combined = encode_private_key(issued.key.pkcs8_der(), pass.as_deref())?;
    combined.push_str(&issued.cert_pem);
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_private_dir(parent, false)?;
    }
    write_secret(&out, combined.as_bytes(), common.force)?;
    println!(
        "wrote {} (private key{}, then certificate)",
        out.display(),
        if pass.is_some() { ", encrypted" } else { "" }
    );
    if is_client {
        write_public(
            &public,
            issued.key.public_key_pem().as_bytes(),
            common.force,
        )?;
        println!("wrote {} (public key for sslkeys_path)", public.display());
        if let Some(target) = &installed {
            if let Some(dir) = target.parent() {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .create(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            write_public(target, issued.key.public_key_pem().as_bytes(), common.force)?;
            println!("installed {}", target.display());
        }
        // The key grants SYSTEM only where its public half sits in a node's
        // sslkeys_path; say so precisely instead of alarming for every
        // transport identity (such as the edge's).
        if let Some(target) = &installed {
            println!(
                "WARNING: {} now lets its holder log on as any user, SYSTEM included, to every node \
                 whose sslkeys_path is {}.",
                out.display(),
                target.parent().unwrap_or(Path::new(".")).display()
            );
            println!("         Treat it as a master key; never put it on the edge proxy host.");
        } else {
            println!(
                "note: {} grants SYSTEM on every node whose sslkeys_path holds {}; do not install \
                 it there for transport-only identities (e.g. the edge).",
                out.display(),
                public.display()
            );
        }
    } else {
        println!("server.cfg: server_ssl_key_file = {}", out.display());
        println!(
            "            server_ssl_ca_file = {}",
            ca.layout().cert().display()
        );
    }
    Ok(())
}

fn cmd_verify(ca: &Path, cert: &Path, host: Option<&str>, purpose: PurposeArg) -> Result<()> {
    let roots = if ca.is_dir() {
        tls::load_roots(None, Some(ca))?
    } else {
        tls::load_roots(Some(ca), None)?
    };
    let chain = tls::load_cert_chain(cert)?;
    let purpose = match purpose {
        PurposeArg::Server => Purpose::Server,
        PurposeArg::Client => Purpose::Client,
        PurposeArg::Auto => auto_purpose(chain.first().map(|c| c.as_ref()).unwrap_or_default()),
    };
    tls::verify_certificate(Arc::new(roots), &chain, host, purpose, UnixTime::now())
        .with_context(|| format!("{}: verification failed", cert.display()))?;
    let what = match purpose {
        Purpose::Server => "server",
        Purpose::Client => "client",
    };
    match host {
        Some(h) => println!(
            "{}: OK ({what} certificate, issued by the CA, valid for {h})",
            cert.display()
        ),
        None => println!(
            "{}: OK ({what} certificate, issued by the CA)",
            cert.display()
        ),
    }
    Ok(())
}

fn auto_purpose(der: &[u8]) -> Purpose {
    let client_only = x509_parser::parse_x509_certificate(der)
        .ok()
        .and_then(|(_, c)| {
            c.extended_key_usage()
                .ok()
                .flatten()
                .map(|e| e.value.client_auth && !e.value.server_auth)
        })
        .unwrap_or(false);
    if client_only {
        Purpose::Client
    } else {
        Purpose::Server
    }
}
