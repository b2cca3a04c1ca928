//! What a KeePass database's key derivation would cost, read from its outer header before the
//! `keepass` crate runs it: a database from someone else can ask for any Argon2 memory or any
//! number of rounds, and running that would exhaust the machine or never end. Only the header's
//! plain TLV fields are read (no cryptography); a header this reader cannot follow is left for the
//! `keepass` crate to refuse.

use crate::{Error, Result};

/// Most Argon2 memory accepted (KeePassXC's default is 64 MiB; its slider ends far below this).
pub(crate) const MAX_ARGON2_MEMORY: u64 = 2 << 30;
/// Most Argon2 passes accepted.
pub(crate) const MAX_ARGON2_ITERATIONS: u64 = 1000;
/// Most Argon2 lanes accepted.
pub(crate) const MAX_ARGON2_PARALLELISM: u64 = 256;
/// Most AES-KDF rounds accepted (about a minute at today's speeds).
pub(crate) const MAX_AES_ROUNDS: u64 = 1 << 29;

const SIGNATURE: [u8; 8] = [0x03, 0xd9, 0xa2, 0x9a, 0x67, 0xfb, 0x4b, 0xb5];
/// KDBX 4: the KDF parameters (a variant dictionary). KDBX 3.1: the AES-KDF rounds.
const KDF_PARAMETERS: u8 = 11;
const TRANSFORM_ROUNDS: u8 = 6;

/// Refuses a database whose key derivation asks for more than the limits above.
pub(crate) fn check(bytes: &[u8]) -> Result<()> {
    if bytes.get(..8) != Some(&SIGNATURE[..]) {
        return Ok(());
    }
    let major = bytes.get(10..12).map(|m| u16::from_le_bytes([m[0], m[1]]));
    let kdbx4 = major == Some(4);
    let mut at = 12;
    loop {
        let Some(&id) = bytes.get(at) else {
            return Ok(());
        };
        let (len, head) = if kdbx4 {
            (bytes.get(at + 1..at + 5).map(le_u64), 5)
        } else {
            (bytes.get(at + 1..at + 3).map(le_u64), 3)
        };
        let Some(len) = len.and_then(|l| usize::try_from(l).ok()) else {
            return Ok(());
        };
        let Some(value) = bytes.get(at + head..at + head + len) else {
            return Ok(());
        };
        match id {
            0 => return Ok(()),
            KDF_PARAMETERS if kdbx4 => return check_parameters(value),
            TRANSFORM_ROUNDS if !kdbx4 && value.len() == 8 => {
                return limit("AES-KDF rounds", le_u64(value), MAX_AES_ROUNDS);
            }
            _ => at += head + len,
        }
    }
}

/// The KDF's variant dictionary: `R` (AES-KDF rounds), `M` (Argon2 memory in bytes), `I` (passes),
/// `P` (lanes).
fn check_parameters(dict: &[u8]) -> Result<()> {
    let mut at = 2; // the dictionary's version
    while let Some(&kind) = dict.get(at) {
        if kind == 0 {
            break;
        }
        let Some(key_len) = dict.get(at + 1..at + 5).map(le_u64) else {
            break;
        };
        let key_start = at + 5;
        let key_end = key_start + key_len as usize;
        let Some(value_len) = dict.get(key_end..key_end + 4).map(le_u64) else {
            break;
        };
        let value_start = key_end + 4;
        let Some(value) = dict.get(value_start..value_start + value_len as usize) else {
            break;
        };
        let number = matches!(value.len(), 4 | 8).then(|| le_u64(value));
        match (&dict[key_start..key_end], number) {
            (b"R", Some(n)) => limit("AES-KDF rounds", n, MAX_AES_ROUNDS)?,
            (b"M", Some(n)) => limit("Argon2 memory (bytes)", n, MAX_ARGON2_MEMORY)?,
            (b"I", Some(n)) => limit("Argon2 passes", n, MAX_ARGON2_ITERATIONS)?,
            (b"P", Some(n)) => limit("Argon2 lanes", n, MAX_ARGON2_PARALLELISM)?,
            _ => {}
        }
        at = value_start + value.len();
    }
    Ok(())
}

fn limit(what: &str, asked: u64, most: u64) -> Result<()> {
    if asked <= most {
        return Ok(());
    }
    Err(Error::Malformed {
        at: "the database".into(),
        problem: format!(
            "its key derivation asks for {asked} {what}, more than pvault allows ({most}); \
             lower it in KeePass (Database settings, Encryption) and export again"
        ),
    })
}

/// A little-endian number of up to 8 bytes.
fn le_u64(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0u64, |n, &b| (n << 8) | u64::from(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use keepass::config::KdfConfig;
    use keepass::{Database, DatabaseKey};

    fn saved(kdf: KdfConfig) -> Vec<u8> {
        let mut db = Database::new();
        db.config.kdf_config = kdf;
        let mut out = Vec::new();
        db.save(&mut out, DatabaseKey::new().with_password("pw"))
            .unwrap();
        out
    }

    /// Replaces the little-endian `from` after the dictionary key `key` with `to`.
    fn patch(bytes: &mut [u8], key: &[u8], from: u64, to: u64) {
        let mut needle = (key.len() as u32).to_le_bytes().to_vec();
        needle.extend_from_slice(key);
        needle.extend_from_slice(&8u32.to_le_bytes());
        needle.extend_from_slice(&from.to_le_bytes());
        let at = bytes
            .windows(needle.len())
            .position(|w| w == needle)
            .expect("the parameter is in the header");
        let start = at + needle.len() - 8;
        bytes[start..start + 8].copy_from_slice(&to.to_le_bytes());
    }

    #[test]
    fn ordinary_costs_pass_and_huge_ones_are_refused_before_deriving() {
        // The default is Argon2d; made cheap here (its own version type stays the crate's).
        let mut argon = Database::new().config.kdf_config;
        match &mut argon {
            KdfConfig::Argon2 {
                memory, iterations, ..
            } => (*memory, *iterations) = (1 << 20, 2),
            other => panic!("the default KDF changed: {other:?}"),
        }
        let mut bytes = saved(argon);
        check(&bytes).unwrap();
        patch(&mut bytes, b"M", 1 << 20, 64 << 30);
        let err = check(&bytes).unwrap_err().to_string();
        assert!(
            err.contains("Argon2 memory") && err.contains("68719476736"),
            "{err}"
        );

        let mut aes = saved(KdfConfig::Aes { rounds: 10 });
        check(&aes).unwrap();
        patch(&mut aes, b"R", 10, u64::MAX);
        assert!(
            check(&aes)
                .unwrap_err()
                .to_string()
                .contains("AES-KDF rounds")
        );
    }

    #[test]
    fn other_files_and_cut_headers_are_left_to_the_reader() {
        check(b"").unwrap();
        check(b"not a database at all").unwrap();
        let bytes = saved(KdfConfig::Aes { rounds: 10 });
        for cut in 0..200.min(bytes.len()) {
            check(&bytes[..cut]).unwrap();
        }
    }
}
