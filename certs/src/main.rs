//! `kc-certs`: the kc replacement for KC's `ssl-certificates.sh`.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    kc_certs::tls::install_crypto_provider();
    let args = cli::args::Cli::parse();
    match cli::run(args.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kc-certs: {e:#}");
            ExitCode::FAILURE
        }
    }
}
