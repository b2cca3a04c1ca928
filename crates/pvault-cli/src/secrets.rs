//! Where passwords and Secret Keys come from: a file, an environment variable, or a no-echo prompt.
//! Everything read is zeroized when dropped; nothing is ever printed.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Context, Result, bail};
use pvault_core::{Credentials, SecretKey};
use zeroize::Zeroizing;

use crate::cli::Global;

/// The first line of a file holding `what` ("password", "Secret Key").
fn from_file(path: &Path, what: &str) -> Result<Zeroizing<Vec<u8>>> {
    let bytes = Zeroizing::new(
        std::fs::read(path)
            .with_context(|| format!("cannot read {what} file {}", path.display()))?,
    );
    let end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(bytes.len());
    let line = &bytes[..end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() {
        bail!("{what} file {} is empty", path.display());
    }
    Ok(Zeroizing::new(line.to_vec()))
}

fn from_env(var: &str) -> Option<Zeroizing<Vec<u8>>> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(|v| Zeroizing::new(v.into_encoded_bytes()))
}

/// Asks at the terminal without echo. `otherwise` is the whole error when there is no terminal: it
/// should say how else to give the secret.
fn prompt(label: &str, otherwise: &str) -> Result<Zeroizing<Vec<u8>>> {
    if std::fs::File::open("/dev/tty").is_err() && !std::io::stdin().is_terminal() {
        bail!("{otherwise}");
    }
    let s = Zeroizing::new(
        rpassword::prompt_password(format!("{label}: ")).context("reading from the terminal")?,
    );
    Ok(Zeroizing::new(s.as_bytes().to_vec()))
}

/// An export's passphrase: the given file, then `var`, then a prompt (typed twice when `new`).
pub fn passphrase(file: Option<&Path>, var: &str, new: bool) -> Result<Zeroizing<String>> {
    let bytes = if let Some(p) = file {
        from_file(p, "passphrase")?
    } else if let Some(p) = from_env(var) {
        p
    } else {
        let otherwise = format!(
            "no passphrase given: set {var}, pass --passphrase-file PATH, or run in a terminal"
        );
        let a = prompt("Passphrase of the export", &otherwise)?;
        if new && prompt("The same passphrase again", &otherwise)? != a {
            bail!("the two passphrases differ; nothing was written");
        }
        a
    };
    if new && bytes.len() < 8 {
        bail!("the passphrase is too short: use at least 8 characters");
    }
    let text = String::from_utf8(bytes.to_vec()).context("the passphrase is not UTF-8")?;
    Ok(Zeroizing::new(text))
}

/// A KeePass database's password: the given file, then PVAULT_KDBX_PASSWORD, then a prompt.
pub fn kdbx_password(file: Option<&Path>) -> Result<Zeroizing<String>> {
    let bytes = match (file, from_env("PVAULT_KDBX_PASSWORD")) {
        (Some(p), _) => from_file(p, "KeePass password")?,
        (None, Some(p)) => p,
        (None, None) => prompt(
            "Password of the KeePass database",
            "no KeePass password given: set PVAULT_KDBX_PASSWORD, pass --kdbx-password-file \
             PATH, or run in a terminal (--kdbx-no-password for a database with only a key file)",
        )?,
    };
    let text = String::from_utf8(bytes.to_vec()).context("the KeePass password is not UTF-8")?;
    Ok(Zeroizing::new(text))
}

/// The password: --password-file, then PVAULT_PASSWORD, then a prompt.
pub fn password(g: &Global, profile: &str) -> Result<Zeroizing<Vec<u8>>> {
    if let Some(p) = &g.password_file {
        return from_file(p, "password");
    }
    if let Some(p) = from_env("PVAULT_PASSWORD") {
        return Ok(p);
    }
    prompt(
        &format!("Password for profile '{profile}'"),
        &crate::hints::render(&pvault_core::Error::Locked(profile.to_string())),
    )
}

/// A new password (create, passwd): the given file, then the variable, then a prompt typed twice.
pub fn new_password(file: Option<&Path>, var: &str, what: &str) -> Result<Zeroizing<Vec<u8>>> {
    let pw = if let Some(p) = file {
        from_file(p, "password")?
    } else if let Some(p) = from_env(var) {
        p
    } else {
        let otherwise =
            format!("no new password given: set {var}, pass a password file, or run in a terminal");
        let a = prompt(&format!("New password for {what}"), &otherwise)?;
        let b = prompt("Type it again", &otherwise)?;
        if a != b {
            bail!("the two passwords differ; nothing was changed");
        }
        a
    };
    if pw.len() < 8 {
        bail!("the password is too short: use at least 8 characters");
    }
    Ok(pw)
}

/// The Secret Key if one is given (--secret-key-file, then PVAULT_SECRET_KEY).
pub fn secret_key(g: &Global) -> Result<Option<SecretKey>> {
    let raw = if let Some(p) = &g.secret_key_file {
        Some(from_file(p, "Secret Key")?)
    } else {
        from_env("PVAULT_SECRET_KEY")
    };
    parse_secret_key(raw)
}

fn parse_secret_key(raw: Option<Zeroizing<Vec<u8>>>) -> Result<Option<SecretKey>> {
    match raw {
        None => Ok(None),
        Some(raw) => {
            let s = std::str::from_utf8(&raw).context("the Secret Key is not text")?;
            Ok(Some(SecretKey::parse(s)?))
        }
    }
}

/// Asks for the Secret Key at the terminal.
pub fn prompt_secret_key(profile: &str) -> Result<SecretKey> {
    let raw = prompt(
        &format!("Secret Key for profile '{profile}' (PV1-...)"),
        &format!(
            "profile '{profile}' needs its Secret Key: set PVAULT_SECRET_KEY, pass --secret-key-file PATH, or run in a terminal"
        ),
    )?;
    Ok(parse_secret_key(Some(raw))?.expect("some"))
}

/// Credentials to unlock `profile`.
pub fn credentials(g: &Global, profile: &str) -> Result<Credentials> {
    Ok(Credentials {
        password: password(g, profile)?,
        secret_key: secret_key(g)?,
    })
}

/// Credentials to re-authenticate: --reauth-password-file, then PVAULT_REAUTH_PASSWORD, then a prompt.
/// PVAULT_PASSWORD and --password-file deliberately do not count: showing a SECRET record needs the
/// password given again, on purpose.
pub fn reauth_credentials(g: &Global, profile: &str, what: &str) -> Result<Credentials> {
    let password = if let Some(p) = &g.reauth_password_file {
        from_file(p, "password")?
    } else if let Some(p) = from_env("PVAULT_REAUTH_PASSWORD") {
        p
    } else {
        prompt(
            &format!("{what}: password of profile '{profile}' again"),
            &format!(
                "{what} needs the password again: type it at a terminal, or give it with --reauth-password-file PATH or PVAULT_REAUTH_PASSWORD"
            ),
        )?
    };
    Ok(Credentials {
        password,
        secret_key: secret_key(g)?,
    })
}
