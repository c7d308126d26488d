//! Interactive prompts, used only when stdin is a terminal (as ssl-certificates.sh
//! asks its questions); otherwise a missing value is an error, so CI never hangs.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::Path;

use anyhow::{bail, Context, Result};

/// Longest answer read from a prompt or a passphrase file.
const MAX_ANSWER: usize = 1024;

/// Whether kc-certs may ask questions.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal()
}

fn read_line() -> Result<String> {
    let mut line = String::new();
    let stdin = std::io::stdin();
    let mut handle = stdin.lock();
    let n = handle
        .by_ref()
        .take(MAX_ANSWER as u64 + 1)
        .read_line(&mut line)
        .context("reading from the terminal")?;
    if n == 0 {
        bail!("end of input while waiting for an answer");
    }
    if line.len() > MAX_ANSWER {
        bail!("answer longer than {MAX_ANSWER} bytes");
    }
    Ok(line.trim().to_string())
}

/// Asks `question` until a non-empty answer (or `default` on Enter) is given.
pub fn ask(question: &str, default: Option<&str>) -> Result<String> {
    loop {
        match default {
            Some(d) => eprint!("{question} [{d}]: "),
            None => eprint!("{question}: "),
        }
        std::io::stderr().flush().ok();
        let answer = read_line()?;
        if !answer.is_empty() {
            return Ok(answer);
        }
        if let Some(d) = default {
            return Ok(d.to_string());
        }
        eprintln!("A value is required.");
    }
}

/// Asks a yes/no question; Enter picks `default`.
pub fn confirm(question: &str, default: bool) -> Result<bool> {
    eprint!("{question} [{}]: ", if default { "y" } else { "n" });
    std::io::stderr().flush().ok();
    let answer = read_line()?;
    Ok(match answer.to_ascii_lowercase().as_str() {
        "" => default,
        a => a.starts_with('y'),
    })
}

/// A required value: the flag's value, else a prompt, else an error naming the flag.
pub fn required(
    value: Option<String>,
    flag: &str,
    question: &str,
    default: Option<&str>,
) -> Result<String> {
    if let Some(v) = value {
        return Ok(v);
    }
    if interactive() {
        return ask(question, default);
    }
    bail!("missing {flag} (stdin is not a terminal, so kc-certs does not prompt)")
}

/// Reads a passphrase without echo; with `confirm_it`, twice. Empty means none.
pub fn secret(question: &str, confirm_it: bool) -> Result<Option<String>> {
    loop {
        let first =
            rpassword::prompt_password(format!("{question}: ")).context("reading a passphrase")?;
        if first.is_empty() {
            return Ok(None);
        }
        if !confirm_it {
            return Ok(Some(first));
        }
        let second = rpassword::prompt_password("Repeat it: ").context("reading a passphrase")?;
        if first == second {
            return Ok(Some(first));
        }
        eprintln!("The passphrases differ; try again.");
    }
}

/// The first line of a passphrase file (like `openssl -pass file:`).
pub fn pass_from_file(path: &Path) -> Result<String> {
    let bytes = kc_certs::tls::read_limited(path, MAX_ANSWER as u64)
        .with_context(|| format!("reading passphrase file {}", path.display()))?;
    let text =
        String::from_utf8(bytes).with_context(|| format!("{}: not UTF-8", path.display()))?;
    let line = text.lines().next().unwrap_or("").to_string();
    if line.is_empty() {
        bail!("{}: empty passphrase file", path.display());
    }
    Ok(line)
}
