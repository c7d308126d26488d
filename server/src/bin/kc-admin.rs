//! kc-admin: user, group and store administration (KC's kopano-admin).
//!
//! The configuration file is given with `--config FILE` (long form only),
//! because `-c` is kopano-admin's "create user".

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use kc_configs::{schemas, Config};
use kc_server::admin::client::{AdminClient, TlsSettings};
use kc_server::admin::proto::*;

#[derive(Parser, Debug)]
#[command(
    name = "kc-admin",
    version,
    about = "Manage users, groups and stores of a kc node"
)]
struct Cli {
    /// admin.cfg to read [default: /etc/kopano/admin.cfg]
    #[arg(long = "config", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Load and validate the configuration, print the effective values (secrets masked) and exit
    #[arg(long = "check-config")]
    check_config: bool,
    /// Server to manage (overrides server_socket), e.g. file:///var/run/kopano/server.sock
    #[arg(long = "host", value_name = "URL")]
    host: Option<String>,
    /// List users
    #[arg(short = 'l')]
    list_users: bool,
    /// List groups
    #[arg(short = 'L')]
    list_groups: bool,
    /// Show details of a user (or a group with --type group)
    #[arg(long = "details", value_name = "NAME")]
    details: Option<String>,
    /// Object type for --details: user or group
    #[arg(long = "type", value_name = "TYPE", default_value = "user")]
    object_type: String,
    /// Create a user
    #[arg(short = 'c', value_name = "USER")]
    create: Option<String>,
    /// Update a user
    #[arg(short = 'u', value_name = "USER")]
    update: Option<String>,
    /// Delete a user (the store becomes an orphan)
    #[arg(short = 'd', value_name = "USER")]
    delete: Option<String>,
    /// New login name (with -u)
    #[arg(short = 'U', value_name = "NAME")]
    new_name: Option<String>,
    /// Password
    #[arg(short = 'p', value_name = "PASS")]
    password: Option<String>,
    /// Ask for the password (twice)
    #[arg(short = 'P')]
    prompt_password: bool,
    /// Email address
    #[arg(short = 'e', value_name = "EMAIL")]
    email: Option<String>,
    /// Full name
    #[arg(short = 'f', value_name = "FULLNAME")]
    fullname: Option<String>,
    /// Administrator level: 0 no, 1 admin, 2 system admin
    #[arg(short = 'a', value_name = "0|1|2")]
    admin: Option<u32>,
    /// Non-active (shared) user: 1 yes, 0 no (-n alone means 1)
    #[arg(short = 'n', value_name = "0|1", num_args = 0..=1, default_missing_value = "1")]
    nonactive: Option<u8>,
    /// Create a group
    #[arg(short = 'g', value_name = "GROUP")]
    create_group: Option<String>,
    /// Delete a group
    #[arg(short = 'G', value_name = "GROUP")]
    delete_group: Option<String>,
    /// Add USER to the group given with -i
    #[arg(short = 'b', value_name = "USER")]
    add_member: Option<String>,
    /// Remove USER from the group given with -i
    #[arg(short = 'B', value_name = "USER")]
    remove_member: Option<String>,
    /// Group for -b / -B
    #[arg(short = 'i', value_name = "GROUP")]
    group: Option<String>,
    /// Create the public store
    #[arg(short = 's')]
    public_store: bool,
    /// List stores without users and users without stores
    #[arg(long = "list-orphans")]
    list_orphans: bool,
    /// Quota override: yes/no (with -u)
    #[arg(long = "qo", value_name = "yes|no")]
    quota_override: Option<String>,
    /// Quota warning level in MB
    #[arg(long = "qw", value_name = "MB")]
    quota_warn: Option<i64>,
    /// Quota soft level in MB
    #[arg(long = "qs", value_name = "MB")]
    quota_soft: Option<i64>,
    /// Quota hard level in MB
    #[arg(long = "qh", value_name = "MB")]
    quota_hard: Option<i64>,
    /// Enable a feature for the user (imap, pop3, mobile)
    #[arg(long = "enable-feature", value_name = "FEATURE")]
    enable_feature: Vec<String>,
    /// Disable a feature for the user (imap, pop3, mobile)
    #[arg(long = "disable-feature", value_name = "FEATURE")]
    disable_feature: Vec<String>,
    /// Purge items and folders soft-deleted more than DAYS days ago (0 = all)
    #[arg(long = "purge-softdelete", value_name = "DAYS")]
    purge_softdelete: Option<u64>,
}

const FEATURES: &[&str] = &["imap", "pop3", "mobile"];

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("{msg}");
    ExitCode::FAILURE
}

fn yes_no(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "y" | "1" | "true" => Some(true),
        "no" | "n" | "0" | "false" => Some(false),
        _ => None,
    }
}

fn mb(v: i64) -> i64 {
    v.saturating_mul(1024 * 1024)
}

fn load_config(cli: &Cli) -> Result<Config, String> {
    let schema = schemas::admin();
    match &cli.config {
        Some(p) => Config::load(p, schema).map_err(|e| e.to_string()),
        None => {
            let p = PathBuf::from(schema.default_path);
            if p.exists() {
                Config::load(&p, schema).map_err(|e| e.to_string())
            } else {
                Ok(Config::defaults(schema))
            }
        }
    }
}

/// `Unable to <what>: <error> [node <name>]`: every error names the node that answered.
fn check<T>(what: &str, r: Reply<T>) -> Result<Option<T>, ExitCode> {
    match r.error {
        Some(e) => Err(fail(format!(
            "Unable to {what}: {} ({}) [node {}]",
            e.name, e.message, r.node
        ))),
        None => Ok(r.data),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.check_config {
        let schema = schemas::admin();
        let path = cli
            .config
            .clone()
            .unwrap_or_else(|| PathBuf::from(schema.default_path));
        let code = kc_configs::service::check_config(
            &path,
            schema,
            &mut std::io::stdout(),
            &mut std::io::stderr(),
        );
        return if code == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    kc_certs::tls::install_crypto_provider();
    let cfg = match load_config(&cli) {
        Ok(c) => c,
        Err(e) => return fail(format!("kc-admin: {e}")),
    };
    let url = cli
        .host
        .clone()
        .unwrap_or_else(|| cfg.str("server_socket").to_owned());
    let tls = TlsSettings {
        client_cert: cfg.path("sslkey_file"),
        key_pass: cfg.opt_str("sslkey_pass").map(str::to_owned),
        ca_file: cfg.path("server_ssl_ca_file"),
    };
    for f in cli.enable_feature.iter().chain(&cli.disable_feature) {
        if !FEATURES.contains(&f.to_ascii_lowercase().as_str()) {
            return fail(format!("Unknown feature '{f}' (known: imap, pop3, mobile)"));
        }
    }
    let mut password = cli.password.clone();
    if cli.prompt_password {
        match prompt_password() {
            Ok(p) => password = Some(p),
            Err(e) => return fail(e),
        }
    }
    let mut client = match AdminClient::connect(&url, &tls) {
        Ok(c) => c,
        Err(e) => return fail(format!("kc-admin: {e}")),
    };
    match run(&cli, &mut client, password) {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

fn prompt_password() -> Result<String, String> {
    let a = rpassword::prompt_password("Type password:").map_err(|e| e.to_string())?;
    let b = rpassword::prompt_password("Retype password:").map_err(|e| e.to_string())?;
    if a != b {
        return Err("Passwords don't match".into());
    }
    Ok(a)
}

fn change(cli: &Cli, login: &str, password: Option<String>) -> Result<UserChange, ExitCode> {
    let quota_override = match &cli.quota_override {
        Some(v) => Some(yes_no(v).ok_or_else(|| fail("--qo takes yes or no"))?),
        None => None,
    };
    Ok(UserChange {
        login: login.to_owned(),
        new_login: cli.new_name.clone(),
        password,
        email: cli.email.clone(),
        fullname: cli.fullname.clone(),
        admin: cli.admin,
        nonactive: cli.nonactive.map(|n| n != 0),
        quota_override,
        quota_warn: cli.quota_warn.map(mb),
        quota_soft: cli.quota_soft.map(mb),
        quota_hard: cli.quota_hard.map(mb),
        enable_features: cli
            .enable_feature
            .iter()
            .map(|f| f.to_ascii_lowercase())
            .collect(),
        disable_features: cli
            .disable_feature
            .iter()
            .map(|f| f.to_ascii_lowercase())
            .collect(),
    })
}

fn conn_err(e: kc_server::admin::client::ClientError) -> ExitCode {
    fail(format!("kc-admin: {e}"))
}

fn run(cli: &Cli, c: &mut AdminClient, password: Option<String>) -> Result<(), ExitCode> {
    if cli.list_users {
        let rows: Vec<UserRow> =
            check("list users", c.call("users", Empty {}).map_err(conn_err)?)?.unwrap_or_default();
        println!("User list for Default({}):", rows.len());
        print_table(&rows, true);
        return Ok(());
    }
    if cli.list_groups {
        let rows: Vec<UserRow> =
            check("list groups", c.call("groups", Empty {}).map_err(conn_err)?)?
                .unwrap_or_default();
        println!("Group list for Default({}):", rows.len());
        println!("\tGroupname");
        println!("\t-------------------------------------");
        for r in rows {
            println!("\t{}", r.login);
        }
        return Ok(());
    }
    if let Some(name) = &cli.details {
        return if cli.object_type == "group" {
            let g: GroupDetails = check(
                "show group details",
                c.call("group-details", Name { name: name.clone() })
                    .map_err(conn_err)?,
            )?
            .unwrap_or_default();
            print_group(&g);
            Ok(())
        } else if cli.object_type == "user" {
            let d: UserDetails = check(
                "show user details",
                c.call("user-details", Name { name: name.clone() })
                    .map_err(conn_err)?,
            )?
            .unwrap_or_default();
            print_user(&d);
            Ok(())
        } else {
            Err(fail(format!(
                "Unknown object type '{}' (user or group)",
                cli.object_type
            )))
        };
    }
    if let Some(login) = &cli.create {
        if password.is_none() {
            return Err(fail(
                "Missing information to create user: -p or -P is required",
            ));
        }
        let ch = change(cli, login, password)?;
        check::<serde_json::Value>("create user", c.call("create-user", ch).map_err(conn_err)?)?;
        println!("User created.");
        return Ok(());
    }
    if let Some(login) = &cli.update {
        let ch = change(cli, login, password)?;
        check::<serde_json::Value>("update user", c.call("update-user", ch).map_err(conn_err)?)?;
        println!("User information updated.");
        return Ok(());
    }
    if let Some(login) = &cli.delete {
        check::<serde_json::Value>(
            "delete user",
            c.call(
                "delete-user",
                Name {
                    name: login.clone(),
                },
            )
            .map_err(conn_err)?,
        )?;
        println!("User deleted.");
        return Ok(());
    }
    if let Some(g) = &cli.create_group {
        check::<serde_json::Value>(
            "create group",
            c.call("create-group", Name { name: g.clone() })
                .map_err(conn_err)?,
        )?;
        println!("Group created.");
        return Ok(());
    }
    if let Some(g) = &cli.delete_group {
        check::<serde_json::Value>(
            "delete group",
            c.call("delete-group", Name { name: g.clone() })
                .map_err(conn_err)?,
        )?;
        println!("Group deleted.");
        return Ok(());
    }
    if let Some(u) = cli.add_member.as_ref().or(cli.remove_member.as_ref()) {
        let add = cli.add_member.is_some();
        let Some(group) = &cli.group else {
            return Err(fail("-b/-B need the group with -i GROUP"));
        };
        let m = Membership {
            group: group.clone(),
            user: u.clone(),
        };
        let op = if add { "add-member" } else { "remove-member" };
        let what = if add {
            "add user to group"
        } else {
            "remove user from group"
        };
        check::<serde_json::Value>(what, c.call(op, m).map_err(conn_err)?)?;
        println!(
            "{}",
            if add {
                "User added to group."
            } else {
                "User removed from group."
            }
        );
        return Ok(());
    }
    if cli.public_store {
        check::<String>(
            "create public store",
            c.call("create-public-store", Empty {}).map_err(conn_err)?,
        )?;
        println!("Public store created.");
        return Ok(());
    }
    if cli.list_orphans {
        let o: Orphans = check(
            "list orphans",
            c.call("list-orphans", Empty {}).map_err(conn_err)?,
        )?
        .unwrap_or_default();
        println!("Stores without users:");
        println!("\tStore guid\t\t\t\tGuessed username\tLast modified\tStore size");
        println!("\t-----------------------------------------------------------------------------------------------");
        for s in &o.stores {
            println!(
                "\t{}\t{:<16}\t{}\t{}KB",
                s.guid,
                s.owner_name,
                format_time(Some(s.modified), "[year]/[month]/[day] [hour]:[minute]"),
                s.size / 1024
            );
        }
        println!();
        println!("Users without stores:");
        println!("\tUsername");
        println!("\t-----------------------------");
        for u in &o.users_without_store {
            println!("\t{u}");
        }
        return Ok(());
    }
    if let Some(days) = cli.purge_softdelete {
        let p: Purged = check(
            "purge soft-deleted items",
            c.call("purge-softdelete", PurgeSoftdelete { days })
                .map_err(conn_err)?,
        )?
        .unwrap_or_default();
        println!("Softdelete purge done ({} items removed).", p.items);
        return Ok(());
    }
    Err(fail("No command given; see kc-admin --help"))
}

fn print_table(rows: &[UserRow], homeserver: bool) {
    if homeserver {
        println!("\tUsername\tFullname\tHomeserver");
    } else {
        println!("\tUsername\tFullname");
    }
    println!("\t-----------------------------------------------");
    for r in rows {
        if homeserver {
            println!(
                "\t{}\t{}\t{}",
                r.login,
                r.fullname,
                r.home_server.as_deref().unwrap_or("")
            );
        } else {
            println!("\t{}\t{}", r.login, r.fullname);
        }
    }
}

fn line(label: &str, value: &str) {
    println!("{:<23}{}", format!("{label}:"), value);
}

fn format_time(t: Option<i64>, fmt: &str) -> String {
    let Some(t) = t else {
        return "-".into();
    };
    let Ok(desc) = time::format_description::parse_borrowed::<2>(fmt) else {
        return t.to_string();
    };
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&desc).ok())
        .unwrap_or_else(|| t.to_string())
}

fn size_mb(bytes: i64) -> String {
    format!("{} MB", bytes / (1024 * 1024))
}

fn print_user(d: &UserDetails) {
    let u = &d.user;
    line("Username", &u.login);
    line("Fullname", &u.fullname);
    line("Emailaddress", &u.email);
    line("Active", if u.nonactive { "no" } else { "yes" });
    line(
        "Administrator",
        match u.admin {
            0 => "no",
            1 => "yes",
            _ => "yes (system)",
        },
    );
    line("Address book", if u.hidden { "Hidden" } else { "Visible" });
    if let Some(h) = &u.home_server {
        line("Home server", h);
    }
    let t = "[month]/[day]/[year repr:last_two] [hour]:[minute]:[second]";
    line("Last logon", &format_time(d.last_logon, t));
    line("Last logoff", &format_time(d.last_logoff, t));
    line("Enabled features", &d.enabled_features.join("; "));
    line("Disabled features", &d.disabled_features.join("; "));
    let q = if d.quota.override_default {
        &d.quota
    } else {
        &d.default_quota
    };
    line(
        "Quota overrides",
        if d.quota.override_default {
            "yes"
        } else {
            "no"
        },
    );
    line("Warning level", &size_mb(q.warn));
    line("Soft level", &size_mb(q.soft));
    line("Hard level", &size_mb(q.hard));
    if let Some(s) = d.store_size {
        line("Current store size", &size_mb(s));
    }
    println!("Groups ({}):", d.groups.len());
    for g in &d.groups {
        println!("\t{g}");
    }
}

fn print_group(g: &GroupDetails) {
    line("Groupname", &g.name);
    line("Fullname", &g.fullname);
    line("Emailaddress", &g.email);
    line("Address book", if g.hidden { "Hidden" } else { "Visible" });
    println!("Users ({}):", g.members.len());
    print_table(&g.members, true);
}
