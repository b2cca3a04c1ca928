//! The Secret Key: 128 random bits made at profile creation and shown once, like 1Password's.
//!
//! Printed as `PV1-XXXXXXX-XXXXXXX-XXXXXXX-XXXXXXX`: 26 Crockford base32 characters for the 16 bytes and
//! 2 check characters (the first 10 bits of SHA-256 over the bytes), so a typo is reported as a typo and
//! not as a wrong password.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{CryptoError, Result, base32};

const PREFIX: &str = "PV1";

/// A profile's Secret Key. Zeroized on drop; `Display` is deliberately not implemented: use
/// [`SecretKey::to_display_string`] where showing it is intended.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SecretKey([u8; 16]);

impl SecretKey {
    /// A fresh random Secret Key.
    pub fn generate() -> Self {
        SecretKey(crate::random::bytes())
    }

    /// Rebuilds a Secret Key from its raw bytes (from a key file, after unwrapping).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let arr: [u8; 16] = bytes
            .try_into()
            .map_err(|_| CryptoError::InvalidSecretKey("expected 16 bytes"))?;
        Ok(SecretKey(arr))
    }

    /// The raw bytes, for key derivation and wrapping.
    pub fn expose(&self) -> &[u8; 16] {
        &self.0
    }

    /// The form shown to the user once, and written in the emergency kit.
    pub fn to_display_string(&self) -> Zeroizing<String> {
        let mut chars = Zeroizing::new(base32::encode(&self.0));
        chars.push_str(&checksum(&self.0));
        let mut out = Zeroizing::new(String::from(PREFIX));
        for (i, c) in chars.chars().enumerate() {
            if i % 7 == 0 {
                out.push('-');
            }
            out.push(c);
        }
        out
    }

    /// Parses what a user typed: case, dashes and spaces do not matter, and the usual misreadings
    /// (O for 0, I and L for 1) are accepted everywhere, check characters included.
    pub fn parse(input: &str) -> Result<Self> {
        if !input.is_ascii() {
            return Err(CryptoError::InvalidSecretKey(
                "it contains characters that are not part of a Secret Key",
            ));
        }
        let compact: Zeroizing<String> = Zeroizing::new(
            input
                .chars()
                .filter(|c| !c.is_ascii_whitespace() && *c != '-')
                .collect::<String>()
                .to_ascii_uppercase(),
        );
        let body = compact
            .strip_prefix(PREFIX)
            .ok_or(CryptoError::InvalidSecretKey("it should start with PV1-"))?;
        if body.len() != 28 {
            return Err(CryptoError::InvalidSecretKey(
                "wrong length: expected PV1- and 28 characters",
            ));
        }
        let body: Zeroizing<String> = Zeroizing::new(
            body.chars()
                .map(|c| match c {
                    'O' => '0',
                    'I' | 'L' => '1',
                    c => c,
                })
                .collect(),
        );
        let (data, check) = body.split_at(26);
        let bytes = Zeroizing::new(base32::decode(data, 16).ok_or(
            CryptoError::InvalidSecretKey(
                "it contains characters that are not part of a Secret Key",
            ),
        )?);
        if checksum(&bytes) != check {
            return Err(CryptoError::InvalidSecretKey(
                "checksum mismatch: check it for typos",
            ));
        }
        Self::from_bytes(&bytes)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

fn checksum(bytes: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let v = d.as_ref();
    // 10 bits, left-aligned into two base32 characters.
    base32::encode(&[v[0], v[1] & 0b1100_0000])[..2].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_parses_back_in_any_case() {
        let sk = SecretKey::generate();
        let shown = sk.to_display_string();
        assert!(shown.starts_with("PV1-"));
        assert_eq!(shown.len(), 3 + 4 + 28);
        let back = SecretKey::parse(&shown.to_lowercase()).unwrap();
        assert_eq!(back.expose(), sk.expose());
        let spaced = shown.replace('-', " ");
        assert_eq!(SecretKey::parse(&spaced).unwrap().expose(), sk.expose());
    }

    #[test]
    fn typos_are_reported_as_typos() {
        let sk = SecretKey::generate();
        let shown = sk.to_display_string();
        // Change one data character to another valid one.
        let mut chars: Vec<char> = shown.chars().collect();
        chars[5] = if chars[5] == 'A' { 'B' } else { 'A' };
        let typo: String = chars.into_iter().collect();
        let err = SecretKey::parse(&typo).unwrap_err().to_string();
        assert!(err.contains("checksum"), "{err}");
        assert!(
            SecretKey::parse("PV2-AAAA")
                .unwrap_err()
                .to_string()
                .contains("PV1")
        );
        assert!(
            SecretKey::parse("PV1-AAAA")
                .unwrap_err()
                .to_string()
                .contains("length")
        );
        assert!(format!("{sk:?}") == "SecretKey(..)");
    }

    #[test]
    fn non_ascii_is_an_error_not_a_panic() {
        // Found by the secret_key_parse fuzz target: a multi-byte character across the split point.
        let err = SecretKey::parse("PV1AAAAAAAAAAAAAAAAAAAAAAAAA\u{e9}A").unwrap_err();
        assert!(err.to_string().contains("characters"), "{err}");
    }

    #[test]
    fn misread_check_characters_are_accepted() {
        for _ in 0..64 {
            let sk = SecretKey::generate();
            let shown = sk.to_display_string();
            let misread: String = shown[4..].replace('0', "O").replace('1', "l");
            let back = SecretKey::parse(&format!("PV1-{misread}")).unwrap();
            assert_eq!(back.expose(), sk.expose());
        }
    }
}
