//! `kc-gateway`: the IMAP and POP3 (later CalDAV and ActiveSync) gateway beside a node.
//!
//! The protocol layer (parsers, responses, MIME structure) lives in the library; the
//! network service that serves it on the node's store API arrives with the IMAP/POP3
//! issue. Until then the binary validates `gateway.cfg` (`--check-config`) and says
//! plainly that it cannot serve yet.

use clap::Parser;

use kc_configs::{schemas, service::StandardArgs};

#[derive(Parser)]
#[command(name = "kc-gateway", version, about = "kc IMAP/POP3 gateway")]
struct Cli {
    #[command(flatten)]
    std: StandardArgs,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let schema = schemas::gateway();
    cli.std.handle_check_config(schema);
    if let Err(e) = cli.std.load(schema) {
        eprintln!("{e}");
        return std::process::ExitCode::FAILURE;
    }
    eprintln!("kc-gateway: the IMAP/POP3 service is not built yet; only --check-config and --version work");
    std::process::ExitCode::from(2)
}
