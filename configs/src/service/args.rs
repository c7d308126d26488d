//! `-c`, `-F`, `--check-config` and the `--check-config` report.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::error::ConfigError;
use crate::schema::Schema;

/// Options every kc daemon accepts. Flatten into the binary's parser:
///
/// ```
/// use clap::Parser;
///
/// #[derive(Parser)]
/// #[command(version)]
/// struct Cli {
///     #[command(flatten)]
///     std: kc_configs::service::StandardArgs,
/// }
///
/// let cli = Cli::parse_from(["kc-gateway", "-F", "-c", "/etc/kopano/gateway.cfg"]);
/// assert!(cli.std.foreground && !cli.std.check_config);
/// ```
#[derive(Debug, Clone, Default, clap::Args)]
pub struct StandardArgs {
    /// Configuration file [default: /etc/kopano/COMPONENT.cfg]
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Stay in the foreground (do not daemonize)
    #[arg(short = 'F', long = "foreground")]
    pub foreground: bool,
    /// Load and validate the configuration, print the effective values (secrets masked) and exit
    #[arg(long = "check-config")]
    pub check_config: bool,
}

impl StandardArgs {
    /// `-c FILE`, or the schema's default path; made absolute so that
    /// relative paths inside the file survive `daemonize`'s `chdir /`.
    pub fn config_path(&self, schema: &'static Schema) -> PathBuf {
        let p = self
            .config
            .clone()
            .unwrap_or_else(|| PathBuf::from(schema.default_path));
        std::path::absolute(&p).unwrap_or(p)
    }

    /// Loads and validates the configuration file.
    pub fn load(&self, schema: &'static Schema) -> Result<Config, ConfigError> {
        Config::load(&self.config_path(schema), schema)
    }

    /// When `--check-config` was given: report and exit the process.
    pub fn handle_check_config(&self, schema: &'static Schema) {
        if self.check_config {
            check_config_and_exit(self, schema);
        }
    }
}

/// Loads `path`, then prints the effective configuration to `out` (one
/// `option = value` per line, secrets masked, where each set option came
/// from as a comment line) and warnings to `err`. On failure prints the
/// `FILE:LINE: ...` error to `err`. Returns the process exit code (0 / 1).
pub fn check_config(
    path: &Path,
    schema: &'static Schema,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    match Config::load(path, schema) {
        Ok(cfg) => {
            // Write errors (closed pipe) cannot be reported anywhere better.
            let _ = write_report(&cfg, out);
            for w in cfg.warnings() {
                let _ = writeln!(err, "warning: {w}");
            }
            0
        }
        Err(e) => {
            let _ = writeln!(err, "{e}");
            1
        }
    }
}

fn write_report(cfg: &Config, out: &mut dyn Write) -> std::io::Result<()> {
    let schema = cfg.schema();
    let source = cfg
        .source_path()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    writeln!(out, "# {} configuration {source}: OK", schema.component)?;
    for f in cfg.files().iter().skip(1) {
        writeln!(out, "# included: {}", f.display())?;
    }
    if let Some(p) = cfg.propmap() {
        writeln!(out, "# propmap: {}", p.display())?;
    }
    for (name, value) in cfg.effective() {
        if let Some(o) = cfg.origin(name) {
            writeln!(out, "# set at {o}")?;
        }
        if value.is_empty() {
            writeln!(out, "{name} =")?;
        } else {
            writeln!(out, "{name} = {value}")?;
        }
    }
    out.flush()
}

/// [`check_config`] on stdout/stderr, then `exit` with its code.
pub fn check_config_and_exit(args: &StandardArgs, schema: &'static Schema) -> ! {
    let code = check_config(
        &args.config_path(schema),
        schema,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    std::process::exit(code)
}
